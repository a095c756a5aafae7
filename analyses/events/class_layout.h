// ClassLayout: what one event class means and where its fields are, resolved
// once per ctf::EventClass before the pass (the resolvers of
// kernel_events.h, kvm_events.h and tcp_events.h fill it), so decoding an
// event is one lookup and a few indexed reads.
#ifndef VMTRACE_ANALYSES_EVENTS_CLASS_LAYOUT_H_
#define VMTRACE_ANALYSES_EVENTS_CLASS_LAYOUT_H_

#include <initializer_list>
#include <string>
#include <string_view>

#include "analyses/ctf/reader.h"
#include "analyses/events/typed_event.h"

namespace vmtrace::events {

// Field indices into ctf::Event::values (-1 when absent). Which ones are set
// depends on the kind; a..f are the kind's integer payload fields in the
// order its record struct lists them, text0/text1 its strings.
struct ClassLayout {
  Kind kind = Kind::kOther;
  int a = -1, b = -1, c = -1, d = -1, e = -1;
  int text0 = -1, text1 = -1;
  std::string syscall;  // kSyscallEntry: the name, from the class name
  // TCP: flat fields (seq, ack_seq, flags in a, b, c) or the formatted
  // nested header (network_header).
  int tcp_header = -1;
  // Contexts (the emitting thread) and perf's cpu field.
  int ctx_tid = -1, ctx_pid = -1, ctx_procname = -1, perf_cpu = -1;
};

// Index of the payload field `name` (-1 if absent). Payload and context
// scopes are kept apart: sched_wakeup's payload `tid` is the woken thread,
// a `tid` context is the emitting one.
int PayloadIndex(const ctf::EventClass& cls, std::string_view name);
// First payload field among `names` (perf calls thread ids "pid").
int AnyPayload(const ctf::EventClass& cls,
               std::initializer_list<std::string_view> names);
// Index of the context field `name` (-1 if absent).
int ContextIndex(const ctf::EventClass& cls, std::string_view name);

}  // namespace vmtrace::events

#endif  // VMTRACE_ANALYSES_EVENTS_CLASS_LAYOUT_H_
