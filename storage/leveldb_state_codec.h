// Internal to storage/: the byte encodings shared by the LevelDB state
// history's read side (leveldb_state_history.cc) and write side
// (leveldb_state_writer.cc). The key layout is documented in
// leveldb_state_history.h.
#ifndef VMTRACE_STORAGE_LEVELDB_STATE_CODEC_H_
#define VMTRACE_STORAGE_LEVELDB_STATE_CODEC_H_

#include <leveldb/slice.h>

#include <cstdint>
#include <string>

#include "base/varint.h"
#include "storage/state_history.h"

namespace vmtrace::storage::codec {

inline constexpr uint64_t kSignBit = uint64_t(1) << 63;

inline void PutBe32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(char(v >> (8 * i)));
}
inline void PutBe64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(char(v >> (8 * i)));
}
inline uint32_t GetBe32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | uint8_t(p[i]);
  return v;
}
inline uint64_t GetBe64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | uint8_t(p[i]);
  return v;
}

using ::vmtrace::GetVarint;
using ::vmtrace::PutVarint;
using ::vmtrace::UnZigZag;
using ::vmtrace::ZigZag;

inline std::string IntervalKey(Quark q, int64_t t) {
  std::string k = "i";
  PutBe32(&k, q);
  PutBe64(&k, uint64_t(t) ^ kSignBit);
  return k;
}

inline bool IsIntervalKey(const leveldb::Slice& k, Quark q) {
  return k.size() == 13 && k[0] == 'i' && GetBe32(k.data() + 1) == q;
}

// Checkpoint keys sort by decreasing time within a quark, so one Seek() to
// CheckpointKey(q, t) lands on the latest checkpoint at or before t.
inline std::string CheckpointKey(Quark q, int64_t t) {
  std::string k = "c";
  PutBe32(&k, q);
  PutBe64(&k, ~(uint64_t(t) ^ kSignBit));
  return k;
}

inline bool IsCheckpointKey(const leveldb::Slice& k, Quark q) {
  return k.size() == 13 && k[0] == 'c' && GetBe32(k.data() + 1) == q;
}

inline int64_t CheckpointTime(const leveldb::Slice& k) {
  return int64_t(~GetBe64(k.data() + 5) ^ kSignBit);
}

// varint(n), then per value: varint(zigzag(value)) varint(ns) varint(count).
inline std::string EncodeTotals(const ValueTotals& t) {
  std::string v;
  PutVarint(&v, t.size());
  for (const ValueTotal& e : t) {
    PutVarint(&v, ZigZag(e.value));
    PutVarint(&v, uint64_t(e.ns));
    PutVarint(&v, uint64_t(e.count));
  }
  return v;
}

inline bool DecodeTotals(const leveldb::Slice& s, ValueTotals* t) {
  const char* p = s.data();
  const char* e = p + s.size();
  uint64_t n = 0;
  if (!GetVarint(&p, e, &n) || n > s.size()) return false;
  t->resize(n);
  for (ValueTotal& v : *t) {
    uint64_t value, ns, count;
    if (!GetVarint(&p, e, &value) || !GetVarint(&p, e, &ns) ||
        !GetVarint(&p, e, &count)) {
      return false;
    }
    v = {UnZigZag(value), int64_t(ns), int64_t(count)};
  }
  return p == e;
}

inline std::string PrefixKey(char tag, uint32_t id) {
  std::string k(1, tag);
  PutBe32(&k, id);
  return k;
}

}  // namespace vmtrace::storage::codec

#endif  // VMTRACE_STORAGE_LEVELDB_STATE_CODEC_H_
