// Names of the VM layout's state values (the truth files' spelling) and of
// Intel VMX exit reasons.
#include "analyses/vm/vm_names.h"

#include "analyses/vm/vm_layout.h"

namespace vmtrace::vm {

std::string_view VcpuStateName(int64_t state) {
  switch (state) {
    case kVcpuUnknown:
      return "UNKNOWN";
    case kGuest:
      return "GUEST";
    case kGuestL2:
      return "GUEST_L2";
    case kHypervisor:
      return "HYPERVISOR";
    case kL1ForL2:
      return "L1_FOR_L2";
    case kPreemptedHost:
      return "PREEMPTED_HOST";
    case kPreemptedVm:
      return "PREEMPTED_VM";
    case kWaitTimer:
      return "WAIT_TIMER";
    case kWaitDisk:
      return "WAIT_DISK";
    case kWaitNet:
      return "WAIT_NET";
    case kWaitTask:
      return "WAIT_TASK";
    case kWaitUnknown:
      return "WAIT_UNKNOWN";
  }
  return "UNKNOWN";
}

std::string_view ProcessStateName(int64_t state) {
  switch (state) {
    case kProcessUnknown:
      return "UNKNOWN";
    case kRunning:
      return "RUNNING";
    case kVcpuHypervisor:
      return "VCPU_HYPERVISOR";
    case kVcpuPreempted:
      return "VCPU_PREEMPTED";
    case kWaitTimer:
      return "WAIT_TIMER";
    case kWaitDisk:
      return "WAIT_DISK";
    case kWaitNet:
      return "WAIT_NET";
    case kWaitTask:
      return "WAIT_TASK";
    case kWaitUnknown:
      return "WAIT_UNKNOWN";
  }
  return "UNKNOWN";
}

std::string_view ExitReasonName(int64_t reason) {
  // Intel SDM vol. 3, appendix C "VMX basic exit reasons" (the names Linux
  // uses in arch/x86/include/uapi/asm/vmx.h, without the EXIT_REASON_).
  static constexpr std::string_view kNames[] = {
      "EXCEPTION_NMI",        // 0
      "EXTERNAL_INTERRUPT",   // 1
      "TRIPLE_FAULT",         // 2
      "INIT_SIGNAL",          // 3
      "SIPI_SIGNAL",          // 4
      "IO_SMI",               // 5
      "OTHER_SMI",            // 6
      "INTERRUPT_WINDOW",     // 7
      "NMI_WINDOW",           // 8
      "TASK_SWITCH",          // 9
      "CPUID",                // 10
      "GETSEC",               // 11
      "HLT",                  // 12
      "INVD",                 // 13
      "INVLPG",               // 14
      "RDPMC",                // 15
      "RDTSC",                // 16
      "RSM",                  // 17
      "VMCALL",               // 18
      "VMCLEAR",              // 19
      "VMLAUNCH",             // 20
      "VMPTRLD",              // 21
      "VMPTRST",              // 22
      "VMREAD",               // 23
      "VMRESUME",             // 24
      "VMWRITE",              // 25
      "VMOFF",                // 26
      "VMON",                 // 27
      "CR_ACCESS",            // 28
      "DR_ACCESS",            // 29
      "IO_INSTRUCTION",       // 30
      "MSR_READ",             // 31
      "MSR_WRITE",            // 32
      "INVALID_STATE",        // 33
      "MSR_LOAD_FAIL",        // 34
      "",                     // 35
      "MWAIT_INSTRUCTION",    // 36
      "MONITOR_TRAP_FLAG",    // 37
      "",                     // 38
      "MONITOR_INSTRUCTION",  // 39
      "PAUSE_INSTRUCTION",    // 40
      "MCE_DURING_VMENTRY",   // 41
      "",                     // 42
      "TPR_BELOW_THRESHOLD",  // 43
      "APIC_ACCESS",          // 44
      "EOI_INDUCED",          // 45
      "GDTR_IDTR",            // 46
      "LDTR_TR",              // 47
      "EPT_VIOLATION",        // 48
      "EPT_MISCONFIG",        // 49
      "INVEPT",               // 50
      "RDTSCP",               // 51
      "PREEMPTION_TIMER",     // 52
      "INVVPID",              // 53
      "WBINVD",               // 54
      "XSETBV",               // 55
      "APIC_WRITE",           // 56
      "RDRAND",               // 57
      "INVPCID",              // 58
      "VMFUNC",               // 59
      "ENCLS",                // 60
      "RDSEED",               // 61
      "PML_FULL",             // 62
      "XSAVES",               // 63
      "XRSTORS",              // 64
      "",                     // 65
      "",                     // 66
      "UMWAIT",               // 67
      "TPAUSE",               // 68
      "",                     // 69
      "",                     // 70
      "",                     // 71
      "",                     // 72
      "",                     // 73
      "BUS_LOCK",             // 74
      "NOTIFY",               // 75
  };
  // Bit 31 flags a failed VM entry; the low bits still hold the reason.
  if (reason == 0x80000000LL) return "FAILED_VMENTRY";
  if (reason >= 0 && reason < int64_t(std::size(kNames)) &&
      !kNames[reason].empty()) {
    return kNames[reason];
  }
  return {};
}

}  // namespace vmtrace::vm
