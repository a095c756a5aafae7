// TCP key extraction from flat fields or the formatted nested header.
#include "analyses/events/tcp_events.h"

#include <charconv>
#include <string_view>

namespace vmtrace::events {
namespace {

bool UintField(const ctf::Event& ev, int idx, uint64_t* out) {
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
bool FormattedField(std::string_view text, std::string_view name,
                    uint64_t* out) {
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

TcpSide TcpSideOfName(std::string_view n) {
  if (n == "net_dev_queue" || n == "inet_sock_local_out") return TcpSide::kSend;
  if (n == "net_if_receive_skb" || n == "netif_receive_skb" ||
      n == "inet_sock_local_in") {
    return TcpSide::kReceive;
  }
  return TcpSide::kNone;
}

bool ResolveTcpClass(const ctf::EventClass& cls, ClassLayout* l) {
  const TcpSide side = TcpSideOfName(cls.name());
  if (side == TcpSide::kNone) return false;
  l->kind = side == TcpSide::kSend ? Kind::kNetSend : Kind::kNetRecv;
  l->a = PayloadIndex(cls, "seq");
  l->b = PayloadIndex(cls, "ack_seq");
  l->c = PayloadIndex(cls, "flags");
  l->tcp_header = PayloadIndex(cls, "network_header");
  return true;
}

bool DecodeTcpKey(const ctf::Event& ev, const ClassLayout& l, TcpKey* key) {
  uint64_t seq = 0, ack = 0, flags = 0;
  if (l.a >= 0 && l.b >= 0 && l.c >= 0) {
    if (!UintField(ev, l.a, &seq) || !UintField(ev, l.b, &ack) ||
        !UintField(ev, l.c, &flags)) {
      return false;
    }
  } else {
    const ctf::Value* v = ev.field(l.tcp_header);
    if (v == nullptr || v->s.empty()) return false;
    // Only a TCP transport header has these three names.
    if (!FormattedField(v->s, "seq", &seq) ||
        !FormattedField(v->s, "ack_seq", &ack) ||
        !FormattedField(v->s, "flags", &flags)) {
      return false;
    }
  }
  key->seq = static_cast<uint32_t>(seq);
  key->ack_seq = static_cast<uint32_t>(ack);
  key->flags = static_cast<uint16_t>(flags);
  return true;
}

}  // namespace vmtrace::events
