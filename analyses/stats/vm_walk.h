// The walk of the VM model's state history (analyses/vm/vm_layout.h) that
// every VM statistic shares: the VMs of each host with their vCPUs, guest
// processes and nested VMs, the observed window and interval clipping.
//
// Time rules: the observed window is [h.start_time(), h.flushed_until());
// the history's closed intervals [s, e] count as [s, e + 1) clipped to it,
// so the state current at the trace's last event ends there (the
// generator's truth files count time the same way).
#ifndef VMTRACE_ANALYSES_STATS_VM_WALK_H_
#define VMTRACE_ANALYSES_STATS_VM_WALK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyses/vm/vm_layout.h"
#include "base/status.h"
#include "storage/state_history.h"

namespace vmtrace::stats {

using storage::Quark;
using storage::StateHistory;
using storage::StateInterval;

struct ProcessRef {
  Quark q = 0;
  std::string cr3;  // the attribute's name, "0x..."
};

struct VcpuRef {
  Quark q = 0;
  std::string id;  // the attribute's name
};

struct NestedRef {
  Quark q = 0;
  std::string cr3;  // the L1 hypervisor's CR3
  std::vector<VcpuRef> vcpus;
  std::vector<ProcessRef> processes;
};

struct VmRef {
  Quark host = 0;
  std::string host_name;
  Quark q = 0;
  std::string pid;
  std::string name;  // the Name attribute's last visible value, or the pid
  std::vector<VcpuRef> vcpus;  // by numeric id
  std::vector<ProcessRef> processes;
  std::vector<NestedRef> nested;
};

// Every VM of every host, in attribute creation order (hosts, then VMs).
std::vector<VmRef> ListVms(const StateHistory& h);
// The VM whose attribute is q, if any.
std::optional<VmRef> FindVm(const StateHistory& h, Quark q);

// The observed window [start, end).
struct Window {
  int64_t start = 0;
  int64_t end = 0;
  int64_t length() const { return end > start ? end - start : 0; }
};
Window ObservedWindow(const StateHistory& h);
// w clipped to the observed window; an empty result (end == start) when
// they do not meet or w is empty. A TSP range [a, b] over the whole trace,
// passed as {a, b}, gives the observed window.
Window ClipToObserved(const StateHistory& h, const Window& w);

// ns of the closed interval iv, read as [start, end + 1), inside w.
int64_t Clipped(const StateInterval& iv, const Window& w);

// Every visible interval of q in the window (empty for an unknown quark).
StatusOr<std::vector<StateInterval>> ReadAll(const StateHistory& h, Quark q,
                                             const Window& w);

inline bool IsInt(const StateInterval& iv, int64_t v) {
  return iv.value.kind == storage::StateValue::kInt && iv.value.i == v;
}
// WAIT_TIMER .. WAIT_UNKNOWN (same values for vCPUs and processes).
inline bool IsWait(const storage::StateValue& v) {
  return v.kind == storage::StateValue::kInt && v.i >= vm::kWaitTimer &&
         v.i <= vm::kWaitUnknown;
}
inline bool IsGuest(const storage::StateValue& v) {
  return v.kind == storage::StateValue::kInt &&
         (v.i == vm::kGuest || v.i == vm::kGuestL2);
}

}  // namespace vmtrace::stats

#endif  // VMTRACE_ANALYSES_STATS_VM_WALK_H_
