#include "analyses/index/event_times.h"

#include "base/varint.h"

namespace vmtrace::index {
void EventTimesWriter::Add(int64_t ts, uint32_t trace, bool with_trace) {
  // Zigzag: the merge is in time order, but a damaged trace may step back.
  PutVarint(&blob_, ZigZag(int64_t(uint64_t(ts) - uint64_t(prev_))));
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
    ts = int64_t(uint64_t(ts) + uint64_t(UnZigZag(z)));
    if (ts >= t) break;
    if (trace >= counts->size()) return false;
    ++(*counts)[trace];
  }
  return true;
}

}  // namespace vmtrace::index
