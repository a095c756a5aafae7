#include "analyses/events/typed_event.h"

namespace vmtrace::events {

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kOther:
      return "other";
    case Kind::kSchedSwitch:
      return "sched_switch";
    case Kind::kSchedWakeup:
      return "sched_wakeup";
    case Kind::kSchedWakeupNew:
      return "sched_wakeup_new";
    case Kind::kSchedTtwu:
      return "sched_ttwu";
    case Kind::kProcessFork:
      return "process_fork";
    case Kind::kProcessExit:
      return "process_exit";
    case Kind::kProcessFree:
      return "process_free";
    case Kind::kProcessExec:
      return "process_exec";
    case Kind::kStatedumpProcess:
      return "statedump_process";
    case Kind::kIrqEntry:
      return "irq_entry";
    case Kind::kIrqExit:
      return "irq_exit";
    case Kind::kSoftIrqRaise:
      return "softirq_raise";
    case Kind::kSoftIrqEntry:
      return "softirq_entry";
    case Kind::kSoftIrqExit:
      return "softirq_exit";
    case Kind::kHrtimerEntry:
      return "hrtimer_entry";
    case Kind::kHrtimerExit:
      return "hrtimer_exit";
    case Kind::kBlockComplete:
      return "block_complete";
    case Kind::kSyscallEntry:
      return "syscall_entry";
    case Kind::kSyscallExit:
      return "syscall_exit";
    case Kind::kKvmEntry:
      return "kvm_entry";
    case Kind::kKvmExit:
      return "kvm_exit";
    case Kind::kKvmInjVirq:
      return "kvm_inj_virq";
    case Kind::kKvmAcceptIrq:
      return "kvm_apic_accept_irq";
    case Kind::kEnterGuest:
      return "enter_guest";
    case Kind::kNetSend:
      return "net_send";
    case Kind::kNetRecv:
      return "net_recv";
  }
  return "other";
}

}  // namespace vmtrace::events
