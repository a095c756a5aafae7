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
//
// As events: a preemption happens at an instant (the PREEMPTED_* interval's
// start, the CR3 switch, the thread's going off) and lasts the duration
// above (its whole off interval, even past the end of a range asked for).
// The statistics of a range [a, b] are those of the preemptions happening
// in [a, b]; over the observed window they are VmPreemptions'.
#ifndef VMTRACE_ANALYSES_STATS_PREEMPTIONS_H_
#define VMTRACE_ANALYSES_STATS_PREEMPTIONS_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

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

// One preemption: its kind, instant and duration (ns, clipped to the
// window).
struct Preemption {
  int kind = kHostToVm;
  int64_t t = 0;
  int64_t ns = 0;
};

// The process <-> process rule's state on one L1 vCPU after the intervals
// seen so far (the current L1 and L2 CR3 and whether the vCPU idled since
// they were named or last ran).
struct SwitchState {
  std::string cur_l1, cur_l2;
  bool idle_l1 = false, idle_l2 = false;
  bool operator==(const SwitchState& o) const {
    return cur_l1 == o.cur_l1 && cur_l2 == o.cur_l2 && idle_l1 == o.idle_l1 &&
           idle_l2 == o.idle_l2;
  }
};

// The preemptions of `vm` happening in [a, b], with their durations clipped
// to `w`. The process <-> process rule depends on what came before: it
// replays every vCPU's intervals starting in [from, b] (from <= a) from
// (*switches)[k] for vm.vcpus[k] (missing entries start fresh), which must
// be the state after the intervals starting before `from` (a fresh state
// when from is the window's start); on return they hold the state after
// the intervals starting up to b, so a walk can go on from b + 1.
StatusOr<std::vector<Preemption>> PreemptionsIn(
    const StateHistory& h, const VmRef& vm, int64_t from, int64_t a, int64_t b,
    const Window& w, std::vector<SwitchState>* switches);

// One VM's preemptions of every kind in the window `w`.
StatusOr<PreemptionStats> VmPreemptions(const StateHistory& h, const VmRef& vm,
                                        const Window& w);

}  // namespace vmtrace::stats

#endif  // VMTRACE_ANALYSES_STATS_PREEMPTIONS_H_
