#include "analyses/vm/vm_event_layout.h"

#include <string_view>

#include "analyses/kernel/event_layout.h"

namespace vmtrace::vm {
namespace {

using kernel::PayloadIndex;

int ContextIndex(const ctf::EventClass& cls, std::string_view name) {
  const auto& f = cls.fields();
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i].scope != ctf::Scope::kPayload && f[i].name == name) return int(i);
  }
  return -1;
}

int AnyPayload(const ctf::EventClass& cls,
               std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    int i = PayloadIndex(cls, n);
    if (i >= 0) return i;
  }
  return -1;
}

// "kvm_x86_entry" and "kvm_entry" both give "entry"; anything else "".
std::string_view KvmSuffix(std::string_view n) {
  if (n.substr(0, 8) == "kvm_x86_") return n.substr(8);
  if (n.substr(0, 4) == "kvm_") return n.substr(4);
  return {};
}

}  // namespace

VmEventLayout ResolveVmLayout(const ctf::EventClass& cls) {
  VmEventLayout l;
  const std::string_view n = cls.name();
  l.ctx_tid = ContextIndex(cls, "tid");
  if (l.ctx_tid < 0) l.ctx_tid = ContextIndex(cls, "perf_tid");
  l.ctx_pid = ContextIndex(cls, "pid");
  if (l.ctx_pid < 0) l.ctx_pid = ContextIndex(cls, "perf_pid");
  l.ctx_procname = ContextIndex(cls, "procname");
  l.perf_cpu = ContextIndex(cls, "perf_cpu");

  const std::string_view kvm = KvmSuffix(n);
  if (kvm == "entry") {
    l.kind = VmEventKind::kKvmEntry;
    l.vcpu_id = PayloadIndex(cls, "vcpu_id");
  } else if (kvm == "exit") {
    l.kind = VmEventKind::kKvmExit;
    l.exit_reason = PayloadIndex(cls, "exit_reason");
    l.vcpu_id = PayloadIndex(cls, "vcpu_id");
    if (l.exit_reason < 0) l.kind = VmEventKind::kIgnored;
  } else if (kvm == "inj_virq") {
    l.kind = VmEventKind::kKvmInjVirq;
    l.vector = AnyPayload(cls, {"irq", "vector"});
    if (l.vector < 0) l.kind = VmEventKind::kIgnored;
  } else if (kvm == "apic_accept_irq") {
    l.kind = VmEventKind::kKvmAcceptIrq;
    l.vector = AnyPayload(cls, {"vec", "vector"});
    if (l.vector < 0) l.kind = VmEventKind::kIgnored;
  } else if (n == "addons_vcpu_enter_guest") {
    l.kind = VmEventKind::kEnterGuest;
    l.vcpu_id = PayloadIndex(cls, "vcpuID");
    l.cr3 = PayloadIndex(cls, "cr3tmp");
    l.sp = PayloadIndex(cls, "sptmp");
    l.ip = PayloadIndex(cls, "iptmp");
    if (l.cr3 < 0) l.kind = VmEventKind::kIgnored;
  } else if (n == "sched_switch") {
    l.kind = VmEventKind::kSchedSwitch;
    l.prev_tid = AnyPayload(cls, {"prev_tid", "prev_pid"});
    l.prev_state = PayloadIndex(cls, "prev_state");
    l.prev_comm = PayloadIndex(cls, "prev_comm");
    l.next_tid = AnyPayload(cls, {"next_tid", "next_pid"});
    l.next_comm = PayloadIndex(cls, "next_comm");
    if (l.prev_tid < 0 || l.next_tid < 0) l.kind = VmEventKind::kIgnored;
  } else if (n == "sched_wakeup" || n == "sched_waking") {
    l.kind = VmEventKind::kSchedWakeup;
    l.tid = AnyPayload(cls, {"tid", "pid"});
  } else if (n == "sched_ttwu") {
    l.kind = VmEventKind::kSchedTtwu;
    l.tid = AnyPayload(cls, {"tid", "pid"});
  } else if (n == "lttng_statedump_process_state") {
    l.kind = VmEventKind::kStatedump;
    l.tid = PayloadIndex(cls, "tid");
    l.pid = PayloadIndex(cls, "pid");
    l.name = PayloadIndex(cls, "name");
    if (l.tid < 0) l.kind = VmEventKind::kIgnored;
  }
  return l;
}

}  // namespace vmtrace::vm
