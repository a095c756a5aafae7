// VM wait statistics: time spent in each WAIT_* category (vm-semantics
// §3, §4), as totals over the observed window and per time bucket.
#ifndef VMTRACE_ANALYSES_STATS_VM_WAITS_H_
#define VMTRACE_ANALYSES_STATS_VM_WAITS_H_

#include <array>
#include <cstdint>
#include <vector>

#include "analyses/stats/vm_walk.h"

namespace vmtrace::stats {

// WAIT_TIMER, WAIT_DISK, WAIT_NET, WAIT_TASK, WAIT_UNKNOWN, in that order
// (category c is the state value vm::kWaitTimer + c).
inline constexpr int kWaitCategories = 5;
using WaitTotals = std::array<int64_t, kWaitCategories>;

// Adds the clipped WAIT_* time of q's intervals in `w` to *t.
Status AddWaits(const StateHistory& h, Quark q, const Window& w, WaitTotals* t);

// ns of each category per bucket of `times` (stats/buckets.h), summed over
// `vcpus`: out[c][k].
StatusOr<std::vector<std::vector<double>>> WaitBuckets(
    const StateHistory& h, const std::vector<VcpuRef>& vcpus,
    const std::vector<int64_t>& times);

}  // namespace vmtrace::stats

#endif  // VMTRACE_ANALYSES_STATS_VM_WAITS_H_
