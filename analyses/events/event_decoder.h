// EventDecoder: turns each ctf::Event of an experiment into a TypedEvent,
// once, for every analysis of the pass (the kernel, VM, graph and sync
// modules consume the records, never ctf::Event).
//
// Each event class is resolved once, when the decoder is built (the
// resolvers of kernel_events.h, kvm_events.h, tcp_events.h), so decoding an
// event is one lookup, a few indexed reads and the current-thread tracker
// (thread_tracker.h). Not thread-safe: one decoder per pass, fed in rank
// order; the records it makes may be read on any thread while it lives.
#ifndef VMTRACE_ANALYSES_EVENTS_EVENT_DECODER_H_
#define VMTRACE_ANALYSES_EVENTS_EVENT_DECODER_H_

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/events/class_layout.h"
#include "analyses/events/string_pool.h"
#include "analyses/events/thread_tracker.h"
#include "analyses/events/typed_event.h"

namespace vmtrace::events {

// The name analyses give a trace's host: the env `hostname`, else the trace
// directory's name.
std::string HostName(const ctf::Trace& trace);

// Hosts of `traces`, deduplicated in first-seen order, and the host index of
// each trace (TypedEvent::host).
struct HostMap {
  std::vector<std::string> names;
  std::vector<uint32_t> of_trace;
};
HostMap MapHosts(const std::vector<std::shared_ptr<const ctf::Trace>>& traces);

// What one class of events decodes to (tests and tools).
ClassLayout ResolveClass(const ctf::EventClass& cls);

class EventDecoder {
 public:
  // `traces` are the experiment's CTF traces, in the order the reader's
  // Event::trace_index indexes them.
  explicit EventDecoder(
      const std::vector<std::shared_ptr<const ctf::Trace>>& traces);

  void Decode(const ctf::Event& ev, TypedEvent* out);

  const HostMap& hosts() const { return hosts_; }

 private:
  const ClassLayout& Layout(const ctf::EventClass* cls);

  HostMap hosts_;
  // Node-based: records point at a layout's syscall name.
  std::unordered_map<const ctf::EventClass*, ClassLayout> layouts_;
  const ctf::EventClass* last_cls_ = nullptr;
  const ClassLayout* last_layout_ = nullptr;
  StringPool pool_;
  CurrentThreads threads_;
};

}  // namespace vmtrace::events

#endif  // VMTRACE_ANALYSES_EVENTS_EVENT_DECODER_H_
