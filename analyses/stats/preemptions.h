// Preemption statistics of the VMs, at each level (vm-analyses.md d.5):
// - kHostToVm: PREEMPTED_HOST intervals of the VM's L1 vCPUs;
// - kVmToVm: PREEMPTED_VM intervals;
// - kProcess: a vCPU's CR3 changing to another value with no WAIT_* of the
//   vCPU since the displaced CR3 last ran or was named (a switch after an
//   idle period is a wake-up, not a preemption). L2 CR3s
//   (Nested/<H>/Processes children) are tracked apart: a switch between two
//   L2 processes of the same nested VM counts for the VM too, entering or
//   leaving L2 does not. Time: the displaced process's off interval (its
//   WAIT_* interval in Processes/<cr3> holding the switch instant), from
//   the switch to its end.
// - kThread: one thread row of a process (Processes/<cr3>/Threads/<sp>)
//   going off (WAIT_*) at the instant another thread row of the same
//   process comes on (RUNNING, VCPU_HYPERVISOR or VCPU_PREEMPTED). Time: the
//   off interval of the thread that went off.
// Times are clipped to the observed window.
#ifndef VMTRACE_ANALYSES_STATS_PREEMPTIONS_H_
#define VMTRACE_ANALYSES_STATS_PREEMPTIONS_H_

#include <algorithm>
#include <array>
#include <cstdint>

#include "analyses/stats/vm_walk.h"

namespace vmtrace::stats {

enum PreemptionKind { kHostToVm, kVmToVm, kProcess, kThread };
inline constexpr int kPreemptionKinds = 4;

struct DurationStat {
  int64_t count = 0, total = 0, max = 0;
  void Add(int64_t ns) {
    ++count;
    total += ns;
    max = std::max(max, ns);
  }
  void Merge(const DurationStat& o) {
    count += o.count;
    total += o.total;
    max = std::max(max, o.max);
  }
};
using PreemptionStats = std::array<DurationStat, kPreemptionKinds>;

// One VM's preemptions of every kind in the window `w`.
StatusOr<PreemptionStats> VmPreemptions(const StateHistory& h, const VmRef& vm,
                                        const Window& w);

}  // namespace vmtrace::stats

#endif  // VMTRACE_ANALYSES_STATS_PREEMPTIONS_H_
