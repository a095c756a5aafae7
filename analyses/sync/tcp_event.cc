// TCP key extraction from flat fields or the formatted nested header.
#include "analyses/sync/tcp_event.h"

#include <charconv>
#include <string_view>

namespace vmtrace::sync {
namespace {

int Payload(const ctf::EventClass& cls, std::string_view name) {
  const auto& f = cls.fields();
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i].scope == ctf::Scope::kPayload && f[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool IntField(const ctf::Event& ev, int idx, uint64_t* out) {
  const ctf::Value* v = ev.field(idx);
  if (v == nullptr ||
      (v->kind != ctf::Value::kSigned && v->kind != ctf::Value::kUnsigned)) {
    return false;
  }
  *out = static_cast<uint64_t>(v->AsInt());
  return true;
}

// "name = 123" or "name = 0x1A" inside babeltrace-style formatted text. The
// match must start a field (after "{ " or ", ") so that "seq" does not match
// inside "ack_seq".
bool TextField(std::string_view text, std::string_view name, uint64_t* out) {
  size_t pos = 0;
  while ((pos = text.find(name, pos)) != std::string_view::npos) {
    const bool starts = pos >= 2 && (text[pos - 1] == ' ') &&
                        (text[pos - 2] == ',' || text[pos - 2] == '{');
    size_t p = pos + name.size();
    pos = p;
    if (!starts || text.substr(p, 3) != " = ") continue;
    p += 3;
    int base = 10;
    if (text.substr(p, 2) == "0x" || text.substr(p, 2) == "0X") {
      base = 16;
      p += 2;
    }
    const char* b = text.data() + p;
    auto [end, ec] = std::from_chars(b, text.data() + text.size(), *out, base);
    return ec == std::errc() && end != b;
  }
  return false;
}

}  // namespace

const TcpEventDecoder::Layout& TcpEventDecoder::LayoutOf(
    const ctf::EventClass* cls) {
  auto it = layouts_.find(cls);
  if (it != layouts_.end()) return it->second;
  Layout l;
  const std::string& n = cls->name();
  if (n == "net_dev_queue" || n == "inet_sock_local_out") {
    l.side = TcpSide::kSend;
  } else if (n == "net_if_receive_skb" || n == "netif_receive_skb" ||
             n == "inet_sock_local_in") {
    l.side = TcpSide::kReceive;
  }
  if (l.side != TcpSide::kNone) {
    l.seq = Payload(*cls, "seq");
    l.ack = Payload(*cls, "ack_seq");
    l.flags = Payload(*cls, "flags");
    l.header = Payload(*cls, "network_header");
  }
  return layouts_.emplace(cls, l).first->second;
}

TcpSide TcpEventDecoder::SideOf(const ctf::EventClass* cls) {
  return LayoutOf(cls).side;
}

bool TcpEventDecoder::Decode(const ctf::Event& ev, TcpKey* key) {
  const Layout& l = LayoutOf(ev.cls);
  if (l.side == TcpSide::kNone) return false;
  uint64_t seq = 0, ack = 0, flags = 0;
  if (l.seq >= 0 && l.ack >= 0 && l.flags >= 0) {
    if (!IntField(ev, l.seq, &seq) || !IntField(ev, l.ack, &ack) ||
        !IntField(ev, l.flags, &flags)) {
      return false;
    }
  } else {
    const ctf::Value* v = ev.field(l.header);
    if (v == nullptr || v->s.empty()) return false;
    // Only a TCP transport header has these three names.
    if (!TextField(v->s, "seq", &seq) || !TextField(v->s, "ack_seq", &ack) ||
        !TextField(v->s, "flags", &flags)) {
      return false;
    }
  }
  key->seq = static_cast<uint32_t>(seq);
  key->ack_seq = static_cast<uint32_t>(ack);
  key->flags = static_cast<uint16_t>(flags);
  return true;
}

}  // namespace vmtrace::sync
