// VM wait statistics: time spent in each WAIT_* category (vm-semantics
// §3, §4), as totals over any window and per time bucket. Both read the
// history's cumulative totals (StateHistory::QueryTotals): two seeks per
// row and window edge or bucket time, whatever the window's length.
#ifndef VMTRACE_ANALYSES_STATS_VM_WAITS_H_
#define VMTRACE_ANALYSES_STATS_VM_WAITS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "analyses/stats/vm_walk.h"

namespace vmtrace::stats {

// WAIT_TIMER, WAIT_DISK, WAIT_NET, WAIT_TASK, WAIT_UNKNOWN, in that order
// (category c is the state value vm::kWaitTimer + c).
inline constexpr int kWaitCategories = 5;
using WaitTotals = std::array<int64_t, kWaitCategories>;

// Adds the clipped WAIT_* time of q's intervals in `w` to *t.
Status AddWaits(const StateHistory& h, Quark q, const Window& w, WaitTotals* t);

// One row of the VM Wait Analysis: an element of a VM and its wait time per
// category in the window.
struct WaitRow {
  size_t vm = 0;        // index in WaitTable::vms
  std::string element;  // "VM", "vCPU <id>", "Process <cr3>",
                        // "Nested <cr3> vCPU <id>", "Nested <cr3> process
                        // <cr3>"
  WaitTotals totals{};
  // The element's time in the window: its length, times the number of L1
  // vCPUs (at least 1) for a VM row.
  double observed = 0;
};
struct WaitTable {
  Window window;  // the window after clipping
  std::vector<VmRef> vms;
  // Per VM (ListVms order): its "VM" row (the sum of its L1 vCPUs), then
  // its L1 vCPUs, guest processes, and per nested VM its vCPUs and
  // processes.
  std::vector<WaitRow> rows;
};
// The rows for window `w` clipped to the observed window
// (ClipToObserved()); an empty window gives every row with zero times.
StatusOr<WaitTable> ComputeWaitTable(const StateHistory& h, const Window& w);

// ns of each category per bucket of `times` (stats/buckets.h), summed over
// `vcpus`: out[c][k].
StatusOr<std::vector<std::vector<double>>> WaitBuckets(
    const StateHistory& h, const std::vector<VcpuRef>& vcpus,
    const std::vector<int64_t>& times);

}  // namespace vmtrace::stats

#endif  // VMTRACE_ANALYSES_STATS_VM_WAITS_H_
