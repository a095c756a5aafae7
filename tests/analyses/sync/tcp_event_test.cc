// TcpEventDecoder (analyses/sync/tcp_event.h): sides by event name, keys
// from flat payload fields (lttng addons inet_sock_local_*, perf
// conversions) and from lttng-modules 2.13's nested header, which the
// reader hands over as one formatted compound value.
#include "analyses/sync/tcp_event.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vmtrace::sync {
namespace {

ctf::EventClass Class(const std::string& name,
                      const std::vector<std::string>& payload) {
  ctf::EventClass c;
  c.name_ = c.raw_name_ = name;
  c.fields_.push_back({"cpu_id", ctf::Scope::kStreamEventContext});
  for (const auto& f : payload) c.fields_.push_back({f, ctf::Scope::kPayload});
  return c;
}

ctf::Value Unsigned(uint64_t v) {
  ctf::Value x;
  x.kind = ctf::Value::kUnsigned;
  x.hex = true;
  x.u = v;
  return x;
}

ctf::Value Text(std::string_view s) {
  ctf::Value x;
  x.kind = ctf::Value::kArray;  // what the reader gives for a compound
  x.s = s;
  return x;
}

ctf::Event EventOf(const ctf::EventClass& c, const std::vector<ctf::Value>& v) {
  ctf::Event e;
  e.cls = &c;
  e.values = v.data();
  e.value_count = v.size();
  return e;
}

constexpr char kTcpHeader[] =
    "{ version = 4, ihl = 5, tos = 0, tot_len = 468, id = 0x3E8, frag_off = "
    "16384, ttl = 64, protocol = ( \"_tcp\" : container = 6 ), checksum = "
    "0x0, saddr = [ 10, 0, 0, 10 ], daddr = [ 10, 0, 1, 10 ], "
    "transport_header_type = ( \"_tcp\" : container = 1 ), transport_header "
    "= { source_port = 40000, dest_port = 8080, seq = 16778216, ack_seq = "
    "33559432, data_offset = 5, reserved = 0, flags = 0x18, window_size = "
    "502, checksum = 0x0, urg_ptr = 0 } }";

TEST(TcpEventTest, SidesByName) {
  TcpEventDecoder d;
  const std::vector<std::string> none;
  auto c1 = Class("net_dev_queue", none),
       c2 = Class("inet_sock_local_out", none),
       c3 = Class("net_if_receive_skb", none),
       c4 = Class("netif_receive_skb", none),
       c5 = Class("inet_sock_local_in", none), c6 = Class("sched_switch", none);
  EXPECT_EQ(d.SideOf(&c1), TcpSide::kSend);
  EXPECT_EQ(d.SideOf(&c2), TcpSide::kSend);
  EXPECT_EQ(d.SideOf(&c3), TcpSide::kReceive);
  EXPECT_EQ(d.SideOf(&c4), TcpSide::kReceive);
  EXPECT_EQ(d.SideOf(&c5), TcpSide::kReceive);
  EXPECT_EQ(d.SideOf(&c6), TcpSide::kNone);
  // A class of another name is never decoded.
  std::vector<ctf::Value> v = {Unsigned(0)};
  TcpKey k;
  EXPECT_FALSE(d.Decode(EventOf(c6, v), &k));
}

TEST(TcpEventTest, FlatFields) {
  // lttng addons' inet_sock_local_out: sk, seq, ack_seq, check, window,
  // flags (all hex integers).
  auto c = Class("inet_sock_local_out",
                 {"sk", "seq", "ack_seq", "check", "window", "flags"});
  std::vector<ctf::Value> v = {Unsigned(0),          Unsigned(0xffff88001d51),
                               Unsigned(0x14FB353E), Unsigned(0xD2C7148B),
                               Unsigned(0x8ECA),     Unsigned(0x295),
                               Unsigned(0x1808)};
  TcpEventDecoder d;
  TcpKey k;
  ASSERT_TRUE(d.Decode(EventOf(c, v), &k));
  EXPECT_EQ(k.seq, 0x14FB353Eu);
  EXPECT_EQ(k.ack_seq, 0xD2C7148Bu);
  EXPECT_EQ(k.flags, 0x1808);
  // A field that did not decode (kNone) is not a key.
  v[3] = ctf::Value();
  EXPECT_FALSE(d.Decode(EventOf(c, v), &k));
}

TEST(TcpEventTest, NestedHeader) {
  auto c = Class("net_dev_queue", {"skbaddr", "len", "name",
                                   "network_header_type", "network_header"});
  std::vector<ctf::Value> v = {Unsigned(0),   Unsigned(0xFFFF88830003E800),
                               Unsigned(468), Text("eth0"),
                               Unsigned(1),   Text(kTcpHeader)};
  TcpEventDecoder d;
  TcpKey k;
  ASSERT_TRUE(d.Decode(EventOf(c, v), &k));
  EXPECT_EQ(k.seq, 16778216u);
  EXPECT_EQ(k.ack_seq, 33559432u);
  EXPECT_EQ(k.flags, 0x18);
  EXPECT_EQ(k, (TcpKey{16778216u, 33559432u, 0x18}));

  // Not TCP: no header, an empty one, an IPv4 header without TCP.
  v[5] = Text("{ }");
  EXPECT_FALSE(d.Decode(EventOf(c, v), &k));
  v[5] = ctf::Value();
  EXPECT_FALSE(d.Decode(EventOf(c, v), &k));
  v[5] = Text(
      "{ version = 4, ihl = 5, id = 0x3E8, transport_header_type = ( "
      "\"_unknown\" : container = 0 ), transport_header = { } }");
  EXPECT_FALSE(d.Decode(EventOf(c, v), &k));
}

TEST(TcpEventTest, KeysAreOrderedAndHashed) {
  TcpKey a{1, 2, 3}, b{1, 2, 4}, c{1, 2, 3};
  EXPECT_TRUE(a < b);
  EXPECT_FALSE(b < a);
  EXPECT_TRUE(a == c);
  EXPECT_EQ(TcpKeyHash()(a), TcpKeyHash()(c));
}

}  // namespace
}  // namespace vmtrace::sync
