// SyncModule end to end: the generator's two-hosts-net scenario (host-s's
// clock is host-c's + 2.5 ms) generated at test time for several seeds,
// read in one pass; the recovered correction of host-s at the middle of the
// experiment must be -2.5 ms within 1 us. Also: every generated packet
// decodes and its key is unambiguous, sync.json is reloaded only for the
// same traces, and the real Trace Compass scp traces (flat addons events).
#include "analyses/sync/sync_module.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/events/event_decoder.h"

namespace vmtrace::sync {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kHostSOffset = 2'500'000;  // two-hosts-net.json

struct Traces {
  std::vector<std::shared_ptr<const ctf::Trace>> traces;
  int64_t start = 0, end = 0;
};

Traces OpenAll(const std::vector<std::string>& dirs) {
  Traces t;
  for (const auto& d : dirs) {
    auto tr = ctf::Trace::Open(d);
    EXPECT_TRUE(tr.ok()) << d << ": " << tr.status().ToString();
    if (tr.ok()) t.traces.push_back(*tr);
  }
  return t;
}

// Feeds every event to `m` and finishes it; returns [start, end].
std::pair<int64_t, int64_t> RunPass(const Traces& t, SyncModule* m) {
  auto reader = ctf::EventReader::Open(t.traces);
  EXPECT_TRUE(reader.ok());
  if (!reader.ok()) return {0, 0};
  ctf::Event ev;
  events::EventDecoder decoder(t.traces);
  events::TypedEvent rec;
  int64_t start = 0, end = 0;
  bool first = true;
  while ((*reader)->Next(&ev)) {
    if (first) start = ev.timestamp;
    first = false;
    end = ev.timestamp;
    decoder.Decode(ev, &rec);
    m->OnEvent(rec);
  }
  EXPECT_TRUE(m->Finish(end).ok());
  return {start, end};
}

class SyncModuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = fs::temp_directory_path() /
           ("vmtrace-sync-test-" + std::to_string(getpid()));
    fs::remove_all(out_);
  }
  void TearDown() override { fs::remove_all(out_); }

  // Generates two-hosts-net (with `seed` if not 0) into out_/<name>.
  fs::path Generate(const std::string& name, uint64_t seed) {
    const fs::path dir = out_ / name;
    std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                      VMTRACE_GEN_SCENARIOS + "/two-hosts-net.json --out " +
                      dir.string() + " --no-truth";
    if (seed != 0) cmd += " --seed " + std::to_string(seed);
    cmd += " > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return dir;
  }

  fs::path out_;
};

TEST_F(SyncModuleTest, GeneratedPacketsDecodeAndPairOnce) {
  const fs::path dir = Generate("keys", 0);
  Traces t = OpenAll({(dir / "host-c").string(), (dir / "host-s").string()});
  ASSERT_EQ(t.traces.size(), 2u);
  auto reader = ctf::EventReader::Open(t.traces);
  ASSERT_TRUE(reader.ok());
  TcpEventDecoder dec;
  // key -> events per (trace, side)
  std::map<TcpKey, std::map<std::pair<uint32_t, TcpSide>, int>> seen;
  int packets = 0;
  ctf::Event ev;
  while ((*reader)->Next(&ev)) {
    const TcpSide side = dec.SideOf(ev.cls);
    if (side == TcpSide::kNone) continue;
    ++packets;
    TcpKey k;
    ASSERT_TRUE(dec.Decode(ev, &k))
        << ev.cls->name() << " " << ev.FormatPayload();
    ++seen[k][{ev.trace_index, side}];
  }
  EXPECT_GT(packets, 50);
  int cross = 0;
  for (const auto& [key, by] : seen) {
    for (const auto& [where, n] : by) {
      EXPECT_EQ(n, 1) << "key " << key.seq << "/" << key.ack_seq
                      << " seen twice on one host side";
    }
    // A key shows at most one send and one receive in the experiment.
    int sends = 0, receives = 0;
    for (const auto& [where, n] : by) {
      (where.second == TcpSide::kSend ? sends : receives) += n;
    }
    EXPECT_LE(sends, 1);
    EXPECT_LE(receives, 1);
    if (by.size() == 2 && by.begin()->first.first != by.rbegin()->first.first) {
      ++cross;
    }
  }
  EXPECT_GT(cross, 20) << "request/response packets between the hosts";
}

TEST_F(SyncModuleTest, RecoversTheGeneratedOffsetForSeveralSeeds) {
  for (uint64_t seed : {uint64_t{0}, uint64_t{11}, uint64_t{2024}}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const fs::path dir = Generate("seed" + std::to_string(seed), seed);
    // One experiment trace holding both hosts' CTF traces, in directory
    // order: host-c first, the reference.
    auto dirs = ctf::FindTraces(dir.string());
    ASSERT_TRUE(dirs.ok());
    Traces t = OpenAll(*dirs);
    ASSERT_EQ(SyncModule::HostNames(t.traces),
              (std::vector<std::string>{"host-c", "host-s"}));
    auto m = SyncModule::Open(t.traces, "", "");
    ASSERT_TRUE(m->needs_pass());
    EXPECT_EQ(m->clock_sync(), nullptr);
    auto [start, end] = RunPass(t, m.get());
    ASSERT_TRUE(m->complete());
    const ClockSync* cs = m->clock_sync();
    ASSERT_NE(cs, nullptr);
    ASSERT_EQ(cs->hosts().size(), 2u);
    const HostClock& ref = cs->hosts()[0];
    const HostClock& s = cs->hosts()[1];
    EXPECT_EQ(ref.host, "host-c");
    EXPECT_EQ(ref.quality, "reference");
    EXPECT_EQ(s.host, "host-s");
    EXPECT_EQ(s.quality, "accurate");
    EXPECT_GT(s.pairs, 20u);
    EXPECT_EQ(s.pairs, m->counts().matched);
    EXPECT_EQ(m->counts().undecodable, 0u);
    // host-s time = host-c time + 2.5 ms.
    const int64_t mid = start + (end - start) / 2;
    const int64_t correction = cs->ToReference("host-s", mid) - mid;
    EXPECT_NEAR(static_cast<double>(correction), -kHostSOffset, 1000);
    EXPECT_EQ(cs->FromReference("host-s", cs->ToReference("host-s", mid)), mid);
    // The truth lies within the reported accuracy (the network latency).
    EXPECT_GT(s.accuracy_ns, 50'000);
    EXPECT_LT(s.accuracy_ns, 150'000);
    EXPECT_LE(std::abs(correction + kHostSOffset), s.accuracy_ns);
    std::printf(
        "seed %llu: host-s correction %lld ns (truth -2500000), "
        "accuracy %.0f ns, slope %.17g, %llu messages\n",
        static_cast<unsigned long long>(seed),
        static_cast<long long>(correction), s.accuracy_ns, s.slope,
        static_cast<unsigned long long>(s.pairs));
  }
}

TEST_F(SyncModuleTest, SavedAndReloadedForTheSameTracesOnly) {
  const fs::path dir = Generate("store", 0);
  Traces t = OpenAll({(dir / "host-c").string(), (dir / "host-s").string()});
  const std::string store = (out_ / "exp" / "sync").string();
  auto m = SyncModule::Open(t.traces, store, "fp-1");
  ASSERT_TRUE(m->needs_pass());
  RunPass(t, m.get());
  ASSERT_TRUE(fs::exists(store + "/sync.json"));
  const auto stats = m->Stats();

  auto again = SyncModule::Open(t.traces, store, "fp-1");
  EXPECT_FALSE(again->needs_pass());
  ASSERT_NE(again->clock_sync(), nullptr);
  ASSERT_EQ(again->clock_sync()->hosts().size(), 2u);
  const HostClock& a = m->clock_sync()->hosts()[1];
  const HostClock& b = again->clock_sync()->hosts()[1];
  EXPECT_EQ(a.slope, b.slope);
  EXPECT_EQ(a.offset_ns, b.offset_ns);
  EXPECT_EQ(a.accuracy_ns, b.accuracy_ns);
  EXPECT_EQ(a.quality, b.quality);
  EXPECT_EQ(a.pairs, b.pairs);
  EXPECT_EQ(again->Stats(), stats);

  // Other traces (fingerprint), or a damaged file: computed again.
  EXPECT_TRUE(SyncModule::Open(t.traces, store, "fp-2")->needs_pass());
  {
    std::ofstream f(store + "/sync.json", std::ios::trunc);
    f << "{\"format\": \"vmtrace-sync\", \"version\": 1";
  }
  EXPECT_TRUE(SyncModule::Open(t.traces, store, "fp-1")->needs_pass());
}

TEST_F(SyncModuleTest, StatsNameTheReferenceAndEveryHost) {
  const fs::path dir = Generate("stats", 0);
  Traces t = OpenAll({(dir / "host-c").string(), (dir / "host-s").string()});
  auto m = SyncModule::Open(t.traces, "", "");
  EXPECT_TRUE(m->Stats().empty()) << "nothing before the pass";
  RunPass(t, m.get());
  std::map<std::string, std::string> s;
  for (const auto& [k, v] : m->Stats()) s[k] = v;
  EXPECT_EQ(s["reference"], "host-c");
  EXPECT_EQ(s["method"], "convex hull (fully incremental)");
  EXPECT_EQ(s["host-s.quality"], "accurate");
  EXPECT_EQ(s["host-s.slope"], "1");
  EXPECT_EQ(s["host-s.fit"], "offset");
  EXPECT_NEAR(std::stod(s["host-s.offset_ns"]), -kHostSOffset, 1000);
  EXPECT_GT(std::stod(s["host-s.accuracy_ns"]), 0);
  EXPECT_EQ(s["host-s.pairs"], s["matched_packets"]);
  EXPECT_TRUE(s.count("unmatched_packets"));
  EXPECT_EQ(s["undecodable_packets"], "0");
  EXPECT_FALSE(s.count("host-c.quality")) << "the reference has no entry";
}

TEST_F(SyncModuleTest, SmallPendingMapDropsOldKeysAsUnmatched) {
  const fs::path dir = Generate("bounded", 0);
  Traces t = OpenAll({(dir / "host-c").string(), (dir / "host-s").string()});
  SyncOptions tiny;
  tiny.max_pending_keys = 1;  // a key is forgotten as soon as another comes
  auto m = SyncModule::Open(t.traces, "", "", tiny);
  RunPass(t, m.get());
  auto full = SyncModule::Open(t.traces, "", "");
  RunPass(t, full.get());
  EXPECT_LT(m->counts().matched, full->counts().matched);
  EXPECT_GT(m->counts().unmatched, full->counts().unmatched);
  // Every packet event is accounted for once.
  auto total = [](const SyncCounts& c) {
    return 2 * c.matched + c.unmatched + c.duplicates + c.undecodable;
  };
  EXPECT_EQ(total(m->counts()), total(full->counts()));
}

TEST(SyncModuleRealTest, TraceCompassScpTraces) {
  // Two VMs (VM1 = scp source, VM3 = destination) traced with the lttng
  // addons' inet_sock_local_in/out (flat seq/ack_seq/flags).
  const std::string base =
      std::string(VMTRACE_TEST_DATA) + "/lttng-synctraces-scp/";
  Traces t = OpenAll({base + "scp_src", base + "scp_dest"});
  ASSERT_EQ(SyncModule::HostNames(t.traces),
            (std::vector<std::string>{"VM1", "VM3"}));
  auto m = SyncModule::Open(t.traces, "", "");
  RunPass(t, m.get());
  const ClockSync* cs = m->clock_sync();
  ASSERT_NE(cs, nullptr);
  const HostClock& vm3 = cs->hosts()[1];
  EXPECT_GT(m->counts().matched, 10u);
  EXPECT_EQ(m->counts().undecodable, 0u);
  EXPECT_EQ(vm3.quality, "accurate");
  std::map<std::string, std::string> s;
  for (const auto& [k, v] : m->Stats()) s[k] = v;
  std::printf(
      "scp: VM3 fit %s, slope %.17g, offset %.1f ns, accuracy %.0f "
      "ns, %llu messages, %s unmatched\n",
      s["VM3.fit"].c_str(), vm3.slope, vm3.offset_ns, vm3.accuracy_ns,
      static_cast<unsigned long long>(vm3.pairs),
      s["unmatched_packets"].c_str());
}

}  // namespace
}  // namespace vmtrace::sync
