// CPU and vCPU usage: time per category accumulated into the buckets of a
// sampled time range (stats/buckets.h), from the histories' cumulative
// totals (StateHistory::QueryTotals): a bounded number of seeks per row and
// sample, whatever the number of intervals in the range.
#ifndef VMTRACE_ANALYSES_STATS_USAGE_H_
#define VMTRACE_ANALYSES_STATS_USAGE_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "storage/state_history.h"

namespace vmtrace::stats {

// --- Host CPUs (the kernel model's history, analyses/kernel) ---

// A thread row's state runs code (user mode or system call).
bool ThreadRuns(const storage::StateValue& v);
// A CPU row's state is not idle.
bool CpuBusy(const storage::StateValue& v);

// ns per bucket during which the CPU rows `cpus` are busy (summed).
StatusOr<std::vector<double>> CpuBusyBuckets(
    const storage::StateHistory& h, const std::vector<storage::Quark>& cpus,
    const std::vector<int64_t>& times);
// ns per bucket during which the thread row `thread` runs.
StatusOr<std::vector<double>> ThreadRunBuckets(
    const storage::StateHistory& h, storage::Quark thread,
    const std::vector<int64_t>& times);
// True when the thread row runs at some instant of [start, end] (a tree's
// closed range; false when end < start). Two seeks.
StatusOr<bool> ThreadRanIn(const storage::StateHistory& h,
                           storage::Quark thread, int64_t start, int64_t end);

// --- vCPUs (the VM model's history, analyses/vm/vm_layout.h) ---

// Guest (GUEST + GUEST_L2), Hypervisor (HYPERVISOR + L1_FOR_L2), Preempted
// (PREEMPTED_HOST + PREEMPTED_VM), Idle (WAIT_*); UNKNOWN is in none.
inline constexpr int kVcpuUsageCategories = 4;
// The category of a vCPU state, -1 for UNKNOWN (and anything unexpected).
int VcpuUsageCategory(const storage::StateValue& v);

// ns of each category per bucket, summed over `vcpus`: out[c][k].
StatusOr<std::vector<std::vector<double>>> VcpuUsageBuckets(
    const storage::StateHistory& h, const std::vector<storage::Quark>& vcpus,
    const std::vector<int64_t>& times);

}  // namespace vmtrace::stats

#endif  // VMTRACE_ANALYSES_STATS_USAGE_H_
