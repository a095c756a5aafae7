// The timestamps of the events of one checkpoint interval, as the index
// stores them (storage::IndexStore::Times): exact event counts before any
// time without decoding the trace (the histogram's samples).
//
// Encoding: per event, in rank order, varint(zigzag(ts - previous ts)) --
// the first relative to the checkpoint's timestamp -- then, when the
// experiment has several traces, varint(experiment trace index). About two
// bytes per event.
#ifndef VMTRACE_ANALYSES_INDEX_EVENT_TIMES_H_
#define VMTRACE_ANALYSES_INDEX_EVENT_TIMES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vmtrace::index {

class EventTimesWriter {
 public:
  // Starts the interval of a checkpoint whose first event is at `ts`.
  void Begin(int64_t ts) {
    blob_.clear();
    prev_ = ts;
  }
  void Add(int64_t ts, uint32_t trace, bool with_trace);
  // The interval's blob (the writer is then empty).
  std::string Take() { return std::move(blob_); }
  bool empty() const { return blob_.empty(); }

 private:
  std::string blob_;
  int64_t prev_ = 0;
};

// Adds to (*counts)[trace] the events of `blob` (written from a checkpoint
// at `checkpoint_ts`) before the first one at or after `t` -- what decoding
// the interval and stopping there counts. False if the blob is malformed
// (then *counts is unspecified) or names a trace >= counts->size().
bool CountEventsBefore(std::string_view blob, int64_t checkpoint_ts,
                       bool with_trace, int64_t t,
                       std::vector<uint64_t>* counts);

}  // namespace vmtrace::index

#endif  // VMTRACE_ANALYSES_INDEX_EVENT_TIMES_H_
