// Kernel event classes (scheduler, processes, interrupts, syscalls) whatever
// the tracer's naming scheme (lttng-modules 2.1 to 2.13, perf-converted CTF),
// and the rules every analysis reading them shares.
#ifndef VMTRACE_ANALYSES_EVENTS_KERNEL_EVENTS_H_
#define VMTRACE_ANALYSES_EVENTS_KERNEL_EVENTS_H_

#include "analyses/ctf/reader.h"
#include "analyses/events/class_layout.h"
#include "analyses/events/string_pool.h"
#include "analyses/events/typed_event.h"

namespace vmtrace::events {

// Fills `l` (kind and field indices) if `cls` is a kernel event of
// typed_event.h; false otherwise (`l` untouched).
bool ResolveKernelClass(const ctf::EventClass& cls, ClassLayout* l);

// Decodes the payload of an event whose class ResolveKernelClass accepted.
void DecodeKernelEvent(const ctf::Event& ev, const ClassLayout& l,
                       StringPool* pool, TypedEvent* out);

// sched_switch's prev_state: a thread switched out with 0 (TASK_RUNNING) is
// preempted, still runnable. Newer kernels report a preemption as
// TASK_REPORT_MAX (0x100..0x1000), which the low byte masks; anything else
// is a blocking switch-out.
inline bool SwitchedOutRunnable(int64_t prev_state) {
  return (prev_state & 0xff) == 0;
}

// True for the kinds the kernel model handles (the current-thread tracker
// learns a CPU's thread from the contexts of those events only).
bool IsKernelKind(Kind k);

// Integer and string reads shared by the resolvers: kNoValue when absent or
// not an integer; "" when absent or not a string.
int64_t IntField(const ctf::Event& ev, int index);
std::string_view TextField(const ctf::Event& ev, int index);

}  // namespace vmtrace::events

#endif  // VMTRACE_ANALYSES_EVENTS_KERNEL_EVENTS_H_
