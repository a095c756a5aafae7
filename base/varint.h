// Little-endian base-128 varints and zigzag, the packing of every store's
// records (state histories, the checkpoint index, statistics aggregates).
// Header-only.
#ifndef VMTRACE_BASE_VARINT_H_
#define VMTRACE_BASE_VARINT_H_

#include <cstdint>
#include <string>

namespace vmtrace {

inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(char(v | 0x80));
    v >>= 7;
  }
  out->push_back(char(v));
}

// Reads one varint at *p (advanced past it). False, with *v untouched, if
// the input ends first or the varint is longer than 64 bits. Hot in every
// store read: the one-byte case is inlined first.
inline bool GetVarint(const char** p, const char* end, uint64_t* v) {
  if (*p < end && !(uint8_t(**p) & 0x80)) {
    *v = uint8_t(*(*p)++);
    return true;
  }
  uint64_t r = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const uint8_t b = uint8_t(*(*p)++);
    r |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

inline uint64_t ZigZag(int64_t v) {
  return (uint64_t(v) << 1) ^ uint64_t(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return int64_t(v >> 1) ^ -int64_t(v & 1);
}

}  // namespace vmtrace

#endif  // VMTRACE_BASE_VARINT_H_
