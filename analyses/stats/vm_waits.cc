#include "analyses/stats/vm_waits.h"

#include "analyses/stats/buckets.h"

namespace vmtrace::stats {

Status AddWaits(const StateHistory& h, Quark q, const Window& w,
                WaitTotals* t) {
  VMTRACE_ASSIGN_OR_RETURN(auto ivs, ReadAll(h, q, w));
  for (const auto& iv : ivs) {
    if (IsWait(iv.value)) (*t)[iv.value.i - vm::kWaitTimer] += Clipped(iv, w);
  }
  return Status::Ok();
}

StatusOr<std::vector<std::vector<double>>> WaitBuckets(
    const StateHistory& h, const std::vector<VcpuRef>& vcpus,
    const std::vector<int64_t>& times) {
  std::vector<std::vector<double>> acc(kWaitCategories,
                                       std::vector<double>(times.size(), 0.0));
  if (times.empty()) return acc;
  for (const auto& v : vcpus) {
    VMTRACE_ASSIGN_OR_RETURN(auto ivs,
                             h.QueryRange(v.q, times.front(), times.back()));
    for (const auto& iv : ivs) {
      if (IsWait(iv.value)) {
        AccumulateBuckets(iv, times, &acc[iv.value.i - vm::kWaitTimer]);
      }
    }
  }
  return acc;
}

}  // namespace vmtrace::stats
