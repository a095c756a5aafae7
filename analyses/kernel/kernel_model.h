// KernelModel: the host kernel's threads and CPUs over time, built from the
// scheduler, interrupt and syscall events in one pass (vm-analyses.md b.4).
//
// State tree written to the StateWriter (one subtree per host, the trace's
// `hostname`, so several hosts never share a key):
//   <host>/Threads/<tid>                ThreadStatus (int)
//   <host>/Threads/<tid>/Exec_name      string
//   <host>/Threads/<tid>/PID, PPID, Prio int
//   <host>/Threads/<tid>/System_call    string while inside a syscall
//   <host>/Threads/<tid>/CPU            CPU it runs on while running
//   <host>/CPUs/<n>                     CpuStatus (int)
//   <host>/CPUs/<n>/Current_thread      tid (int)
//   <host>/CPUs/<n>/IRQs/<irq>          1 while the handler runs
//   <host>/CPUs/<n>/Soft_IRQs/<vec>     kSoftIrqRaised, then kSoftIrqActive
// The idle thread of CPU n (tid 0) is the attribute "0_<n>".
//
// Bad or surprising data (a switch-out of a thread not known to run there,
// an exit of an unknown IRQ) is counted in stats(), never fatal.
//
// Rules (vm-analyses.md b.4) and the choices the digest leaves open, shared
// with the independent oracle tests/analyses/kernel/kernel_oracle.py:
// - An event at t takes effect at t (the state at t is after every event
//   at or before t).
// - Preempted = (prev_state & 0xff) == 0: TASK_RUNNING and the
//   TASK_STATE_MAX / TASK_REPORT_MAX values (0x100..0x1000) kernels report
//   for a preemption; anything else is WAIT_BLOCKED. A thread switched out
//   after its sched_process_exit gets a null status.
// - The in-syscall flag belongs to the thread and survives switches; a
//   thread first seen at a switch-in is not in a syscall. Syscall events
//   apply to the CPU's current thread, and are ignored while it is unknown.
// - An IRQ / soft IRQ exit with no entry on that CPU is ignored. While no
//   thread is known for a CPU and no handler runs, its status is null.
// - A statedump status holds from the trace's first event, for threads
//   whose status is still unknown and that do not run; RUN is RUN_SYSCALL
//   when its mode is 1, the unmapped statuses are WAIT_UNKNOWN.
// - Idle threads ("0_<n>") have no status: they are their CPU's IDLE.
#ifndef VMTRACE_ANALYSES_KERNEL_KERNEL_MODEL_H_
#define VMTRACE_ANALYSES_KERNEL_KERNEL_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/kernel/event_layout.h"
#include "storage/state_history.h"

namespace vmtrace::kernel {

// Values of Threads/<tid> (the Trace Compass numbering).
enum ThreadStatus : int64_t {
  kThreadUnknown = 0,
  kWaitBlocked = 1,
  kRunUsermode = 2,
  kRunSyscall = 3,
  kInterrupted = 4,
  kWaitForCpu = 5,
  kWaitUnknown = 6,
  kWaitFork = 7,
};

// Values of CPUs/<n>.
enum CpuStatus : int64_t {
  kCpuIdle = 0,
  kCpuRunUsermode = 1,
  kCpuRunSyscall = 2,
  kCpuIrq = 3,
  kCpuSoftIrq = 4,
};

inline constexpr int64_t kSoftIrqActive = 1;
inline constexpr int64_t kSoftIrqRaised = 2;

const char* ThreadStatusName(int64_t status);
const char* CpuStatusName(int64_t status);

struct KernelStats {
  uint64_t events_handled = 0;
  uint64_t unmatched_irq_exits = 0;
  uint64_t unmatched_softirq_exits = 0;
  uint64_t switch_out_mismatches = 0;  // prev_tid not the CPU's current
  uint64_t events_without_cpu = 0;
};

class KernelModel {
 public:
  // Bumped whenever what the model writes changes: stored states built by
  // another version are rebuilt.
  static constexpr int kVersion = 3;  // 3: per-host ends

  // `traces` are the experiment's CTF traces (Event::trace_index indexes
  // them); `writer` must outlive the model.
  KernelModel(const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
              storage::StateWriter* writer);

  void OnEvent(const ctf::Event& ev);
  // Closes the history at `end_time`.
  Status Finish(int64_t end_time);

  const KernelStats& stats() const { return stats_; }
  // Host subtree names, one per CTF trace (traces of one host share it).
  const std::vector<std::string>& trace_hosts() const { return trace_hosts_; }

 private:
  struct Thread {
    storage::Quark status = 0, exec = 0, pid = 0, ppid = 0, prio = 0,
                   syscall = 0, cpu = 0;
    bool in_syscall = false;
    bool exited = false;
    bool has_exec = false;
    bool running = false;
  };
  struct Cpu {
    storage::Quark status = 0, current = 0, irqs = 0, softirqs = 0;
    int64_t current_tid = -1;  // -1: not known yet
    int irq_depth = 0;
    int softirq_depth = 0;
  };

  Thread& GetThread(size_t host, int64_t tid, int64_t cpu);
  Cpu& GetCpu(size_t host, int64_t cpu);
  // Recomputes the CPU's status and its current thread's status at t.
  void Refresh(int64_t t, size_t host, int64_t cpu_id, Cpu& cpu);
  void SetExec(int64_t t, Thread& th, std::string_view name);
  const EventLayout& Layout(const ctf::EventClass* cls);
  int64_t CpuOf(const ctf::Event& ev, const EventLayout& l);

  void OnSchedSwitch(const ctf::Event& ev, const EventLayout& l, size_t host,
                     int64_t cpu);
  void OnWakeup(const ctf::Event& ev, const EventLayout& l, size_t host,
                int64_t cpu);
  void OnFork(const ctf::Event& ev, const EventLayout& l, size_t host,
              int64_t cpu);
  void OnStatedump(const ctf::Event& ev, const EventLayout& l, size_t host);

  storage::StateWriter* w_;
  std::vector<size_t> trace_host_index_;  // ctf trace -> host
  std::vector<std::string> trace_hosts_;  // ctf trace -> host name
  std::vector<storage::Quark> host_threads_, host_cpus_, host_quarks_;
  std::vector<int64_t> host_last_;  // last event of each host
  std::unordered_map<const ctf::EventClass*, EventLayout> layouts_;
  std::unordered_map<uint64_t, Thread> threads_;  // (host << 40) | tid key
  std::unordered_map<uint64_t, Cpu> cpus_;        // (host << 32) | cpu
  int64_t first_ts_ = 0;
  bool seen_event_ = false;
  KernelStats stats_;
};

}  // namespace vmtrace::kernel

#endif  // VMTRACE_ANALYSES_KERNEL_KERNEL_MODEL_H_
