// The test oracle of the time statistics: the scanning implementations
// analyses/stats used before it read cumulative totals. Each reads every
// interval of the range (StateHistory::QueryRange) and clips it, the
// definition the totals-based functions must equal exactly.
#ifndef VMTRACE_TESTS_ANALYSES_STATS_SCAN_ORACLE_H_
#define VMTRACE_TESTS_ANALYSES_STATS_SCAN_ORACLE_H_

#include <cstdint>
#include <vector>

#include "analyses/stats/buckets.h"
#include "analyses/stats/usage.h"
#include "analyses/stats/vm_waits.h"
#include "analyses/stats/vm_walk.h"

namespace vmtrace::stats::oracle {

// Adds to acc[category(v)] the time of q's intervals in the sampled range.
template <typename CategoryFn>
Status AccumulateScan(const StateHistory& h, Quark q,
                      const std::vector<int64_t>& times, CategoryFn category,
                      std::vector<std::vector<double>>* acc) {
  VMTRACE_ASSIGN_OR_RETURN(auto r,
                           h.QueryRange(q, times.front(), times.back()));
  for (const auto& iv : r) {
    int c = category(iv.value);
    if (c >= 0) AccumulateBuckets(iv, times, &(*acc)[c]);
  }
  return Status::Ok();
}

inline Status AddWaitsScan(const StateHistory& h, Quark q, const Window& w,
                           WaitTotals* t) {
  VMTRACE_ASSIGN_OR_RETURN(auto ivs, ReadAll(h, q, w));
  for (const auto& iv : ivs) {
    if (IsWait(iv.value)) (*t)[iv.value.i - vm::kWaitTimer] += Clipped(iv, w);
  }
  return Status::Ok();
}

inline int WaitCategoryScan(const storage::StateValue& v) {
  return IsWait(v) ? int(v.i - vm::kWaitTimer) : -1;
}

inline StatusOr<std::vector<std::vector<double>>> WaitBucketsScan(
    const StateHistory& h, const std::vector<VcpuRef>& vcpus,
    const std::vector<int64_t>& times) {
  std::vector<std::vector<double>> acc(kWaitCategories,
                                       std::vector<double>(times.size(), 0.0));
  if (times.empty()) return acc;
  for (const auto& v : vcpus) {
    VMTRACE_RETURN_IF_ERROR(
        AccumulateScan(h, v.q, times, WaitCategoryScan, &acc));
  }
  return acc;
}

inline StatusOr<std::vector<double>> CpuBusyBucketsScan(
    const StateHistory& h, const std::vector<Quark>& cpus,
    const std::vector<int64_t>& times) {
  std::vector<std::vector<double>> acc(1, std::vector<double>(times.size()));
  if (times.empty()) return acc[0];
  auto busy = [](const storage::StateValue& v) { return CpuBusy(v) ? 0 : -1; };
  for (Quark c : cpus) {
    VMTRACE_RETURN_IF_ERROR(AccumulateScan(h, c, times, busy, &acc));
  }
  return acc[0];
}

inline StatusOr<std::vector<double>> ThreadRunBucketsScan(
    const StateHistory& h, Quark thread, const std::vector<int64_t>& times) {
  std::vector<std::vector<double>> acc(1, std::vector<double>(times.size()));
  if (times.empty()) return acc[0];
  auto runs = [](const storage::StateValue& v) {
    return ThreadRuns(v) ? 0 : -1;
  };
  VMTRACE_RETURN_IF_ERROR(AccumulateScan(h, thread, times, runs, &acc));
  return acc[0];
}

inline StatusOr<std::vector<std::vector<double>>> VcpuUsageBucketsScan(
    const StateHistory& h, const std::vector<Quark>& vcpus,
    const std::vector<int64_t>& times) {
  std::vector<std::vector<double>> acc(kVcpuUsageCategories,
                                       std::vector<double>(times.size(), 0.0));
  if (times.empty()) return acc;
  for (Quark v : vcpus) {
    VMTRACE_RETURN_IF_ERROR(
        AccumulateScan(h, v, times, VcpuUsageCategory, &acc));
  }
  return acc;
}

// The CPU Usage tree's former test: a running interval meets [start, end].
inline StatusOr<bool> ThreadRanInScan(const StateHistory& h, Quark thread,
                                      int64_t start, int64_t end) {
  if (end < start) return false;
  VMTRACE_ASSIGN_OR_RETURN(auto r, h.QueryRange(thread, start, end));
  for (const auto& iv : r) {
    if (ThreadRuns(iv.value)) return true;
  }
  return false;
}

}  // namespace vmtrace::stats::oracle

#endif  // VMTRACE_TESTS_ANALYSES_STATS_SCAN_ORACLE_H_
