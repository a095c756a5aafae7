#include "analyses/kernel/kernel_model.h"

#include <filesystem>
#include <map>

#include "analyses/events/kernel_events.h"

namespace vmtrace::kernel {
namespace {

using storage::StateValue;

using events::Has;
using events::Kind;
using events::Or;

// lttng_statedump_process_state.status (enum lttng_process_status).
int64_t StatedumpStatus(int64_t status, int64_t mode) {
  switch (status) {
    case 1:
      return kWaitFork;
    case 2:
      return kWaitForCpu;
    case 5:
      return kWaitBlocked;
    case 6:
      return mode == 1 ? kRunSyscall : kRunUsermode;
    default:
      return kWaitUnknown;
  }
}

}  // namespace

const char* ThreadStatusName(int64_t s) {
  switch (s) {
    case kThreadUnknown:
      return "UNKNOWN";
    case kWaitBlocked:
      return "WAIT_BLOCKED";
    case kRunUsermode:
      return "RUN_USERMODE";
    case kRunSyscall:
      return "RUN_SYSCALL";
    case kInterrupted:
      return "INTERRUPTED";
    case kWaitForCpu:
      return "WAIT_FOR_CPU";
    case kWaitUnknown:
      return "WAIT_UNKNOWN";
    case kWaitFork:
      return "WAIT_FORK";
  }
  return "UNKNOWN";
}

const char* CpuStatusName(int64_t s) {
  switch (s) {
    case kCpuIdle:
      return "IDLE";
    case kCpuRunUsermode:
      return "RUN_USERMODE";
    case kCpuRunSyscall:
      return "RUN_SYSCALL";
    case kCpuIrq:
      return "IRQ";
    case kCpuSoftIrq:
      return "SOFT_IRQ";
  }
  return "UNKNOWN";
}

KernelModel::KernelModel(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
    storage::StateWriter* writer)
    : w_(writer), traces_(traces) {
  const events::HostMap hosts = events::MapHosts(traces);
  for (const std::string& host : hosts.names) {
    storage::Quark h = w_->GetOrAdd(storage::kRootQuark, host);
    host_quarks_.push_back(h);
    host_last_.push_back(-1);
    host_threads_.push_back(w_->GetOrAdd(h, kThreads));
    host_cpus_.push_back(w_->GetOrAdd(h, kCpus));
  }
  for (uint32_t h : hosts.of_trace) trace_hosts_.push_back(hosts.names[h]);
}

KernelModel::Thread& KernelModel::GetThread(size_t host, int64_t tid,
                                            int64_t cpu) {
  // Each CPU has its own idle thread, all with tid 0.
  uint64_t key = tid == 0
                     ? (uint64_t(host) << 40) | (uint64_t(1) << 39) |
                           uint64_t(cpu & 0xffffff)
                     : (uint64_t(host) << 40) | uint64_t(tid & 0x7fffffffff);
  auto [it, inserted] = threads_.try_emplace(key);
  Thread& th = it->second;
  if (inserted) {
    std::string name = tid == 0
                           ? kIdlePrefix + std::to_string(cpu < 0 ? 0 : cpu)
                           : std::to_string(tid);
    th.status = w_->GetOrAdd(host_threads_[host], name);
    th.exec = w_->GetOrAdd(th.status, kExecName);
    th.pid = w_->GetOrAdd(th.status, kPid);
    th.ppid = w_->GetOrAdd(th.status, kPpid);
    th.prio = w_->GetOrAdd(th.status, kPrio);
    th.syscall = w_->GetOrAdd(th.status, kSystemCall);
    th.cpu = w_->GetOrAdd(th.status, kThreadCpu);
    if (tid == 0) {
      w_->Set(first_ts_, th.pid, StateValue::Int(0));
      w_->Set(
          first_ts_, th.exec,
          StateValue::Str(kSwapperPrefix + std::to_string(cpu < 0 ? 0 : cpu)));
      th.has_exec = true;
    }
  }
  return th;
}

KernelModel::Cpu& KernelModel::GetCpu(size_t host, int64_t cpu) {
  uint64_t key = (uint64_t(host) << 32) | uint64_t(cpu & 0xffffffff);
  auto [it, inserted] = cpus_.try_emplace(key);
  Cpu& c = it->second;
  if (inserted) {
    c.status = w_->GetOrAdd(host_cpus_[host], std::to_string(cpu));
    c.current = w_->GetOrAdd(c.status, kCurrentThread);
    c.irqs = w_->GetOrAdd(c.status, kIrqs);
    c.softirqs = w_->GetOrAdd(c.status, kSoftIrqs);
  }
  return c;
}

void KernelModel::SetExec(int64_t t, Thread& th, std::string_view name) {
  if (name.empty()) return;
  if (!th.has_exec || w_->Current(th.exec).s != name) {
    // A thread first named here was named so since the trace began.
    w_->Set(th.has_exec ? t : first_ts_, th.exec,
            StateValue::Str(std::string(name)));
    th.has_exec = true;
  }
}

void KernelModel::Refresh(int64_t t, size_t host, int64_t cpu_id, Cpu& cpu,
                          int64_t current) {
  const bool interrupted = cpu.irq_depth > 0 || cpu.softirq_depth > 0;
  Thread* th = current >= 0 ? &GetThread(host, current, cpu_id) : nullptr;
  int64_t cs;
  if (cpu.irq_depth > 0) {
    cs = kCpuIrq;
  } else if (cpu.softirq_depth > 0) {
    cs = kCpuSoftIrq;
  } else if (!th) {
    // Thread not known yet (an IRQ before the CPU's first sched_switch):
    // once the handler exits, the CPU's status is unknown again.
    w_->Set(t, cpu.status, StateValue::Null());
    return;
  } else if (current == 0) {
    cs = kCpuIdle;
  } else {
    cs = th->in_syscall ? kCpuRunSyscall : kCpuRunUsermode;
  }
  w_->Set(t, cpu.status, StateValue::Int(cs));
  if (th && current != 0) {
    int64_t ts = interrupted ? kInterrupted
                             : (th->in_syscall ? kRunSyscall : kRunUsermode);
    w_->Set(t, th->status, StateValue::Int(ts));
  }
}

void KernelModel::OnEvent(const ctf::Event& ev) {
  if (!own_decoder_)
    own_decoder_ = std::make_unique<events::EventDecoder>(traces_);
  events::TypedEvent rec;
  own_decoder_->Decode(ev, &rec);
  OnEvent(rec);
}

void KernelModel::OnEvent(const Ev& ev) {
  if (!seen_event_) {
    first_ts_ = ev.ts;
    seen_event_ = true;
  }
  host_last_[ev.host] = ev.ts;
  if (!events::IsKernelKind(ev.kind)) return;
  if (ev.cpu < 0 && ev.kind != Kind::kStatedumpProcess) {
    ++stats_.events_without_cpu;
    return;
  }
  // The CPU's attributes exist from its first event with a tid context.
  if (ev.cpu >= 0 && Has(ev.ctx_tid)) GetCpu(ev.host, ev.cpu);
  if (ev.cur_from_context) OnCurrentFromContext(ev);
  switch (ev.kind) {
    case Kind::kSchedSwitch:
      OnSchedSwitch(ev);
      break;
    case Kind::kSchedWakeup:
    case Kind::kSchedWakeupNew:
      OnWakeup(ev);
      break;
    case Kind::kProcessFork:
      OnFork(ev);
      break;
    case Kind::kProcessExit:
      OnProcessExit(ev);
      break;
    case Kind::kProcessFree:
      OnProcessFree(ev);
      break;
    case Kind::kProcessExec:
      OnProcessExec(ev);
      break;
    case Kind::kStatedumpProcess:
      OnStatedump(ev);
      break;
    case Kind::kIrqEntry:
      OnIrqEntry(ev);
      break;
    case Kind::kIrqExit:
      OnIrqExit(ev);
      break;
    case Kind::kSoftIrqRaise:
      OnSoftIrqRaise(ev);
      break;
    case Kind::kSoftIrqEntry:
      OnSoftIrqEntry(ev);
      break;
    case Kind::kSoftIrqExit:
      OnSoftIrqExit(ev);
      break;
    case Kind::kSyscallEntry:
    case Kind::kSyscallExit:
      OnSyscall(ev);
      break;
    default:
      break;
  }
  ++stats_.events_handled;
}

// Before the first sched_switch of a CPU, the tid context (when the trace
// has it) tells which thread runs there.
void KernelModel::OnCurrentFromContext(const Ev& ev) {
  Cpu& cpu = GetCpu(ev.host, ev.cpu);
  Thread& th = GetThread(ev.host, ev.cur_tid, ev.cpu);
  th.running = true;
  w_->Set(ev.ts, cpu.current, StateValue::Int(ev.cur_tid));
  SetExec(ev.ts, th, ev.ctx_procname.view());
}

void KernelModel::OnProcessExit(const Ev& ev) {
  Thread& th = GetThread(ev.host, Or(ev.process.tid, -1), ev.cpu);
  th.exited = true;
}

void KernelModel::OnProcessFree(const Ev& ev) {
  const int64_t tid = Or(ev.process.tid, -1);
  if (tid <= 0) return;
  Thread& th = GetThread(ev.host, tid, ev.cpu);
  if (!th.running) w_->Set(ev.ts, th.status, StateValue::Null());
}

void KernelModel::OnProcessExec(const Ev& ev) {
  int64_t tid = Or(ev.process.tid, -1);
  if (tid < 0) {
    GetCpu(ev.host, ev.cpu);
    tid = ev.cur_tid;
  }
  if (tid < 0) return;
  std::string_view f = ev.process.filename.view();
  if (auto slash = f.rfind('/'); slash != std::string_view::npos) {
    f = f.substr(slash + 1);
  }
  SetExec(ev.ts, GetThread(ev.host, tid, ev.cpu), f);
}

void KernelModel::OnIrqEntry(const Ev& ev) {
  Cpu& cpu = GetCpu(ev.host, ev.cpu);
  ++cpu.irq_depth;
  w_->Set(ev.ts, w_->GetOrAdd(cpu.irqs, std::to_string(Or(ev.irq.number, 0))),
          StateValue::Int(1));
  Refresh(ev.ts, ev.host, ev.cpu, cpu, ev.cur_tid);
}

void KernelModel::OnIrqExit(const Ev& ev) {
  Cpu& cpu = GetCpu(ev.host, ev.cpu);
  storage::Quark q =
      w_->GetOrAdd(cpu.irqs, std::to_string(Or(ev.irq.number, 0)));
  if (cpu.irq_depth == 0 || w_->Current(q).is_null()) {
    ++stats_.unmatched_irq_exits;
  } else {
    --cpu.irq_depth;
  }
  w_->Set(ev.ts, q, StateValue::Null());
  Refresh(ev.ts, ev.host, ev.cpu, cpu, ev.cur_tid);
}

void KernelModel::OnSoftIrqRaise(const Ev& ev) {
  Cpu& cpu = GetCpu(ev.host, ev.cpu);
  storage::Quark q =
      w_->GetOrAdd(cpu.softirqs, std::to_string(Or(ev.irq.number, 0)));
  if (w_->Current(q).is_null()) {
    w_->Set(ev.ts, q, StateValue::Int(kSoftIrqRaised));
  }
}

void KernelModel::OnSoftIrqEntry(const Ev& ev) {
  Cpu& cpu = GetCpu(ev.host, ev.cpu);
  ++cpu.softirq_depth;
  w_->Set(ev.ts,
          w_->GetOrAdd(cpu.softirqs, std::to_string(Or(ev.irq.number, 0))),
          StateValue::Int(kSoftIrqActive));
  Refresh(ev.ts, ev.host, ev.cpu, cpu, ev.cur_tid);
}

void KernelModel::OnSoftIrqExit(const Ev& ev) {
  Cpu& cpu = GetCpu(ev.host, ev.cpu);
  storage::Quark q =
      w_->GetOrAdd(cpu.softirqs, std::to_string(Or(ev.irq.number, 0)));
  if (cpu.softirq_depth == 0) {
    ++stats_.unmatched_softirq_exits;
  } else {
    --cpu.softirq_depth;
  }
  w_->Set(ev.ts, q, StateValue::Null());
  Refresh(ev.ts, ev.host, ev.cpu, cpu, ev.cur_tid);
}

// Syscall events apply to the CPU's current thread (unknown or idle: none).
void KernelModel::OnSyscall(const Ev& ev) {
  Cpu& cpu = GetCpu(ev.host, ev.cpu);
  if (ev.cur_tid <= 0) return;
  Thread& th = GetThread(ev.host, ev.cur_tid, ev.cpu);
  th.in_syscall = ev.kind == Kind::kSyscallEntry;
  w_->Set(ev.ts, th.syscall,
          th.in_syscall ? StateValue::Str(std::string(ev.syscall.name.view()))
                        : StateValue::Null());
  Refresh(ev.ts, ev.host, ev.cpu, cpu, ev.cur_tid);
}

void KernelModel::OnSchedSwitch(const Ev& ev) {
  const events::SchedSwitch& s = ev.sched_switch;
  const int64_t t = ev.ts;
  const size_t host = ev.host;
  const int64_t cpu_id = ev.cpu;
  Cpu& cpu = GetCpu(host, cpu_id);
  const int64_t prev_tid = Or(s.prev_tid, -1);
  const int64_t next_tid = Or(s.next_tid, -1);
  if (ev.cur_tid >= 0 && ev.cur_tid != prev_tid) {
    ++stats_.switch_out_mismatches;
  }
  Thread& prev = GetThread(host, prev_tid, cpu_id);
  SetExec(t, prev, s.prev_comm.view());
  prev.running = false;
  if (prev_tid != 0) {
    StateValue v;
    if (prev.exited) {
      v = StateValue::Null();  // its last switch-out: the thread is gone
    } else {
      v = StateValue::Int(events::SwitchedOutRunnable(Or(s.prev_state, 0))
                              ? kWaitForCpu
                              : kWaitBlocked);
    }
    w_->Set(t, prev.status, v);
    w_->Set(t, prev.cpu, StateValue::Null());
    if (Has(s.prev_prio)) w_->Set(t, prev.prio, StateValue::Int(s.prev_prio));
  } else {
    w_->Set(t, prev.status, StateValue::Null());
  }

  Thread& next = GetThread(host, next_tid, cpu_id);
  SetExec(t, next, s.next_comm.view());
  next.running = true;
  w_->Set(t, cpu.current, StateValue::Int(next_tid));
  if (next_tid != 0) {
    w_->Set(t, next.cpu, StateValue::Int(cpu_id));
    if (Has(s.next_prio)) w_->Set(t, next.prio, StateValue::Int(s.next_prio));
  }
  Refresh(t, host, cpu_id, cpu, next_tid);
}

void KernelModel::OnWakeup(const Ev& ev) {
  const int64_t tid = Or(ev.wakeup.tid, -1);
  if (tid <= 0) return;
  Thread& th = GetThread(ev.host, tid, ev.cpu);
  SetExec(ev.ts, th, ev.wakeup.comm.view());
  if (th.running) return;  // a spurious wake-up of a running thread
  const StateValue& cur = w_->Current(th.status);
  if (cur.is_null() || cur.i == kWaitBlocked || cur.i == kWaitFork ||
      cur.i == kThreadUnknown || cur.i == kWaitUnknown) {
    w_->Set(ev.ts, th.status, StateValue::Int(kWaitForCpu));
  }
  if (Has(ev.wakeup.prio)) {
    w_->Set(ev.ts, th.prio, StateValue::Int(ev.wakeup.prio));
  }
}

void KernelModel::OnFork(const Ev& ev) {
  const events::Fork& f = ev.fork;
  const int64_t t = ev.ts;
  const int64_t child = Or(f.child_tid, -1);
  if (child <= 0) return;
  Thread& th = GetThread(ev.host, child, ev.cpu);
  const int64_t pid = Or(f.child_pid, child);
  w_->Set(t, th.pid, StateValue::Int(pid));
  if (Has(f.parent_pid)) {
    // A new process's parent is the forking process; a new thread's
    // "parent" is its own process (as Trace Compass shows it).
    w_->Set(t, th.ppid, StateValue::Int(pid == child ? f.parent_pid : pid));
  }
  SetExec(t, th, f.child_comm.view());
  th.exited = false;
  w_->Set(t, th.status, StateValue::Int(kWaitFork));
}

void KernelModel::OnStatedump(const Ev& ev) {
  const events::Statedump& s = ev.statedump;
  const int64_t tid = Or(s.tid, -1);
  if (tid <= 0) return;
  Thread& th = GetThread(ev.host, tid, -1);
  // The statedump describes threads as they were before tracing started;
  // it never overrides what the trace itself already showed.
  const int64_t from = first_ts_;
  if (w_->Current(th.pid).is_null()) {
    w_->Set(from, th.pid, StateValue::Int(Or(s.pid, tid)));
  }
  if (Has(s.ppid) && w_->Current(th.ppid).is_null()) {
    w_->Set(from, th.ppid, StateValue::Int(s.ppid));
  }
  if (!th.has_exec) SetExec(from, th, s.name.view());
  if (w_->Current(th.status).is_null() && !th.running) {
    w_->Set(from, th.status,
            StateValue::Int(StatedumpStatus(Or(s.status, 0), Or(s.mode, 0))));
  }
}

Status KernelModel::Finish(int64_t end_time) {
  // A host whose trace ended earlier: its states end with its last event.
  for (size_t h = 0; h < host_quarks_.size(); ++h) {
    if (host_last_[h] >= 0 && host_last_[h] < end_time) {
      w_->EndSubtree(host_last_[h], host_quarks_[h]);
    }
  }
  return w_->Close(end_time);
}

}  // namespace vmtrace::kernel
