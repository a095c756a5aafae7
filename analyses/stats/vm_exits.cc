#include "analyses/stats/vm_exits.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "analyses/stats/buckets.h"

namespace vmtrace::stats {

StatusOr<std::vector<Exit>> CollectExits(const StateHistory& h,
                                         const VcpuRef& v, int64_t t1,
                                         int64_t t2, const Window& w) {
  std::vector<Exit> out;
  VMTRACE_ASSIGN_OR_RETURN(auto states, h.QueryRange(v.q, t1, t2));
  std::vector<StateInterval> reasons;
  if (auto eq = h.Child(v.q, "Exit")) {
    VMTRACE_ASSIGN_OR_RETURN(reasons, h.QueryRange(*eq, t1, t2));
  }
  size_t j = 0;
  std::optional<Exit> open;
  const StateInterval* prev = nullptr;
  for (const auto& iv : states) {
    if (IsInt(iv, vm::kHypervisor)) {
      // The state before an exit is the guest's, with no gap: the history
      // partitions time per attribute.
      if (prev && IsGuest(prev->value) && prev->end + 1 == iv.start) {
        if (open) out.push_back(*open);
        open = Exit{iv.start, -1, IsInt(*prev, vm::kGuestL2), 0};
        while (j < reasons.size() && reasons[j].end < iv.start) ++j;
        if (j < reasons.size() && reasons[j].Contains(iv.start) &&
            reasons[j].value.kind == storage::StateValue::kInt) {
          open->reason = reasons[j].value.i;
        }
      }
      if (open) open->ns += Clipped(iv, w);
    } else if (IsGuest(iv.value)) {
      if (open) out.push_back(*open);
      open.reset();
    }
    prev = &iv;
  }
  if (open) out.push_back(*open);
  return out;
}

StatusOr<std::map<int64_t, ExitStat>> ExitsByReason(const StateHistory& h,
                                                    const VmRef& vm,
                                                    const Window& w,
                                                    int64_t* vm_total) {
  std::map<int64_t, ExitStat> by_reason;
  *vm_total = 0;
  for (const auto& v : vm.vcpus) {
    VMTRACE_ASSIGN_OR_RETURN(auto exits, CollectExits(h, v, w.start, w.end, w));
    for (const Exit& e : exits) {
      ExitStat& s = by_reason[e.reason];
      ++s.count;
      s.from_l2 += e.from_l2 ? 1 : 0;
      s.total += e.ns;
      s.max = std::max(s.max, e.ns);
      *vm_total += e.ns;
    }
  }
  return by_reason;
}

StatusOr<std::vector<double>> ExitCounts(const StateHistory& h,
                                         const std::vector<VcpuRef>& vcpus,
                                         const std::vector<int64_t>& times) {
  std::vector<double> acc(times.size(), 0.0);
  if (times.empty()) return acc;
  // Unclipped: the buckets bound what is counted.
  const Window all{std::numeric_limits<int64_t>::min(),
                   std::numeric_limits<int64_t>::max()};
  for (const auto& v : vcpus) {
    // From one ns early, so an exit at times.front() sees the guest
    // interval before it.
    VMTRACE_ASSIGN_OR_RETURN(
        auto exits, CollectExits(h, v, times.front() - 1, times.back(), all));
    for (const Exit& e : exits) CountInBucket(e.start, times, &acc);
  }
  return acc;
}

}  // namespace vmtrace::stats
