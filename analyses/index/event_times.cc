#include "analyses/index/event_times.h"

namespace vmtrace::index {
namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(char(v | 0x80));
    v >>= 7;
  }
  out->push_back(char(v));
}

bool GetVarint(const char** p, const char* end, uint64_t* v) {
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

}  // namespace

void EventTimesWriter::Add(int64_t ts, uint32_t trace, bool with_trace) {
  // Zigzag: the merge is in time order, but a damaged trace may step back.
  const int64_t d = int64_t(uint64_t(ts) - uint64_t(prev_));
  PutVarint(&blob_, (uint64_t(d) << 1) ^ uint64_t(d >> 63));
  if (with_trace) PutVarint(&blob_, trace);
  prev_ = ts;
}

bool CountEventsBefore(std::string_view blob, int64_t checkpoint_ts,
                       bool with_trace, int64_t t,
                       std::vector<uint64_t>* counts) {
  const char* p = blob.data();
  const char* end = p + blob.size();
  int64_t ts = checkpoint_ts;
  while (p < end) {
    uint64_t z, trace = 0;
    if (!GetVarint(&p, end, &z)) return false;
    if (with_trace && !GetVarint(&p, end, &trace)) return false;
    ts = int64_t(uint64_t(ts) + uint64_t(int64_t(z >> 1) ^ -int64_t(z & 1)));
    if (ts >= t) break;
    if (trace >= counts->size()) return false;
    ++(*counts)[trace];
  }
  return true;
}

}  // namespace vmtrace::index
