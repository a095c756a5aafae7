// Guest traces: which guest process (pid, comm, container) holds each CR3
// the host saw, learnt from an optional LTTng trace recorded inside a VM
// (statedump + sched_switch) by matching the guest's context switches on
// each guest CPU with the host's CR3 changes on the same vCPU.
//
// Matching. A guest switch to another process makes the vCPU run another
// page table, so the host's next addons_vcpu_enter_guest shows a new CR3
// (canonical: PCID and KPTI bits masked). Each such switch on guest CPU c
// at guest time g is matched with the host's nearest canonical CR3 change
// on vCPU c within +-kMatchWindowNs of g - offset, where offset (guest
// clock - host clock) comes from kvm_write_tsc_offset when the host trace
// has it and it aligns the switches, else is fitted from the switches
// themselves (the densest guest-host time difference over a sample, then
// the median of the differences around it). Switches to the idle task or to
// a thread of the same process change no CR3 and are not matched.
//
// A trace is taken for the VM whose CR3 changes match the most of its
// switches (at least half). It is a nested (L2) guest when most of its
// matched changes come from a CR3 it never holds (its L1 hypervisor's,
// which runs between L2 processes); its names go under that L1 CR3.
//
// A CR3's holders over time are the matched processes in time order; a
// process replacing another is an exec (same pid) or a reuse after exit.
// A pid taking a CR3 back from another is a conflict ("a CR3 claimed by two
// processes at once"): reported, the segments kept as seen.
//
// Containers are pid namespaces: a process whose deepest pid namespace is
// not the root one (statedump's lttng_statedump_process_pid_ns, or
// sched_process_fork's child_ns_inum) is in container "<inode>", named by the
// comm of that namespace's pid 1 when the statedump shows it.
#ifndef VMTRACE_ANALYSES_GUEST_GUEST_MAP_H_
#define VMTRACE_ANALYSES_GUEST_GUEST_MAP_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analyses/guest/guest_report.h"
#include "analyses/vm/guest_names.h"
#include "base/status.h"

namespace vmtrace::guest {

inline constexpr int64_t kMatchWindowNs = 50'000;

// --- host side ---
struct Cr3Sample {
  int64_t ts = 0;    // host clock, ns since the epoch
  uint64_t cr3 = 0;  // as the host saw it (PCID/KPTI bits included)
};
struct HostVcpu {
  std::string host;
  int64_t vm_pid = 0;
  int vcpu = 0;
  std::vector<Cr3Sample> cr3;  // time order
};
struct HostView {
  std::vector<HostVcpu> vcpus;
  // (host, QEMU pid) -> guest TSC - host TSC in ns (kvm_write_tsc_offset,
  // TSC read at 1 GHz as the trace clocks are); absent when not traced.
  std::map<std::pair<std::string, int64_t>, int64_t> tsc_offsets;
};

// --- guest side ---
struct GuestThread {
  int64_t pid = -1;  // tgid
  std::string comm;
  uint64_t pid_ns = 0;  // deepest pid namespace inode; 0 unknown
  int ns_level = -1;    // its level (0 root); -1 unknown
  int64_t vpid = -1;    // pid inside that namespace
};
struct GuestSwitch {
  int64_t ts = 0;  // guest clock
  int64_t next_tid = 0;
  std::string next_comm;
};
struct GuestTrace {
  std::string name;  // hostname (the VM's name)
  std::string path;
  std::vector<std::vector<GuestSwitch>> cpus;  // per guest CPU, time order
  std::map<int64_t, GuestThread> threads;      // by tid
  uint64_t root_pid_ns = 0;                    // level-0 namespace seen
  bool has_kvm_events = false;                 // then it is a host trace
};

// Reads a guest trace (its switches, statedump and forks).
StatusOr<GuestTrace> ReadGuestTrace(const std::string& dir);

struct GuestMapping {
  vm::GuestNames names;
  std::vector<vm::GuestTraceReport> reports;  // one per guest trace
};

GuestMapping MapGuestTraces(const HostView& host,
                            const std::vector<GuestTrace>& guests);

}  // namespace vmtrace::guest

#endif  // VMTRACE_ANALYSES_GUEST_GUEST_MAP_H_
