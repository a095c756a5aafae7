// CurrentThreads: the thread running on each CPU of each host, the one
// tracker the kernel, VM and graph analyses read (through the records'
// cur_tid) instead of each following sched_switch itself.
//
// Rules:
// - A sched_switch makes next_tid current on its CPU from that event on.
// - Before a CPU's first sched_switch, the tid context of its first kernel
//   event (kernel_events.h IsKernelKind) that has one tells which thread
//   runs there; the record that taught it says cur_from_context.
// - Otherwise the CPU's thread is unknown (-1).
// Events without a CPU (cpu -1) share one slot per host, as a CPU would.
#ifndef VMTRACE_ANALYSES_EVENTS_THREAD_TRACKER_H_
#define VMTRACE_ANALYSES_EVENTS_THREAD_TRACKER_H_

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "analyses/events/typed_event.h"

namespace vmtrace::events {

class CurrentThreads {
 public:
  explicit CurrentThreads(size_t hosts) : dense_(hosts) {}
  // Sets ev->cur_tid (the thread current before `ev`, or learnt from its
  // context) and ev->cur_from_context, then applies `ev`. Events must come
  // in time order per CPU.
  void Track(TypedEvent* ev);

 private:
  static constexpr int32_t kMaxDenseCpu = 4096;
  int64_t& Slot(uint32_t host, int32_t cpu);

  // Per host, cpu + 1 -> tid; CPU numbers past kMaxDenseCpu (damaged
  // traces) go to sparse_.
  std::vector<std::vector<int64_t>> dense_;
  std::unordered_map<uint64_t, int64_t> sparse_;
};

}  // namespace vmtrace::events

#endif  // VMTRACE_ANALYSES_EVENTS_THREAD_TRACKER_H_
