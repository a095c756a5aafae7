// KernelModel: the host kernel's threads and CPUs over time, built from the
// scheduler, interrupt and syscall events in one pass (vm-analyses.md b.4).
//
// State tree written to the StateWriter: kernel_layout.h (one subtree per
// host). The thread current on each CPU comes from the decoder's tracker
// (events/thread_tracker.h), read through each record's cur_tid.
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
#include "analyses/events/event_decoder.h"
#include "analyses/events/typed_event.h"
#include "analyses/kernel/kernel_layout.h"
#include "storage/state_history.h"

namespace vmtrace::kernel {

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

  // One decoded event, in rank order (the pass).
  void OnEvent(const events::TypedEvent& ev);
  // Decodes `ev` with the model's own decoder first (tests and tools that
  // feed this model alone).
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
    int irq_depth = 0;
    int softirq_depth = 0;
  };

  using Ev = events::TypedEvent;
  Thread& GetThread(size_t host, int64_t tid, int64_t cpu);
  Cpu& GetCpu(size_t host, int64_t cpu);
  // Recomputes the CPU's status and its current thread's status at t;
  // `current` is the thread running there (-1 unknown).
  void Refresh(int64_t t, size_t host, int64_t cpu_id, Cpu& cpu,
               int64_t current);
  void SetExec(int64_t t, Thread& th, std::string_view name);
  // The CPU's thread learnt from the event's tid context.
  void OnCurrentFromContext(const Ev& ev);

  // One handler per event kind.
  void OnSchedSwitch(const Ev& ev);
  void OnWakeup(const Ev& ev);
  void OnFork(const Ev& ev);
  void OnProcessExit(const Ev& ev);
  void OnProcessFree(const Ev& ev);
  void OnProcessExec(const Ev& ev);
  void OnStatedump(const Ev& ev);
  void OnIrqEntry(const Ev& ev);
  void OnIrqExit(const Ev& ev);
  void OnSoftIrqRaise(const Ev& ev);
  void OnSoftIrqEntry(const Ev& ev);
  void OnSoftIrqExit(const Ev& ev);
  void OnSyscall(const Ev& ev);

  storage::StateWriter* w_;
  std::vector<std::string> trace_hosts_;  // ctf trace -> host name
  std::vector<storage::Quark> host_threads_, host_cpus_, host_quarks_;
  std::vector<int64_t> host_last_;  // last event of each host
  std::vector<std::shared_ptr<const ctf::Trace>> traces_;
  std::unique_ptr<events::EventDecoder> own_decoder_;  // OnEvent(ctf::Event)
  std::unordered_map<uint64_t, Thread> threads_;       // (host << 40) | tid key
  std::unordered_map<uint64_t, Cpu> cpus_;             // (host << 32) | cpu
  int64_t first_ts_ = 0;
  bool seen_event_ = false;
  KernelStats stats_;
};

}  // namespace vmtrace::kernel

#endif  // VMTRACE_ANALYSES_KERNEL_KERNEL_MODEL_H_
