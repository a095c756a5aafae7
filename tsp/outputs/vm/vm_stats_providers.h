// The VM analyses' statistics outputs: VM Wait Analysis, VM Exits, vCPU
// Usage and Preemptions. They read the VM model's state history through the
// layout contract analyses/vm/vm_layout.h and never the trace: they are
// computed on request from the history the single pass writes, and say
// "running" while the history is not complete.
//
// The arithmetic (VM walk, waits, exits, preemptions, vCPU usage, time
// buckets) is in analyses/stats/; these providers shape it as TSP tables
// and XY charts. Common rules:
// - The observed window is [h.start_time(), h.flushed_until()): the
//   history's closed intervals [s, e] count as [s, e + 1) clipped to it, so
//   the state current at the trace's last event ends there (the generator's
//   truth files count time the same way).
// - Only L1 vCPU rows (<host>/VMs/<pid>/vCPUs/<id>) make VM totals; nested
//   vCPU rows repeat part of their L1 vCPU's time and get their own rows.
// - Tables are computed whole (the table routes page and search them) and
//   cached once the history is complete.
// - XY entry ids: the quark of the host / VM / vCPU attribute times 8, plus
//   1 + the category index for a category series (stable across restarts,
//   because quarks are persisted). Exit-rate series use the VM or vCPU
//   quark times 8.
//
// - VM Exits (table and rate) and Preemptions read the exits and
//   preemptions from stats::EventStats (analyses/stats/event_stats.h):
//   aggregates stored per time chunk once the history is complete, plus an
//   exact scan of a range's edges; the same answers as a full scan.
//
// Every provider keeps a pointer to the history, which must outlive it.
#ifndef VMTRACE_TSP_OUTPUTS_VM_VM_STATS_PROVIDERS_H_
#define VMTRACE_TSP_OUTPUTS_VM_VM_STATS_PROVIDERS_H_

#include <memory>
#include <string>

#include "analyses/stats/event_stats.h"
#include "analyses/stats/vm_walk.h"
#include "storage/state_history.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

inline constexpr char kVmWaitTableId[] = "vmtrace.vm.wait_table";
inline constexpr char kVmWaitXyId[] = "vmtrace.vm.wait_xy";
inline constexpr char kVmExitsTableId[] = "vmtrace.vm.exits_table";
inline constexpr char kVmExitRateId[] = "vmtrace.vm.exit_rate";
inline constexpr char kVcpuUsageId[] = "vmtrace.vm.vcpu_usage";
inline constexpr char kPreemptionsId[] = "vmtrace.vm.preemptions";
// The three tables above for the viewer's selection (DATA_TREE).
inline constexpr char kVmWaitSelectionId[] = "vmtrace.vm.wait_selection";
inline constexpr char kVmExitsSelectionId[] = "vmtrace.vm.exits_selection";
inline constexpr char kPreemptionsSelectionId[] =
    "vmtrace.vm.preemptions_selection";

// "VM Wait Analysis" (TABLE). One row per VM (sum of its L1 vCPUs), per L1
// vCPU, per guest process, per nested vCPU and per L2 process. Columns:
// Host, VM, PID, Element, then per category WAIT_TIMER, WAIT_DISK,
// WAIT_NET, WAIT_TASK, WAIT_UNKNOWN its ns (NUMBER) and its share of the
// row's total wait (STRING "12.50%"), then the total wait ns and its share
// of the row's observed time (window x number of vCPUs for a VM row, the
// window otherwise).
std::unique_ptr<TableProvider> MakeVmWaitTableProvider(
    const storage::StateHistory* h);
// The rows of that table for the window w = [start, end) (ns), clipped to
// the observed window; the table above is VmWaitTable(h,
// stats::ObservedWindow(h)). A window outside the observed one, or empty,
// gives every row with zero times. Cost: two seeks per row
// (StateHistory::QueryTotals), whatever the window's length -- for a
// DATA_TREE output following the selected time range.
StatusOr<TableModel> VmWaitTable(const storage::StateHistory& h,
                                 const stats::Window& w);

// "VM Wait Analysis (over time)" (TREE_TIME_XY). Tree host -> VM -> one
// series per wait category. Value: percent of the VM's vCPU time (bucket
// width x number of L1 vCPUs) spent in that wait category in the bucket
// (so a 2-vCPU VM with one vCPU waiting for a timer all the bucket reads
// 50).
std::unique_ptr<XyProvider> MakeVmWaitXyProvider(
    const storage::StateHistory* h);

// "VM Exits" (TABLE). One row per (VM, exit reason seen), by VM then
// reason. An exit is a HYPERVISOR interval of an L1 vCPU that starts right
// after a GUEST or GUEST_L2 interval (a kvm_exit); its reason is the vCPU's
// Exit value at that instant. Its time in the hypervisor is that interval
// plus the further HYPERVISOR intervals of the vCPU before its next guest
// entry (the vCPU resumes handling the same exit after a preemption or a
// halt). HYPERVISOR time before the vCPU's first exit is not an exit.
// Columns: Host, VM, PID, Reason (number), Name (Intel VMX name), Count,
// From L2 (exits whose previous state was GUEST_L2), Total ns, Mean ns
// (rounded down), Max ns, Share (of the VM's exit time).
std::unique_ptr<TableProvider> MakeVmExitsTableProvider(
    std::shared_ptr<const stats::EventStats> s);
// The same table for the exits happening in [start, end] (ns, inclusive;
// stats/event_stats.h: an exit counts whole where it starts): from the
// stored aggregates plus the range's edges, exact. Over the observed window
// it is the table above.
StatusOr<TableModel> VmExitsTable(const stats::EventStats& s, int64_t start,
                                  int64_t end);

// "VM Exits (rate)" (TREE_TIME_XY). Tree host -> VM -> vCPU; the VM and
// each vCPU have a series: exits (as above) starting in the bucket per
// second of bucket.
std::unique_ptr<XyProvider> MakeVmExitRateProvider(
    std::shared_ptr<const stats::EventStats> s);

// "vCPU Usage" (TREE_TIME_XY). Tree host -> VM -> {4 categories of the VM,
// vCPU <id> -> its 4 categories}. Categories, in percent of the bucket
// (of bucket x number of L1 vCPUs for the VM series): Guest (GUEST +
// GUEST_L2), Hypervisor (HYPERVISOR + L1_FOR_L2), Preempted
// (PREEMPTED_HOST + PREEMPTED_VM), Idle (WAIT_*). UNKNOWN time is in none,
// so the four may sum to less than 100.
std::unique_ptr<XyProvider> MakeVcpuUsageProvider(
    const storage::StateHistory* h);

// "Preemptions" (TABLE). Per VM, then for all VMs, one row per kind:
// - "Host -> VM": PREEMPTED_HOST intervals of the VM's L1 vCPUs;
// - "VM <-> VM": PREEMPTED_VM intervals;
// - "Process <-> process": a vCPU's CR3 changing to another value with no
//   WAIT_* of the vCPU since the displaced CR3 last ran or was named (a
//   switch after an idle period is a wake-up, not a preemption). L2 CR3s
//   (Nested/<H>/Processes children) are tracked apart: a switch between two
//   L2 processes of the same nested VM counts for the VM too, entering or
//   leaving L2 does not. Time: the displaced process's off interval (its
//   WAIT_* interval in Processes/<cr3> holding the switch instant), from
//   the switch to its end.
// - "Thread <-> thread": one thread row of a process
//   (Processes/<cr3>/Threads/<sp>) going off (WAIT_*) at the instant
//   another thread row of the same process comes on (RUNNING,
//   VCPU_HYPERVISOR or VCPU_PREEMPTED). Time: the off interval of the
//   thread that went off.
// Columns: Host, VM, PID, Kind, Count, Total ns, Mean ns, Max ns, Share (of
// the VM's vCPU time, window x number of L1 vCPUs; the process and thread
// kinds can exceed 100% since several can be off at once).
std::unique_ptr<TableProvider> MakePreemptionsProvider(
    std::shared_ptr<const stats::EventStats> s);
// The same table for the preemptions happening in [start, end] (each counted
// whole at its instant); Share is of the VM's vCPU time in the observed part
// of [start, end]. Over the observed window it is the table above.
StatusOr<TableModel> PreemptionsTable(const stats::EventStats& s, int64_t start,
                                      int64_t end);

// Event statistics that always scan `h` (no store): the oracle, for tests
// and hand-built histories. The Make*(h) overloads above use it.
std::shared_ptr<const stats::EventStats> ScanOnlyEventStats(
    const storage::StateHistory* h);
std::unique_ptr<TableProvider> MakeVmExitsTableProvider(
    const storage::StateHistory* h);
std::unique_ptr<XyProvider> MakeVmExitRateProvider(
    const storage::StateHistory* h);
std::unique_ptr<TableProvider> MakePreemptionsProvider(
    const storage::StateHistory* h);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_VM_VM_STATS_PROVIDERS_H_
