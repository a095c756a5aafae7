#include "analyses/kernel/event_layout.h"

namespace vmtrace::kernel {
namespace {

int ContextIndex(const ctf::EventClass& cls, std::string_view name) {
  const auto& f = cls.fields();
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i].scope != ctf::Scope::kPayload && f[i].name == name) return int(i);
  }
  return -1;
}

// First payload field among `names` (perf calls thread ids "pid").
int AnyPayload(const ctf::EventClass& cls,
               std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    int i = PayloadIndex(cls, n);
    if (i >= 0) return i;
  }
  return -1;
}

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

}  // namespace

int PayloadIndex(const ctf::EventClass& cls, std::string_view name) {
  const auto& f = cls.fields();
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i].scope == ctf::Scope::kPayload && f[i].name == name) return int(i);
  }
  return -1;
}

EventLayout ResolveLayout(const ctf::EventClass& cls) {
  EventLayout l;
  const std::string& n = cls.name();
  l.ctx_tid = ContextIndex(cls, "tid");
  if (l.ctx_tid < 0) l.ctx_tid = ContextIndex(cls, "perf_tid");
  l.ctx_pid = ContextIndex(cls, "pid");
  if (l.ctx_pid < 0) l.ctx_pid = ContextIndex(cls, "perf_pid");
  l.ctx_procname = ContextIndex(cls, "procname");
  l.perf_cpu = ContextIndex(cls, "perf_cpu");

  if (n == "sched_switch") {
    l.kind = EventKind::kSchedSwitch;
    l.prev_tid = AnyPayload(cls, {"prev_tid", "prev_pid"});
    l.prev_state = PayloadIndex(cls, "prev_state");
    l.prev_comm = PayloadIndex(cls, "prev_comm");
    l.prev_prio = PayloadIndex(cls, "prev_prio");
    l.next_tid = AnyPayload(cls, {"next_tid", "next_pid"});
    l.next_comm = PayloadIndex(cls, "next_comm");
    l.next_prio = PayloadIndex(cls, "next_prio");
    if (l.prev_tid < 0 || l.next_tid < 0) l.kind = EventKind::kIgnored;
  } else if (n == "sched_wakeup" || n == "sched_waking" ||
             n == "sched_wakeup_new") {
    l.kind = EventKind::kSchedWakeup;
    l.tid = AnyPayload(cls, {"tid", "pid"});
    l.prio = PayloadIndex(cls, "prio");
    l.comm = PayloadIndex(cls, "comm");
  } else if (n == "sched_process_fork") {
    l.kind = EventKind::kProcessFork;
    l.parent_pid = AnyPayload(cls, {"parent_pid"});
    l.child_tid = AnyPayload(cls, {"child_tid", "child_pid"});
    l.child_pid = PayloadIndex(cls, "child_pid");
    l.child_comm = PayloadIndex(cls, "child_comm");
  } else if (n == "sched_process_exit") {
    l.kind = EventKind::kProcessExit;
    l.tid = AnyPayload(cls, {"tid", "pid"});
  } else if (n == "sched_process_free") {
    l.kind = EventKind::kProcessFree;
    l.tid = AnyPayload(cls, {"tid", "pid"});
  } else if (n == "sched_process_exec") {
    l.kind = EventKind::kProcessExec;
    l.tid = AnyPayload(cls, {"tid", "pid"});
    l.filename = PayloadIndex(cls, "filename");
  } else if (n == "lttng_statedump_process_state") {
    l.kind = EventKind::kStatedumpProcess;
    l.tid = PayloadIndex(cls, "tid");
    l.pid = PayloadIndex(cls, "pid");
    l.ppid = PayloadIndex(cls, "ppid");
    l.comm = PayloadIndex(cls, "name");
    l.status = PayloadIndex(cls, "status");
    l.mode = PayloadIndex(cls, "mode");
  } else if (n == "irq_handler_entry") {
    l.kind = EventKind::kIrqEntry;
    l.irq = PayloadIndex(cls, "irq");
  } else if (n == "irq_handler_exit") {
    l.kind = EventKind::kIrqExit;
    l.irq = PayloadIndex(cls, "irq");
  } else if (n == "irq_softirq_raise" || n == "softirq_raise") {
    l.kind = EventKind::kSoftIrqRaise;
    l.vec = PayloadIndex(cls, "vec");
  } else if (n == "irq_softirq_entry" || n == "softirq_entry") {
    l.kind = EventKind::kSoftIrqEntry;
    l.vec = PayloadIndex(cls, "vec");
  } else if (n == "irq_softirq_exit" || n == "softirq_exit") {
    l.kind = EventKind::kSoftIrqExit;
    l.vec = PayloadIndex(cls, "vec");
  } else if (StartsWith(n, "syscall_entry_") ||
             StartsWith(n, "compat_syscall_entry_")) {
    l.kind = EventKind::kSyscallEntry;
    l.syscall = n.substr(n.find("entry_") + 6);
  } else if (StartsWith(n, "syscall_exit_") ||
             StartsWith(n, "compat_syscall_exit_") || n == "exit_syscall" ||
             StartsWith(n, "sys_exit")) {
    // lttng-modules <= 2.5 has one "exit_syscall"; perf has sys_exit_<name>.
    l.kind = EventKind::kSyscallExit;
  } else if (StartsWith(n, "sys_enter")) {
    // perf: syscalls:sys_enter_<name>, or raw_syscalls:sys_enter (no name;
    // its sys_exit is already an exit above).
    l.kind = EventKind::kSyscallEntry;
    l.syscall = n.size() > 10 ? n.substr(10) : "";
  } else if (StartsWith(n, "sys_")) {
    // lttng-modules <= 2.5 entry names: sys_open, sys_read, ...
    l.kind = EventKind::kSyscallEntry;
    l.syscall = n.substr(4);
  }
  return l;
}

}  // namespace vmtrace::kernel
