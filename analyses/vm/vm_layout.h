// The VM analyses' state-history layout: the contract between the VM model
// (which writes it in the single pass) and every VM output (which reads it).
// States and keys follow ../shared/reference/vm-semantics.md, the same
// contract the trace generator's ground truth follows.
//
// One store per experiment (<experiment dir>/vm). Every key starts with the
// host (the trace's hostname), then the VM (QEMU pid), so nothing is shared
// across hosts or VMs (vm-analyses.md c.6):
//
//   <host>/VMs/<pid>                         (no value)
//   <host>/VMs/<pid>/Name                    string: QEMU process name
//   <host>/VMs/<pid>/vCPUs/<id>              VcpuState
//   <host>/VMs/<pid>/vCPUs/<id>/Exit         int: last exit reason (set at
//                                            each kvm_exit)
//   <host>/VMs/<pid>/vCPUs/<id>/Preempter    int: tid that took the CPU,
//                                            while PREEMPTED_*
//   <host>/VMs/<pid>/vCPUs/<id>/CR3          string "0x..": current CR3
//   <host>/VMs/<pid>/vCPUs/<id>/Vector       int: last injected vector
//   <host>/VMs/<pid>/vCPUs/<id>/Thread       int: host tid of the vCPU
//   <host>/VMs/<pid>/Processes/<cr3>         ProcessState (cr3 as "0x..")
//   <host>/VMs/<pid>/Processes/<cr3>/vCPU    int: vCPU it is current on
//   <host>/VMs/<pid>/Processes/<cr3>/Threads/<sp prefix>   ProcessState
//   <host>/VMs/<pid>/Nested/<L1 cr3>/vCPUs/<id>            VcpuState (only
//                                            while in nested mode, §5.4)
//   <host>/VMs/<pid>/Nested/<L1 cr3>/Processes/<L2 cr3>    ProcessState
//
// Intervals are half-open in the truth files and closed [start, end-1] in
// the state history (a state set at t lasts until the next change - 1).
#ifndef VMTRACE_ANALYSES_VM_VM_LAYOUT_H_
#define VMTRACE_ANALYSES_VM_VM_LAYOUT_H_

#include <cstdint>
#include <string_view>

namespace vmtrace::vm {

// Values of .../vCPUs/<id> (vm-semantics §3, §5.4).
enum VcpuState : int64_t {
  kVcpuUnknown = 0,
  kGuest = 1,          // L1 guest code
  kGuestL2 = 2,        // L2 guest code
  kHypervisor = 3,     // L0, the vCPU thread runs on the host
  kL1ForL2 = 4,        // nested row: the L1 hypervisor works for L2
  kPreemptedHost = 5,  // switched out runnable, by a non-vCPU thread
  kPreemptedVm = 6,    // switched out runnable, by a vCPU thread
  kWaitTimer = 7,
  kWaitDisk = 8,
  kWaitNet = 9,
  kWaitTask = 10,
  kWaitUnknown = 11,
};

// Values of .../Processes/<cr3> (vm-semantics §4).
enum ProcessState : int64_t {
  kProcessUnknown = 0,
  kRunning = 1,
  kVcpuHypervisor = 3,
  kVcpuPreempted = 5,
  // kWaitTimer .. kWaitUnknown as in VcpuState (same numbers)
};

// The truth files' names ("GUEST", "WAIT_TIMER", "VCPU_HYPERVISOR", ...).
std::string_view VcpuStateName(int64_t state);
std::string_view ProcessStateName(int64_t state);

}  // namespace vmtrace::vm

#endif  // VMTRACE_ANALYSES_VM_VM_LAYOUT_H_
