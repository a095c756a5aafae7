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
// header) is not a TCP packet: its record says decoded = false.
#ifndef VMTRACE_ANALYSES_EVENTS_TCP_EVENTS_H_
#define VMTRACE_ANALYSES_EVENTS_TCP_EVENTS_H_

#include "analyses/ctf/reader.h"
#include "analyses/events/class_layout.h"
#include "analyses/events/tcp_key.h"
#include "analyses/events/typed_event.h"

namespace vmtrace::events {

// The side of a packet event of that name (kNone for any other name).
TcpSide TcpSideOfName(std::string_view name);

// Fills `l` if `cls` is a TCP packet event; false otherwise.
bool ResolveTcpClass(const ctf::EventClass& cls, ClassLayout* l);

// The key of a send/receive event of layout `l`; false if it carries no
// TCP header.
bool DecodeTcpKey(const ctf::Event& ev, const ClassLayout& l, TcpKey* key);

}  // namespace vmtrace::events

#endif  // VMTRACE_ANALYSES_EVENTS_TCP_EVENTS_H_
