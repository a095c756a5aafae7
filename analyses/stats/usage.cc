#include "analyses/stats/usage.h"

#include "analyses/kernel/kernel_model.h"
#include "analyses/stats/buckets.h"
#include "analyses/stats/vm_walk.h"

namespace vmtrace::stats {
namespace {

// Adds to acc[category(v)] the time of q's intervals in the sampled range.
template <typename CategoryFn>
Status Accumulate(const storage::StateHistory& h, storage::Quark q,
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
    VMTRACE_RETURN_IF_ERROR(Accumulate(h, c, times, BusyCategory, &acc));
  }
  return acc[0];
}

StatusOr<std::vector<double>> ThreadRunBuckets(
    const storage::StateHistory& h, storage::Quark thread,
    const std::vector<int64_t>& times) {
  std::vector<std::vector<double>> acc(1, std::vector<double>(times.size()));
  if (times.empty()) return acc[0];
  VMTRACE_RETURN_IF_ERROR(Accumulate(h, thread, times, RunCategory, &acc));
  return acc[0];
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
    VMTRACE_RETURN_IF_ERROR(Accumulate(h, v, times, VcpuUsageCategory, &acc));
  }
  return acc;
}

}  // namespace vmtrace::stats
