// TCP packet events of a host kernel trace, read from ctf::Event directly
// (tests and tools; the pass decodes them once, events/tcp_events.h, and
// hands the modules TypedEvent::net). The names, layouts and key are those
// of events/tcp_events.h.
#ifndef VMTRACE_ANALYSES_SYNC_TCP_EVENT_H_
#define VMTRACE_ANALYSES_SYNC_TCP_EVENT_H_

#include <unordered_map>

#include "analyses/ctf/reader.h"
#include "analyses/events/class_layout.h"
#include "analyses/events/tcp_key.h"

namespace vmtrace::sync {

using events::TcpKey;
using events::TcpKeyHash;
using events::TcpSide;

// Per-reader cache of event-class layouts. Not thread-safe; one per pass.
class TcpEventDecoder {
 public:
  // What side `cls` is (kNone for every other event: one hash lookup).
  TcpSide SideOf(const ctf::EventClass* cls);
  // The key of a send/receive event; false if it carries no TCP header.
  bool Decode(const ctf::Event& ev, TcpKey* key);

 private:
  struct Layout {
    TcpSide side = TcpSide::kNone;
    events::ClassLayout fields;
  };
  const Layout& LayoutOf(const ctf::EventClass* cls);
  std::unordered_map<const ctf::EventClass*, Layout> layouts_;
};

}  // namespace vmtrace::sync

#endif  // VMTRACE_ANALYSES_SYNC_TCP_EVENT_H_
