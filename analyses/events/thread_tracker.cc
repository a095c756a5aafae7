#include "analyses/events/thread_tracker.h"

#include "analyses/events/kernel_events.h"

namespace vmtrace::events {

int64_t& CurrentThreads::Slot(uint32_t host, int32_t cpu) {
  if (host >= dense_.size()) dense_.resize(host + 1);
  if (cpu >= -1 && cpu < kMaxDenseCpu) {
    std::vector<int64_t>& v = dense_[host];
    const size_t i = static_cast<size_t>(cpu + 1);
    if (i >= v.size()) v.resize(i + 1, -1);
    return v[i];
  }
  const uint64_t key = (uint64_t{host} << 32) | static_cast<uint32_t>(cpu);
  return sparse_.try_emplace(key, -1).first->second;
}

void CurrentThreads::Track(TypedEvent* ev) {
  int64_t& cur = Slot(ev->host, ev->cpu);
  ev->cur_from_context = false;
  if (cur < 0 && ev->cpu >= 0 && Has(ev->ctx_tid) && IsKernelKind(ev->kind)) {
    cur = ev->ctx_tid;
    ev->cur_from_context = cur >= 0;
  }
  ev->cur_tid = cur < 0 ? -1 : cur;
  if (ev->kind == Kind::kSchedSwitch) cur = Or(ev->sched_switch.next_tid, -1);
}

}  // namespace vmtrace::events
