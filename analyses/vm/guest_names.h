// Who the guest processes and VMs of an experiment are, beyond what a
// host-only trace can know: names given by hand (the vmtrace.vm.names
// configuration) or learnt from an optional guest trace per VM. The VM
// analyses never read this while indexing: names are applied when outputs
// are drawn, so naming rebuilds nothing and never changes a store's
// fingerprint.
//
// Keys are the VM layout's (vm_layout.h): the host (trace hostname), the VM
// (QEMU pid) and the guest process's CR3 as the store spells it. A CR3 is
// looked up canonically (CanonicalCr3: PCID bits and the KPTI user/kernel
// bit masked), so both of KPTI's page tables name one process.
#ifndef VMTRACE_ANALYSES_VM_GUEST_NAMES_H_
#define VMTRACE_ANALYSES_VM_GUEST_NAMES_H_

#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace vmtrace::vm {

// The CR3 with its low 13 bits cleared (PCID in bits 0-11, KPTI's user
// page table at bit 12).
uint64_t CanonicalCr3(uint64_t cr3);

// One guest process holding a CR3 over [begin, end) (host clock, ns). A
// CR3 reused after exit/exec has several of these, in time order.
struct GuestProcess {
  int64_t begin = INT64_MIN;
  int64_t end = INT64_MAX;
  std::string name;       // comm; empty if unknown
  int64_t pid = -1;       // guest pid (tgid); -1 if unknown
  std::string container;  // key into VmNaming::containers; empty: none
};

struct GuestContainer {
  std::string name;  // display name ("web"); empty: show the id
  // Where it came from, for the tooltip: "pid_ns 4026532281", "cgroup
  // /docker/ab12..", "configuration".
  std::string source;
};

struct VmNaming {
  std::string name;  // display name of the VM; empty: keep the default
  // CanonicalCr3 -> the processes that held it, sorted by begin.
  std::map<uint64_t, std::vector<GuestProcess>> processes;
  // Container id -> container.
  std::map<std::string, GuestContainer> containers;
  // For a nested VM: names of its L2 processes, keyed by the L1 hypervisor
  // CR3 (canonical) as in <host>/VMs/<pid>/Nested/<L1 cr3>.
  std::map<uint64_t, VmNaming> nested;

  // The process holding `cr3` at `ts` (any process of that CR3 if `ts` is
  // INT64_MIN: the latest). nullptr if none is known.
  const GuestProcess* Process(uint64_t cr3, int64_t ts = INT64_MIN) const;
};

struct GuestNames {
  // (host, QEMU pid) -> naming. Absent: nothing known, default labels.
  std::map<std::pair<std::string, int64_t>, VmNaming> vms;

  // nullptr on miss.
  const VmNaming* Vm(const std::string& host, int64_t pid) const;
  // Adds `other` over this: a field set in `other` wins (hand-given names
  // override guest-trace ones).
  void Merge(const GuestNames& other);
};

// An experiment's names, shared by its outputs: the guest traces' (set once
// they are mapped) under the hand-given ones (set whenever the
// vmtrace.vm.names configuration changes). Thread-safe; readers get an
// immutable merged snapshot they may keep while drawing one reply.
class GuestNamesSource {
 public:
  GuestNamesSource();
  void SetTraced(GuestNames names);
  void SetHand(GuestNames names);
  // Never null; empty names when nothing is known.
  std::shared_ptr<const GuestNames> Current() const;

 private:
  void RebuildLocked();
  mutable std::mutex mu_;
  GuestNames traced_, hand_;
  std::shared_ptr<const GuestNames> merged_;
};

}  // namespace vmtrace::vm

#endif  // VMTRACE_ANALYSES_VM_GUEST_NAMES_H_
