// EventLayout: what each event class means to the kernel model, whatever the
// tracer's naming scheme (lttng-modules 2.1 to 2.13, perf-converted CTF).
//
// Resolved once per event class before the pass, so the per-event dispatch
// is one hash lookup and the handlers read fields by index.
#ifndef VMTRACE_ANALYSES_KERNEL_EVENT_LAYOUT_H_
#define VMTRACE_ANALYSES_KERNEL_EVENT_LAYOUT_H_

#include <string>

#include "analyses/ctf/reader.h"

namespace vmtrace::kernel {

enum class EventKind : uint8_t {
  kIgnored,
  kSchedSwitch,
  kSchedWakeup,  // sched_waking, sched_wakeup, sched_wakeup_new
  kProcessFork,
  kProcessExit,
  kProcessFree,
  kProcessExec,
  kStatedumpProcess,
  kIrqEntry,
  kIrqExit,
  kSoftIrqRaise,
  kSoftIrqEntry,
  kSoftIrqExit,
  kSyscallEntry,
  kSyscallExit,
};

// Field indices of an event class (-1 when absent); which ones are set
// depends on the kind.
struct EventLayout {
  EventKind kind = EventKind::kIgnored;
  std::string syscall;  // kSyscallEntry: the syscall name ("openat")
  // sched_switch
  int prev_tid = -1, prev_state = -1, prev_comm = -1, prev_prio = -1;
  int next_tid = -1, next_comm = -1, next_prio = -1;
  // wakeup, exit, free, exec, statedump: the subject thread
  int tid = -1, prio = -1, comm = -1;
  // fork
  int parent_pid = -1, child_tid = -1, child_pid = -1, child_comm = -1;
  // statedump
  int pid = -1, ppid = -1, status = -1, mode = -1;
  // exec
  int filename = -1;
  // irq / softirq
  int irq = -1, vec = -1;
  // contexts (the thread that emitted the event), and perf's cpu field
  int ctx_tid = -1, ctx_pid = -1, ctx_procname = -1, perf_cpu = -1;
};

// Classifies `cls` and resolves its fields. Payload fields are looked up in
// the payload scope only: sched_wakeup's "tid" is the woken thread, while a
// "tid" context is the waker.
EventLayout ResolveLayout(const ctf::EventClass& cls);

// Index of the payload field `name` (-1 if absent).
int PayloadIndex(const ctf::EventClass& cls, std::string_view name);

}  // namespace vmtrace::kernel

#endif  // VMTRACE_ANALYSES_KERNEL_EVENT_LAYOUT_H_
