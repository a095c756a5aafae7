#include "analyses/events/kernel_events.h"

namespace vmtrace::events {
namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// sched_* and lttng_statedump_process_state.
bool ResolveSched(const ctf::EventClass& cls, ClassLayout* l) {
  const std::string& n = cls.name();
  if (n == "sched_switch") {
    l->a = AnyPayload(cls, {"prev_tid", "prev_pid"});
    l->b = PayloadIndex(cls, "prev_state");
    l->c = PayloadIndex(cls, "prev_prio");
    l->d = AnyPayload(cls, {"next_tid", "next_pid"});
    l->e = PayloadIndex(cls, "next_prio");
    l->text0 = PayloadIndex(cls, "prev_comm");
    l->text1 = PayloadIndex(cls, "next_comm");
    // Without both thread ids a switch says nothing.
    l->kind = l->a < 0 || l->d < 0 ? Kind::kOther : Kind::kSchedSwitch;
  } else if (n == "sched_wakeup" || n == "sched_waking" ||
             n == "sched_wakeup_new" || n == "sched_ttwu") {
    l->kind = n == "sched_wakeup_new" ? Kind::kSchedWakeupNew
              : n == "sched_ttwu"     ? Kind::kSchedTtwu
                                      : Kind::kSchedWakeup;
    l->a = AnyPayload(cls, {"tid", "pid"});
    l->b = PayloadIndex(cls, "prio");
    l->text0 = PayloadIndex(cls, "comm");
  } else if (n == "sched_process_fork") {
    l->kind = Kind::kProcessFork;
    l->a = PayloadIndex(cls, "parent_pid");
    l->b = AnyPayload(cls, {"child_tid", "child_pid"});
    l->c = PayloadIndex(cls, "child_pid");
    l->text0 = PayloadIndex(cls, "child_comm");
  } else if (n == "sched_process_exit" || n == "sched_process_free" ||
             n == "sched_process_exec") {
    l->kind = n == "sched_process_exit"   ? Kind::kProcessExit
              : n == "sched_process_free" ? Kind::kProcessFree
                                          : Kind::kProcessExec;
    l->a = AnyPayload(cls, {"tid", "pid"});
    if (l->kind == Kind::kProcessExec) {
      l->text0 = PayloadIndex(cls, "filename");
    }
  } else if (n == "lttng_statedump_process_state") {
    l->kind = Kind::kStatedumpProcess;
    l->a = PayloadIndex(cls, "tid");
    l->b = PayloadIndex(cls, "pid");
    l->c = PayloadIndex(cls, "ppid");
    l->d = PayloadIndex(cls, "status");
    l->e = PayloadIndex(cls, "mode");
    l->text0 = PayloadIndex(cls, "name");
  } else {
    return false;
  }
  return true;
}

// irq_*, softirq_*, hrtimer expiry, block completion.
bool ResolveInterrupt(const ctf::EventClass& cls, ClassLayout* l) {
  const std::string& n = cls.name();
  if (n == "irq_handler_entry" || n == "irq_handler_exit") {
    l->kind = n == "irq_handler_entry" ? Kind::kIrqEntry : Kind::kIrqExit;
    l->a = PayloadIndex(cls, "irq");
  } else if (n == "irq_softirq_raise" || n == "softirq_raise") {
    l->kind = Kind::kSoftIrqRaise;
    l->a = PayloadIndex(cls, "vec");
  } else if (n == "irq_softirq_entry" || n == "softirq_entry") {
    l->kind = Kind::kSoftIrqEntry;
    l->a = PayloadIndex(cls, "vec");
  } else if (n == "irq_softirq_exit" || n == "softirq_exit") {
    l->kind = Kind::kSoftIrqExit;
    l->a = PayloadIndex(cls, "vec");
  } else if (n == "timer_hrtimer_expire_entry" || n == "hrtimer_expire_entry") {
    l->kind = Kind::kHrtimerEntry;
  } else if (n == "timer_hrtimer_expire_exit" || n == "hrtimer_expire_exit") {
    l->kind = Kind::kHrtimerExit;
  } else if (n == "block_rq_complete") {
    l->kind = Kind::kBlockComplete;
  } else {
    return false;
  }
  return true;
}

bool ResolveSyscall(const ctf::EventClass& cls, ClassLayout* l) {
  const std::string& n = cls.name();
  if (StartsWith(n, "syscall_entry_") ||
      StartsWith(n, "compat_syscall_entry_")) {
    l->kind = Kind::kSyscallEntry;
    l->syscall = n.substr(n.find("entry_") + 6);
  } else if (StartsWith(n, "syscall_exit_") ||
             StartsWith(n, "compat_syscall_exit_") || n == "exit_syscall" ||
             StartsWith(n, "sys_exit")) {
    // lttng-modules <= 2.5 has one "exit_syscall"; perf has sys_exit_<name>.
    l->kind = Kind::kSyscallExit;
  } else if (StartsWith(n, "sys_enter")) {
    // perf: syscalls:sys_enter_<name>, or raw_syscalls:sys_enter (no name;
    // its sys_exit is already an exit above).
    l->kind = Kind::kSyscallEntry;
    l->syscall = n.size() > 10 ? n.substr(10) : "";
  } else if (StartsWith(n, "sys_")) {
    // lttng-modules <= 2.5 entry names: sys_open, sys_read, ...
    l->kind = Kind::kSyscallEntry;
    l->syscall = n.substr(4);
  } else {
    return false;
  }
  return true;
}

}  // namespace

int64_t IntField(const ctf::Event& ev, int index) {
  const ctf::Value* v = ev.field(index);
  if (!v ||
      (v->kind != ctf::Value::kSigned && v->kind != ctf::Value::kUnsigned)) {
    return kNoValue;
  }
  return v->AsInt();
}

std::string_view TextField(const ctf::Event& ev, int index) {
  const ctf::Value* v = ev.field(index);
  return v && v->kind == ctf::Value::kString ? v->s : std::string_view();
}

bool ResolveKernelClass(const ctf::EventClass& cls, ClassLayout* l) {
  return ResolveSched(cls, l) || ResolveInterrupt(cls, l) ||
         ResolveSyscall(cls, l);
}

bool IsKernelKind(Kind k) {
  switch (k) {
    case Kind::kSchedSwitch:
    case Kind::kSchedWakeup:
    case Kind::kSchedWakeupNew:
    case Kind::kProcessFork:
    case Kind::kProcessExit:
    case Kind::kProcessFree:
    case Kind::kProcessExec:
    case Kind::kStatedumpProcess:
    case Kind::kIrqEntry:
    case Kind::kIrqExit:
    case Kind::kSoftIrqRaise:
    case Kind::kSoftIrqEntry:
    case Kind::kSoftIrqExit:
    case Kind::kSyscallEntry:
    case Kind::kSyscallExit:
      return true;
    default:
      return false;
  }
}

void DecodeKernelEvent(const ctf::Event& ev, const ClassLayout& l,
                       StringPool* pool, TypedEvent* out) {
  auto text = [&](int index, Text* t) {
    pool->Assign(TextField(ev, index), t);
  };
  switch (l.kind) {
    case Kind::kSchedSwitch: {
      SchedSwitch& s = out->sched_switch;
      s.prev_tid = IntField(ev, l.a);
      // A present prev_state that is not an integer reads as 0, as it did.
      s.prev_state = l.b < 0 ? kNoValue : Or(IntField(ev, l.b), 0);
      s.prev_prio = IntField(ev, l.c);
      s.next_tid = IntField(ev, l.d);
      s.next_prio = IntField(ev, l.e);
      text(l.text0, &s.prev_comm);
      text(l.text1, &s.next_comm);
      break;
    }
    case Kind::kSchedWakeup:
    case Kind::kSchedWakeupNew:
    case Kind::kSchedTtwu:
      out->wakeup.tid = IntField(ev, l.a);
      out->wakeup.prio = IntField(ev, l.b);
      text(l.text0, &out->wakeup.comm);
      break;
    case Kind::kProcessFork:
      out->fork.parent_pid = IntField(ev, l.a);
      out->fork.child_tid = IntField(ev, l.b);
      out->fork.child_pid = IntField(ev, l.c);
      text(l.text0, &out->fork.child_comm);
      break;
    case Kind::kProcessExit:
    case Kind::kProcessFree:
    case Kind::kProcessExec:
      out->process.tid = IntField(ev, l.a);
      text(l.text0, &out->process.filename);
      break;
    case Kind::kStatedumpProcess: {
      Statedump& s = out->statedump;
      s.tid = IntField(ev, l.a);
      s.pid = IntField(ev, l.b);
      s.ppid = IntField(ev, l.c);
      s.status = IntField(ev, l.d);
      s.mode = IntField(ev, l.e);
      text(l.text0, &s.name);
      break;
    }
    case Kind::kIrqEntry:
    case Kind::kIrqExit:
    case Kind::kSoftIrqRaise:
    case Kind::kSoftIrqEntry:
    case Kind::kSoftIrqExit:
      out->irq.number = IntField(ev, l.a);
      break;
    case Kind::kSyscallEntry:
      // The resolver's string lives as long as the decoder.
      out->syscall.name.SetExternal(l.syscall);
      break;
    default:
      break;
  }
}

}  // namespace vmtrace::events
