#include "analyses/kernel/kernel_model.h"

#include <filesystem>
#include <map>

namespace vmtrace::kernel {
namespace {

using storage::StateValue;

// prev_state: 0 is TASK_RUNNING (preempted, still runnable). Newer kernels
// report a preemption as TASK_REPORT_MAX (0x100), which the low byte masks.
bool Runnable(int64_t prev_state) { return (prev_state & 0xff) == 0; }

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

std::string_view Text(const ctf::Event& ev, int idx) {
  const ctf::Value* v = ev.field(idx);
  return v && v->kind == ctf::Value::kString ? v->s : std::string_view();
}

int64_t Int(const ctf::Event& ev, int idx, int64_t fallback = -1) {
  const ctf::Value* v = ev.field(idx);
  if (!v ||
      (v->kind != ctf::Value::kSigned && v->kind != ctf::Value::kUnsigned)) {
    return fallback;
  }
  return v->AsInt();
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
    : w_(writer) {
  std::map<std::string, size_t> by_name;
  for (const auto& t : traces) {
    std::string host = t->info().hostname;
    if (host.empty()) {
      host = std::filesystem::path(t->info().path).filename().string();
    }
    auto [it, inserted] = by_name.emplace(host, host_threads_.size());
    if (inserted) {
      storage::Quark h = w_->GetOrAdd(storage::kRootQuark, host);
      host_quarks_.push_back(h);
      host_last_.push_back(-1);
      host_threads_.push_back(w_->GetOrAdd(h, "Threads"));
      host_cpus_.push_back(w_->GetOrAdd(h, "CPUs"));
    }
    trace_host_index_.push_back(it->second);
    trace_hosts_.push_back(host);
    for (const ctf::EventClass* cls : t->event_classes()) {
      layouts_.emplace(cls, ResolveLayout(*cls));
    }
  }
}

const EventLayout& KernelModel::Layout(const ctf::EventClass* cls) {
  auto it = layouts_.find(cls);
  if (it != layouts_.end()) return it->second;
  return layouts_.emplace(cls, ResolveLayout(*cls)).first->second;
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
    std::string name = tid == 0 ? "0_" + std::to_string(cpu < 0 ? 0 : cpu)
                                : std::to_string(tid);
    th.status = w_->GetOrAdd(host_threads_[host], name);
    th.exec = w_->GetOrAdd(th.status, "Exec_name");
    th.pid = w_->GetOrAdd(th.status, "PID");
    th.ppid = w_->GetOrAdd(th.status, "PPID");
    th.prio = w_->GetOrAdd(th.status, "Prio");
    th.syscall = w_->GetOrAdd(th.status, "System_call");
    th.cpu = w_->GetOrAdd(th.status, "CPU");
    if (tid == 0) {
      w_->Set(first_ts_, th.pid, StateValue::Int(0));
      w_->Set(first_ts_, th.exec,
              StateValue::Str("swapper/" + std::to_string(cpu < 0 ? 0 : cpu)));
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
    c.current = w_->GetOrAdd(c.status, "Current_thread");
    c.irqs = w_->GetOrAdd(c.status, "IRQs");
    c.softirqs = w_->GetOrAdd(c.status, "Soft_IRQs");
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

void KernelModel::Refresh(int64_t t, size_t host, int64_t cpu_id, Cpu& cpu) {
  const bool interrupted = cpu.irq_depth > 0 || cpu.softirq_depth > 0;
  Thread* th = cpu.current_tid >= 0 ? &GetThread(host, cpu.current_tid, cpu_id)
                                    : nullptr;
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
  } else if (cpu.current_tid == 0) {
    cs = kCpuIdle;
  } else {
    cs = th->in_syscall ? kCpuRunSyscall : kCpuRunUsermode;
  }
  w_->Set(t, cpu.status, StateValue::Int(cs));
  if (th && cpu.current_tid != 0) {
    int64_t ts = interrupted ? kInterrupted
                             : (th->in_syscall ? kRunSyscall : kRunUsermode);
    w_->Set(t, th->status, StateValue::Int(ts));
  }
}

int64_t KernelModel::CpuOf(const ctf::Event& ev, const EventLayout& l) {
  if (ev.cpu >= 0) return ev.cpu;
  return Int(ev, l.perf_cpu, -1);
}

void KernelModel::OnEvent(const ctf::Event& ev) {
  if (!seen_event_) {
    first_ts_ = ev.timestamp;
    seen_event_ = true;
  }
  const EventLayout& l = Layout(ev.cls);
  const size_t host = trace_host_index_[ev.trace_index];
  const int64_t t = ev.timestamp;
  host_last_[host] = t;
  const int64_t cpu_id = CpuOf(ev, l);
  if (cpu_id < 0 && l.kind != EventKind::kStatedumpProcess &&
      l.kind != EventKind::kIgnored) {
    ++stats_.events_without_cpu;
    return;
  }
  // Before the first sched_switch of a CPU, the tid context (when the
  // trace has it) tells which thread runs there.
  if (cpu_id >= 0 && l.ctx_tid >= 0 && l.kind != EventKind::kIgnored) {
    Cpu& cpu = GetCpu(host, cpu_id);
    if (cpu.current_tid < 0) {
      cpu.current_tid = Int(ev, l.ctx_tid);
      if (cpu.current_tid >= 0) {
        Thread& th = GetThread(host, cpu.current_tid, cpu_id);
        th.running = true;
        w_->Set(t, cpu.current, StateValue::Int(cpu.current_tid));
        SetExec(t, th, Text(ev, l.ctx_procname));
      }
    }
  }
  switch (l.kind) {
    case EventKind::kIgnored:
      return;
    case EventKind::kSchedSwitch:
      OnSchedSwitch(ev, l, host, cpu_id);
      break;
    case EventKind::kSchedWakeup:
      OnWakeup(ev, l, host, cpu_id);
      break;
    case EventKind::kProcessFork:
      OnFork(ev, l, host, cpu_id);
      break;
    case EventKind::kProcessExit: {
      Thread& th = GetThread(host, Int(ev, l.tid), cpu_id);
      th.exited = true;
      break;
    }
    case EventKind::kProcessFree: {
      int64_t tid = Int(ev, l.tid);
      if (tid > 0) {
        Thread& th = GetThread(host, tid, cpu_id);
        if (!th.running) w_->Set(t, th.status, StateValue::Null());
      }
      break;
    }
    case EventKind::kProcessExec: {
      int64_t tid = Int(ev, l.tid);
      if (tid < 0) {
        Cpu& cpu = GetCpu(host, cpu_id);
        tid = cpu.current_tid;
      }
      if (tid >= 0) {
        std::string_view f = Text(ev, l.filename);
        if (auto slash = f.rfind('/'); slash != std::string_view::npos) {
          f = f.substr(slash + 1);
        }
        SetExec(t, GetThread(host, tid, cpu_id), f);
      }
      break;
    }
    case EventKind::kStatedumpProcess:
      OnStatedump(ev, l, host);
      break;
    case EventKind::kIrqEntry: {
      Cpu& cpu = GetCpu(host, cpu_id);
      int64_t irq = Int(ev, l.irq, 0);
      ++cpu.irq_depth;
      w_->Set(t, w_->GetOrAdd(cpu.irqs, std::to_string(irq)),
              StateValue::Int(1));
      Refresh(t, host, cpu_id, cpu);
      break;
    }
    case EventKind::kIrqExit: {
      Cpu& cpu = GetCpu(host, cpu_id);
      int64_t irq = Int(ev, l.irq, 0);
      storage::Quark q = w_->GetOrAdd(cpu.irqs, std::to_string(irq));
      if (cpu.irq_depth == 0 || w_->Current(q).is_null()) {
        ++stats_.unmatched_irq_exits;
      } else {
        --cpu.irq_depth;
      }
      w_->Set(t, q, StateValue::Null());
      Refresh(t, host, cpu_id, cpu);
      break;
    }
    case EventKind::kSoftIrqRaise: {
      Cpu& cpu = GetCpu(host, cpu_id);
      storage::Quark q =
          w_->GetOrAdd(cpu.softirqs, std::to_string(Int(ev, l.vec, 0)));
      if (w_->Current(q).is_null())
        w_->Set(t, q, StateValue::Int(kSoftIrqRaised));
      break;
    }
    case EventKind::kSoftIrqEntry: {
      Cpu& cpu = GetCpu(host, cpu_id);
      ++cpu.softirq_depth;
      w_->Set(t, w_->GetOrAdd(cpu.softirqs, std::to_string(Int(ev, l.vec, 0))),
              StateValue::Int(kSoftIrqActive));
      Refresh(t, host, cpu_id, cpu);
      break;
    }
    case EventKind::kSoftIrqExit: {
      Cpu& cpu = GetCpu(host, cpu_id);
      storage::Quark q =
          w_->GetOrAdd(cpu.softirqs, std::to_string(Int(ev, l.vec, 0)));
      if (cpu.softirq_depth == 0) {
        ++stats_.unmatched_softirq_exits;
      } else {
        --cpu.softirq_depth;
      }
      w_->Set(t, q, StateValue::Null());
      Refresh(t, host, cpu_id, cpu);
      break;
    }
    case EventKind::kSyscallEntry:
    case EventKind::kSyscallExit: {
      Cpu& cpu = GetCpu(host, cpu_id);
      if (cpu.current_tid <= 0) break;  // unknown thread or idle
      Thread& th = GetThread(host, cpu.current_tid, cpu_id);
      th.in_syscall = l.kind == EventKind::kSyscallEntry;
      w_->Set(t, th.syscall,
              th.in_syscall ? StateValue::Str(l.syscall) : StateValue::Null());
      Refresh(t, host, cpu_id, cpu);
      break;
    }
  }
  ++stats_.events_handled;
}

void KernelModel::OnSchedSwitch(const ctf::Event& ev, const EventLayout& l,
                                size_t host, int64_t cpu_id) {
  const int64_t t = ev.timestamp;
  Cpu& cpu = GetCpu(host, cpu_id);
  int64_t prev_tid = Int(ev, l.prev_tid);
  int64_t next_tid = Int(ev, l.next_tid);
  if (cpu.current_tid >= 0 && cpu.current_tid != prev_tid) {
    ++stats_.switch_out_mismatches;
  }
  Thread& prev = GetThread(host, prev_tid, cpu_id);
  SetExec(t, prev, Text(ev, l.prev_comm));
  prev.running = false;
  if (prev_tid != 0) {
    int64_t state = Int(ev, l.prev_state, 0);
    StateValue v;
    if (prev.exited) {
      v = StateValue::Null();  // its last switch-out: the thread is gone
    } else {
      v = StateValue::Int(Runnable(state) ? kWaitForCpu : kWaitBlocked);
    }
    w_->Set(t, prev.status, v);
    w_->Set(t, prev.cpu, StateValue::Null());
    if (l.prev_prio >= 0)
      w_->Set(t, prev.prio, StateValue::Int(Int(ev, l.prev_prio)));
  } else {
    w_->Set(t, prev.status, StateValue::Null());
  }

  Thread& next = GetThread(host, next_tid, cpu_id);
  SetExec(t, next, Text(ev, l.next_comm));
  next.running = true;
  cpu.current_tid = next_tid;
  w_->Set(t, cpu.current, StateValue::Int(next_tid));
  if (next_tid != 0) {
    w_->Set(t, next.cpu, StateValue::Int(cpu_id));
    if (l.next_prio >= 0)
      w_->Set(t, next.prio, StateValue::Int(Int(ev, l.next_prio)));
  }
  Refresh(t, host, cpu_id, cpu);
}

void KernelModel::OnWakeup(const ctf::Event& ev, const EventLayout& l,
                           size_t host, int64_t cpu_id) {
  int64_t tid = Int(ev, l.tid);
  if (tid <= 0) return;
  Thread& th = GetThread(host, tid, cpu_id);
  SetExec(ev.timestamp, th, Text(ev, l.comm));
  if (th.running) return;  // a spurious wake-up of a running thread
  const StateValue& cur = w_->Current(th.status);
  if (cur.is_null() || cur.i == kWaitBlocked || cur.i == kWaitFork ||
      cur.i == kThreadUnknown || cur.i == kWaitUnknown) {
    w_->Set(ev.timestamp, th.status, StateValue::Int(kWaitForCpu));
  }
  if (l.prio >= 0) {
    w_->Set(ev.timestamp, th.prio, StateValue::Int(Int(ev, l.prio)));
  }
}

void KernelModel::OnFork(const ctf::Event& ev, const EventLayout& l,
                         size_t host, int64_t cpu_id) {
  const int64_t t = ev.timestamp;
  int64_t child = Int(ev, l.child_tid);
  if (child <= 0) return;
  Thread& th = GetThread(host, child, cpu_id);
  int64_t pid = l.child_pid >= 0 ? Int(ev, l.child_pid) : child;
  w_->Set(t, th.pid, StateValue::Int(pid));
  if (l.parent_pid >= 0) {
    // A new process's parent is the forking process; a new thread's
    // "parent" is its own process (as Trace Compass shows it).
    int64_t parent = Int(ev, l.parent_pid);
    w_->Set(t, th.ppid, StateValue::Int(pid == child ? parent : pid));
  }
  SetExec(t, th, Text(ev, l.child_comm));
  th.exited = false;
  w_->Set(t, th.status, StateValue::Int(kWaitFork));
}

void KernelModel::OnStatedump(const ctf::Event& ev, const EventLayout& l,
                              size_t host) {
  int64_t tid = Int(ev, l.tid);
  if (tid <= 0) return;
  Thread& th = GetThread(host, tid, -1);
  // The statedump describes threads as they were before tracing started;
  // it never overrides what the trace itself already showed.
  int64_t from = first_ts_;
  if (w_->Current(th.pid).is_null()) {
    w_->Set(from, th.pid, StateValue::Int(Int(ev, l.pid, tid)));
  }
  if (l.ppid >= 0 && w_->Current(th.ppid).is_null()) {
    w_->Set(from, th.ppid, StateValue::Int(Int(ev, l.ppid)));
  }
  if (!th.has_exec) SetExec(from, th, Text(ev, l.comm));
  if (w_->Current(th.status).is_null() && !th.running) {
    w_->Set(from, th.status,
            StateValue::Int(
                StatedumpStatus(Int(ev, l.status, 0), Int(ev, l.mode, 0))));
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
