#include "analyses/check/requirements.h"

namespace vmtrace::check {
namespace {

using events::Kind;

// The names are scripts/record.sh's (its LTTNG_* and PERF_* lists), so a
// fix says exactly what the script would have recorded.
const EventGroup kSchedSwitch{"sched_switch",
                              {Kind::kSchedSwitch},
                              Extra::kNone,
                              "sched_switch",
                              "sched:sched_switch",
                              "",
                              ""};
const EventGroup kWakeup{"sched_waking/sched_wakeup",
                         {Kind::kSchedWakeup},
                         Extra::kNone,
                         "sched_waking,sched_wakeup",
                         "sched:sched_waking,sched:sched_wakeup",
                         "",
                         ""};
const EventGroup kLifetimes{
    "process fork/exec/exit/free, sched_wakeup_new",
    {Kind::kProcessFork, Kind::kProcessExec, Kind::kProcessExit,
     Kind::kProcessFree, Kind::kSchedWakeupNew},
    Extra::kNone,
    "sched_process_fork,sched_process_exec,sched_process_exit,"
    "sched_process_free,sched_wakeup_new",
    "sched:sched_process_fork,sched:sched_process_exec,"
    "sched:sched_process_exit,sched:sched_process_free,"
    "sched:sched_wakeup_new",
    "",
    ""};
const EventGroup kStatedump{"statedump",
                            {Kind::kStatedumpProcess},
                            Extra::kNone,
                            "lttng_statedump_*",
                            "",
                            "",
                            "perf has no statedump: record with LTTng"};
const EventGroup kIrq{"irq",
                      {Kind::kIrqEntry, Kind::kIrqExit},
                      Extra::kNone,
                      "irq_handler_entry,irq_handler_exit",
                      "irq:irq_handler_entry,irq:irq_handler_exit",
                      "",
                      ""};
const EventGroup kSoftIrq{
    "softirq",
    {Kind::kSoftIrqRaise, Kind::kSoftIrqEntry, Kind::kSoftIrqExit},
    Extra::kNone,
    "irq_softirq_raise,irq_softirq_entry,irq_softirq_exit",
    "irq:softirq_raise,irq:softirq_entry,irq:softirq_exit",
    "",
    ""};
const EventGroup kHrtimer{
    "hrtimer",
    {Kind::kHrtimerEntry, Kind::kHrtimerExit},
    Extra::kNone,
    "timer_hrtimer_expire_entry,timer_hrtimer_expire_exit",
    "timer:hrtimer_expire_entry,timer:hrtimer_expire_exit",
    "",
    ""};
const EventGroup kBlock{"block",
                        {Kind::kBlockComplete},
                        Extra::kNone,
                        "block_rq_complete",
                        "block:block_rq_complete",
                        "",
                        ""};
const EventGroup kSyscalls{"system calls",
                           {Kind::kSyscallEntry, Kind::kSyscallExit},
                           Extra::kNone,
                           "--syscall --all",
                           "raw_syscalls:sys_enter,raw_syscalls:sys_exit",
                           "",
                           ""};
const EventGroup kKvm{"kvm entry/exit",
                      {Kind::kKvmEntry, Kind::kKvmExit},
                      Extra::kNone,
                      "kvm_x86_entry,kvm_x86_exit",
                      "kvm:kvm_entry,kvm:kvm_exit",
                      "the KVM probe (lttng-probe-kvm-x86 of lttng-modules) "
                      "and KVM in use",
                      "the kvm module loaded"};
const EventGroup kVirq{"kvm_inj_virq/kvm_apic_accept_irq",
                       {Kind::kKvmInjVirq, Kind::kKvmAcceptIrq},
                       Extra::kNone,
                       "kvm_x86_inj_virq,kvm_x86_apic_accept_irq",
                       "kvm:kvm_inj_virq,kvm:kvm_apic_accept_irq",
                       "lttng-probe-kvm-x86",
                       "the kvm module loaded"};
const EventGroup kKvmPid{"pid context on KVM events",
                         {Kind::kKvmEntry, Kind::kKvmExit},
                         Extra::kKvmPid,
                         "--type=pid --type=tid --type=procname",
                         "",
                         "",
                         "perf_pid is written by perf data convert"};
const EventGroup kEnterGuest{
    "addons_vcpu_enter_guest",
    {Kind::kEnterGuest},
    Extra::kGuestCr3,
    "addons_vcpu_enter_guest",
    "",
    "the lttng-probe-addons module (the DORSAL lab's addons, `vm` branch "
    "of Nemati/lttng-modules, ported to lttng-modules 2.13 and built "
    "against the host's kernel: docs/recording.md)",
    "perf cannot record the guest CR3 on a stock kernel (docs/recording.md): "
    "record with LTTng and the lttng-probe-addons module"};
const EventGroup kNet{"net_dev_queue/netif_receive_skb",
                      {Kind::kNetSend, Kind::kNetRecv},
                      Extra::kNone,
                      "net_dev_queue,netif_receive_skb",
                      "net:net_dev_queue,net:netif_receive_skb",
                      "",
                      ""};
const EventGroup kNetTcp{
    "TCP headers in net_dev_queue/netif_receive_skb",
    {Kind::kNetSend, Kind::kNetRecv},
    Extra::kTcpFields,
    "net_dev_queue,netif_receive_skb",
    "",
    "lttng-modules 2.8 or later (their network events carry the TCP header)",
    "perf's network events carry no TCP header: record with LTTng"};

}  // namespace

const std::vector<const EventGroup*>& EventGroups() {
  static const std::vector<const EventGroup*> groups = {
      &kSchedSwitch, &kWakeup,  &kLifetimes,  &kStatedump, &kIrq,
      &kSoftIrq,     &kHrtimer, &kBlock,      &kSyscalls,  &kKvm,
      &kVirq,        &kKvmPid,  &kEnterGuest, &kNet,       &kNetTcp};
  return groups;
}

const std::vector<AnalysisSpec>& Analyses() {
  static const std::vector<AnalysisSpec> analyses = {
      {"kernel",
       "Kernel model",
       "Thread Status, Resources, CPU Usage",
       {{&kSchedSwitch, true, "no thread or CPU states at all"},
        {&kWakeup, false,
         "threads waiting for a CPU are not told apart from blocked ones"},
        {&kLifetimes, false,
         "threads appear only when they run; names only from sched_switch"},
        {&kStatedump, false,
         "threads that never run during the trace stay unnamed"},
        {&kIrq, false, "no IRQ states in Resources"},
        {&kSoftIrq, false, "no soft IRQ states in Resources"},
        {&kSyscalls, false,
         "no SYSCALL state in Thread Status (system calls show as running)"}}},
      {"vm",
       "VM analyses",
       "Virtual CPUs, VM Exits, VM Wait, vCPU Usage, Preemptions",
       {{&kKvm, true, "no VM views"},
        {&kVirq, false,
         "why a vCPU woke (interrupt, IPI, timer vector) is not labelled"},
        {&kKvmPid, false,
         "which QEMU process (VM) emitted each KVM event is guessed from "
         "the CPU's current thread"},
        {&kSchedSwitch, false, "vCPU preemptions by host threads are not seen"},
        {&kWakeup, false, "vCPU wake-ups are not attributed"}}},
      {"guest_processes",
       "Guest processes",
       "Virtual Processes, guest critical paths",
       {{&kKvm, true, "no VM views"},
        {&kEnterGuest, true,
         "no guest processes (the guest CR3 at each VM entry); vCPUs and VMs "
         "are still shown"}}},
      {"critical_path",
       "Critical path",
       "Critical Path and its breakdown",
       {{&kSchedSwitch, true, "no execution graph"},
        {&kWakeup, true, "who woke whom is unknown: no critical path"},
        {&kKvm, true, "the critical path is built for KVM hosts only"},
        {&kVirq, false, "vCPU wake-ups by interrupts are unlabelled"},
        {&kIrq, false, "waits ended by an interrupt are unlabelled"},
        {&kSoftIrq, false, "network and timer wake-ups are unlabelled"},
        {&kHrtimer, false, "timer waits are shown as unknown"},
        {&kBlock, false, "disk waits are shown as unknown"},
        {&kNet, false, "network waits are unlabelled"},
        {&kStatedump, false, "threads that never run stay unnamed"}}},
      {"clock_sync",
       "Clock sync",
       "one clock for several hosts (critical path across hosts)",
       {{&kNetTcp, true, "the hosts' clocks cannot be aligned"}},
       true},
  };
  return analyses;
}

}  // namespace vmtrace::check
