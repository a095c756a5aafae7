#include "analyses/sync/tcp_event.h"

#include "analyses/events/tcp_events.h"

namespace vmtrace::sync {

const TcpEventDecoder::Layout& TcpEventDecoder::LayoutOf(
    const ctf::EventClass* cls) {
  auto it = layouts_.find(cls);
  if (it != layouts_.end()) return it->second;
  Layout l;
  if (events::ResolveTcpClass(*cls, &l.fields)) {
    l.side = events::TcpSideOfName(cls->name());
  }
  return layouts_.emplace(cls, l).first->second;
}

TcpSide TcpEventDecoder::SideOf(const ctf::EventClass* cls) {
  return LayoutOf(cls).side;
}

bool TcpEventDecoder::Decode(const ctf::Event& ev, TcpKey* key) {
  const Layout& l = LayoutOf(ev.cls);
  if (l.side == TcpSide::kNone) return false;
  return events::DecodeTcpKey(ev, l.fields, key);
}

}  // namespace vmtrace::sync
