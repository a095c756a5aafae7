#include "analyses/stats/usage.h"

#include <limits>

#include "analyses/kernel/kernel_model.h"
#include "analyses/stats/buckets.h"
#include "analyses/stats/vm_walk.h"

namespace vmtrace::stats {
namespace {

int BusyCategory(const storage::StateValue& v) { return CpuBusy(v) ? 0 : -1; }
int RunCategory(const storage::StateValue& v) { return ThreadRuns(v) ? 0 : -1; }

}  // namespace

bool ThreadRuns(const storage::StateValue& v) {
  return v.kind == storage::StateValue::kInt &&
         (v.i == kernel::kRunUsermode || v.i == kernel::kRunSyscall);
}

bool CpuBusy(const storage::StateValue& v) {
  return v.kind == storage::StateValue::kInt && v.i != kernel::kCpuIdle;
}

StatusOr<std::vector<double>> CpuBusyBuckets(
    const storage::StateHistory& h, const std::vector<storage::Quark>& cpus,
    const std::vector<int64_t>& times) {
  std::vector<std::vector<double>> acc(1, std::vector<double>(times.size()));
  if (times.empty()) return acc[0];
  for (storage::Quark c : cpus) {
    VMTRACE_RETURN_IF_ERROR(
        AccumulateTotalsBuckets(h, c, times, BusyCategory, &acc));
  }
  return acc[0];
}

StatusOr<std::vector<double>> ThreadRunBuckets(
    const storage::StateHistory& h, storage::Quark thread,
    const std::vector<int64_t>& times) {
  std::vector<std::vector<double>> acc(1, std::vector<double>(times.size()));
  if (times.empty()) return acc[0];
  VMTRACE_RETURN_IF_ERROR(
      AccumulateTotalsBuckets(h, thread, times, RunCategory, &acc));
  return acc[0];
}

StatusOr<bool> ThreadRanIn(const storage::StateHistory& h,
                           storage::Quark thread, int64_t start, int64_t end) {
  if (end < start) return false;
  // Run time over [start, end + 1) is positive iff a running interval
  // meets [start, end]: every interval lasts at least 1 ns.
  const int64_t stop =
      end == std::numeric_limits<int64_t>::max() ? end : end + 1;
  VMTRACE_ASSIGN_OR_RETURN(auto tot, h.QueryTotals(thread, {start, stop}));
  for (const storage::ValueTotal& v : tot[1]) {
    if (ThreadRuns(storage::StateValue::Int(v.value)) &&
        v.ns > storage::TotalNs(tot[0], v.value)) {
      return true;
    }
  }
  if (stop == end) {
    // The instant INT64_MAX itself, which no cumulative total reaches.
    VMTRACE_ASSIGN_OR_RETURN(auto at, h.QueryRange(thread, end, end));
    for (const auto& iv : at) {
      if (ThreadRuns(iv.value)) return true;
    }
  }
  return false;
}

int VcpuUsageCategory(const storage::StateValue& v) {
  if (v.kind != storage::StateValue::kInt) return -1;
  switch (v.i) {
    case vm::kGuest:
    case vm::kGuestL2:
      return 0;
    case vm::kHypervisor:
    case vm::kL1ForL2:
      return 1;
    case vm::kPreemptedHost:
    case vm::kPreemptedVm:
      return 2;
    default:
      return IsWait(v) ? 3 : -1;
  }
}

StatusOr<std::vector<std::vector<double>>> VcpuUsageBuckets(
    const storage::StateHistory& h, const std::vector<storage::Quark>& vcpus,
    const std::vector<int64_t>& times) {
  std::vector<std::vector<double>> acc(kVcpuUsageCategories,
                                       std::vector<double>(times.size(), 0.0));
  if (times.empty()) return acc;
  for (storage::Quark v : vcpus) {
    VMTRACE_RETURN_IF_ERROR(
        AccumulateTotalsBuckets(h, v, times, VcpuUsageCategory, &acc));
  }
  return acc;
}

}  // namespace vmtrace::stats
