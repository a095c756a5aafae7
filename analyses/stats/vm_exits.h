// VM exit statistics. An exit is a HYPERVISOR interval of an L1 vCPU that
// starts right after a GUEST or GUEST_L2 interval (a kvm_exit); its reason
// is the vCPU's Exit value at that instant. Its time in the hypervisor is
// that interval plus the further HYPERVISOR intervals of the vCPU before
// its next guest entry (the vCPU resumes handling the same exit after a
// preemption or a halt). HYPERVISOR time before the vCPU's first exit is
// not an exit.
#ifndef VMTRACE_ANALYSES_STATS_VM_EXITS_H_
#define VMTRACE_ANALYSES_STATS_VM_EXITS_H_

#include <cstdint>
#include <map>
#include <vector>

#include "analyses/stats/vm_walk.h"

namespace vmtrace::stats {

struct Exit {
  int64_t start = 0;
  int64_t reason = -1;  // -1: no Exit value at that instant
  bool from_l2 = false;
  int64_t ns = 0;  // hypervisor time until the next guest entry, clipped
};

// The exits of one L1 vCPU whose first HYPERVISOR interval lies in
// [t1, t2]; their time is clipped to `w`.
StatusOr<std::vector<Exit>> CollectExits(const StateHistory& h,
                                         const VcpuRef& v, int64_t t1,
                                         int64_t t2, const Window& w);

// The exits of one L1 vCPU that happen in [a, b] (an exit happens at its
// first HYPERVISOR interval's start), each with its whole time until the
// next guest entry (read past b if needed), clipped to `w`. Over the
// observed window it returns what CollectExits does; cut a range in pieces
// and the pieces' exits are the range's. With whole = false only their
// starts are meant (counts): reasons are not read, nor time past b.
StatusOr<std::vector<Exit>> ExitsStartingIn(const StateHistory& h,
                                            const VcpuRef& v, int64_t a,
                                            int64_t b, const Window& w,
                                            bool whole = true);

struct ExitStat {
  int64_t count = 0, from_l2 = 0, total = 0, max = 0;
};

// One VM's exits in the window, by reason (-1 first: reason not recorded);
// *vm_total is their total time.
StatusOr<std::map<int64_t, ExitStat>> ExitsByReason(const StateHistory& h,
                                                    const VmRef& vm,
                                                    const Window& w,
                                                    int64_t* vm_total);

// Exits of `vcpus` starting in each bucket of `times` (stats/buckets.h).
StatusOr<std::vector<double>> ExitCounts(const StateHistory& h,
                                         const std::vector<VcpuRef>& vcpus,
                                         const std::vector<int64_t>& times);

}  // namespace vmtrace::stats

#endif  // VMTRACE_ANALYSES_STATS_VM_EXITS_H_
