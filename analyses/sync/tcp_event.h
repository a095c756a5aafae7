// TCP packet events of a host kernel trace (vm-analyses.md c.5): the send
// side (`net_dev_queue`, `inet_sock_local_out`) and the receive side
// (`net_if_receive_skb`, `netif_receive_skb`, `inet_sock_local_in`), with the
// key Trace Compass matches them on: (seq, ack_seq, flags).
//
// lttng-modules 2.10+ nests the TCP header in variants
// (`network_header` -> `transport_header` -> `tcp`), which the reader hands
// over as one formatted compound value; older layouts and perf conversions
// have flat `seq` / `ack_seq` / `flags` payload fields. Both are read here.
// An event of those names without a TCP header (IPv6, UDP, a truncated
// header) is not a TCP event: Decode() returns false and the caller counts
// it, nothing else.
#ifndef VMTRACE_ANALYSES_SYNC_TCP_EVENT_H_
#define VMTRACE_ANALYSES_SYNC_TCP_EVENT_H_

#include <cstdint>
#include <tuple>
#include <unordered_map>

#include "analyses/ctf/reader.h"

namespace vmtrace::sync {

struct TcpKey {
  uint32_t seq = 0, ack_seq = 0;
  uint16_t flags = 0;
  bool operator==(const TcpKey& o) const {
    return seq == o.seq && ack_seq == o.ack_seq && flags == o.flags;
  }
  bool operator<(const TcpKey& o) const {
    return std::tie(seq, ack_seq, flags) < std::tie(o.seq, o.ack_seq, o.flags);
  }
};

struct TcpKeyHash {
  size_t operator()(const TcpKey& k) const {
    return (static_cast<size_t>(k.seq) * 0x9e3779b97f4a7c15ull) ^
           (static_cast<size_t>(k.ack_seq) << 16) ^ k.flags;
  }
};

enum class TcpSide : uint8_t { kNone, kSend, kReceive };

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
    int seq = -1, ack = -1, flags = -1;  // flat fields
    int header = -1;                     // nested, formatted compound
  };
  const Layout& LayoutOf(const ctf::EventClass* cls);
  std::unordered_map<const ctf::EventClass*, Layout> layouts_;
};

}  // namespace vmtrace::sync

#endif  // VMTRACE_ANALYSES_SYNC_TCP_EVENT_H_
