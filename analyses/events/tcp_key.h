// The key Trace Compass matches TCP packets on: (seq, ack_seq, flags).
#ifndef VMTRACE_ANALYSES_EVENTS_TCP_KEY_H_
#define VMTRACE_ANALYSES_EVENTS_TCP_KEY_H_

#include <cstddef>
#include <cstdint>
#include <tuple>

namespace vmtrace::events {

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

}  // namespace vmtrace::events

#endif  // VMTRACE_ANALYSES_EVENTS_TCP_KEY_H_
