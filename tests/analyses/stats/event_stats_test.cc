// EventStats (exits and preemptions of any range from stored aggregates) on
// every bundled generator scenario, against the full scans as the oracle:
// - the oracle's events (every exit and preemption over the observed window,
//   with its instant) sum to ExitsByReason / VmPreemptions;
// - the whole window and random ranges (1-ns windows, ranges beyond the
//   trace, inside one chunk, across many chunks) equal the oracle's events
//   happening in the range, from the store, mid-build, and scan-only;
// - the exit counts per bucket equal ExitCounts;
// - a complete store is reused; an interrupted one is rebuilt.
#include "analyses/stats/event_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/vm/vm_model.h"
#include "storage/memory_state_history.h"

namespace vmtrace::stats {
namespace {

namespace fs = std::filesystem;

struct Event {
  uint64_t key;
  int64_t t;
  int64_t ns;
};

struct Scenario {
  std::unique_ptr<storage::MemoryStateHistory> h;
  std::vector<Event> events;  // the oracle's, whole window
  fs::path dir;
  ~Scenario() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

std::unique_ptr<storage::MemoryStateHistory> RunModel(const fs::path& out) {
  std::vector<std::string> dirs;
  for (const auto& e : fs::directory_iterator(out)) {
    if (e.is_directory()) dirs.push_back(e.path().string());
  }
  std::sort(dirs.begin(), dirs.end());
  std::vector<std::shared_ptr<const ctf::Trace>> traces;
  for (const auto& d : dirs) traces.push_back(ctf::Trace::Open(d).value());
  auto h = std::make_unique<storage::MemoryStateHistory>();
  vm::VmModel model(traces, h.get());
  auto reader = ctf::EventReader::Open(traces).value();
  ctf::Event ev;
  int64_t last = 0;
  while (reader->Next(&ev)) {
    model.OnEvent(ev);
    last = ev.timestamp;
  }
  EXPECT_TRUE(model.Finish(last).ok());
  return h;
}

// Every exit and preemption of the window, by the full scans.
std::vector<Event> Oracle(const StateHistory& h) {
  std::vector<Event> out;
  const Window w = ObservedWindow(h);
  for (const VmRef& vm : ListVms(h)) {
    for (const VcpuRef& v : vm.vcpus) {
      auto exits = CollectExits(h, v, w.start, w.end, w);
      EXPECT_TRUE(exits.ok());
      for (const Exit& e : *exits) {
        out.push_back({ExitKey(v.q, e.reason, e.from_l2), e.start, e.ns});
      }
    }
    std::vector<SwitchState> sw;
    auto ps = PreemptionsIn(h, vm, w.start, w.start, w.end, w, &sw);
    EXPECT_TRUE(ps.ok());
    for (const Preemption& p : *ps) {
      out.push_back({PreemptionKey(vm.q, p.kind), p.t, p.ns});
    }
  }
  return out;
}

TallyMap Expected(const std::vector<Event>& events, int64_t a, int64_t b,
                  int kinds = kAllEvents) {
  TallyMap out;
  for (const Event& e : events) {
    const bool want =
        IsExitKey(e.key) ? (kinds & kExits) : (kinds & kPreemptions);
    if (want && e.t >= a && e.t <= b) out[e.key].Add(e.ns);
  }
  return out;
}

Scenario& Load(const std::string& name) {
  static std::map<std::string, Scenario> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  Scenario& s = cache[name];
  s.dir = fs::temp_directory_path() /
          ("vmtrace-evstats-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(s.dir);
  const fs::path out = s.dir / "trace";
  const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                          VMTRACE_GEN_SCENARIOS + "/" + name + ".json --out " +
                          out.string() + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  s.h = RunModel(out);
  s.events = Oracle(*s.h);
  return s;
}

// The ranges every check asks: whole window, outside it, 1 ns at event
// instants and elsewhere, inside one chunk, across many chunks, random.
std::vector<std::pair<int64_t, int64_t>> Ranges(const Scenario& s,
                                                int64_t chunk, uint32_t seed) {
  const Window w = ObservedWindow(*s.h);
  std::vector<std::pair<int64_t, int64_t>> r = {
      {w.start, w.end},
      {INT64_MIN, INT64_MAX},
      {w.start - 1000, w.start - 1},
      {w.end + 1, w.end + 1000000},
      {w.start - 5000, w.start + 5000},
      {w.end - 5000, w.end + 5000},
      {w.start, w.start},
      {w.end, w.end},
  };
  std::mt19937_64 rng(seed);
  auto at = [&] { return w.start + int64_t(rng() % uint64_t(w.length() + 1)); };
  for (int i = 0; i < 40 && !s.events.empty(); ++i) {
    const int64_t t = s.events[rng() % s.events.size()].t;
    r.push_back({t, t});  // 1 ns holding an event
    r.push_back({t + 1, t + 1});
  }
  for (int i = 0; i < 30; ++i) {
    const int64_t t = at();
    r.push_back({t, t});
    if (chunk > 0) {
      const int64_t c0 = t - t % chunk;  // inside one chunk
      r.push_back({c0 + 1, c0 + chunk - 2});
      r.push_back({c0, c0 + chunk - 1});  // exactly one chunk
      r.push_back({c0 - chunk / 2, c0 + 37 * chunk + chunk / 3});  // many
    }
    int64_t a = at(), b = at();
    if (a > b) std::swap(a, b);
    r.push_back({a, b});
  }
  return r;
}

class EventStatsScenario : public testing::TestWithParam<const char*> {};

TEST_P(EventStatsScenario, OracleMatchesTheTables) {
  Scenario& s = Load(GetParam());
  const Window w = ObservedWindow(*s.h);
  ASSERT_GT(w.length(), 0);
  for (const VmRef& vm : ListVms(*s.h)) {
    int64_t total = 0;
    auto by_reason = ExitsByReason(*s.h, vm, w, &total);
    ASSERT_TRUE(by_reason.ok());
    std::map<int64_t, ExitStat> mine;
    for (const Event& e : s.events) {
      if (!IsExitKey(e.key)) continue;
      bool ours = false;
      for (const VcpuRef& v : vm.vcpus) ours |= KeyQuark(e.key) == v.q;
      if (!ours) continue;
      ExitStat& x = mine[KeyReason(e.key)];
      ++x.count;
      x.from_l2 += KeyFromL2(e.key);
      x.total += e.ns;
      x.max = std::max(x.max, e.ns);
    }
    ASSERT_EQ(mine.size(), by_reason->size());
    for (const auto& [r, x] : *by_reason) {
      EXPECT_EQ(mine[r].count, x.count);
      EXPECT_EQ(mine[r].from_l2, x.from_l2);
      EXPECT_EQ(mine[r].total, x.total);
      EXPECT_EQ(mine[r].max, x.max);
    }
    auto pre = VmPreemptions(*s.h, vm, w);
    ASSERT_TRUE(pre.ok());
    const TallyMap ex = Expected(s.events, w.start, w.end, kPreemptions);
    for (int k = 0; k < kPreemptionKinds; ++k) {
      auto it = ex.find(PreemptionKey(vm.q, k));
      const Tally t = it == ex.end() ? Tally{} : it->second;
      EXPECT_EQ(t.count, (*pre)[k].count) << k;
      EXPECT_EQ(t.total, (*pre)[k].total) << k;
      EXPECT_EQ(t.max, (*pre)[k].max) << k;
    }
  }
}

TEST_P(EventStatsScenario, AnyRangeEqualsTheOracle) {
  Scenario& s = Load(GetParam());
  const std::string dir = (s.dir / "store-any").string();
  fs::remove_all(dir);
  EventStats es(s.h.get(), dir, "fp");
  ASSERT_TRUE(es.WaitBuilt(120000)) << es.build_status().ToString();
  EXPECT_FALSE(es.reused());
  EXPECT_GT(es.chunk_ns(), 0);
  EventStats scan(s.h.get(), "", "", false);
  for (const auto& [a, b] : Ranges(s, es.chunk_ns(), 1)) {
    auto got = es.Range(a, b);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, Expected(s.events, a, b)) << a << ".." << b;
    auto exits = es.Range(a, b, kExits);
    ASSERT_TRUE(exits.ok());
    EXPECT_EQ(*exits, Expected(s.events, a, b, kExits)) << a << ".." << b;
  }
  for (const auto& [a, b] : Ranges(s, es.chunk_ns(), 2)) {
    auto got = scan.Range(a, b);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, Expected(s.events, a, b)) << "scan " << a << ".." << b;
  }
}

TEST_P(EventStatsScenario, ExitCountsEqualTheScan) {
  Scenario& s = Load(GetParam());
  const std::string dir = (s.dir / "store-counts").string();
  fs::remove_all(dir);
  EventStats es(s.h.get(), dir, "fp");
  ASSERT_TRUE(es.WaitBuilt(120000));
  const Window w = ObservedWindow(*s.h);
  std::mt19937_64 rng(5);
  for (int n : {2, 3, 50, 1000}) {
    for (int shape = 0; shape < 3; ++shape) {
      // Whole window, a 1% window, a window past both ends.
      int64_t lo = w.start, hi = w.end;
      if (shape == 1) {
        lo = w.start + int64_t(rng() % uint64_t(w.length() / 2 + 1));
        hi = lo + w.length() / 100 + 1;
      } else if (shape == 2) {
        lo = w.start - w.length() / 10;
        hi = w.end + w.length() / 10;
      }
      std::vector<int64_t> times;
      for (int i = 0; i < n; ++i) {
        times.push_back(lo + (hi - lo) * i / std::max(1, n - 1));
      }
      times.erase(std::unique(times.begin(), times.end()), times.end());
      for (const VmRef& vm : ListVms(*s.h)) {
        auto want = ExitCounts(*s.h, vm.vcpus, times);
        auto got = es.ExitCounts(vm.vcpus, times);
        ASSERT_TRUE(want.ok() && got.ok());
        EXPECT_EQ(*got, *want) << n << " samples, shape " << shape;
      }
    }
  }
}

TEST_P(EventStatsScenario, RangesMidBuildEqualTheOracle) {
  Scenario& s = Load(GetParam());
  const std::string dir = (s.dir / "store-mid").string();
  fs::remove_all(dir);
  EventStats es(s.h.get(), dir, "fp", false);
  std::mutex mu;
  std::condition_variable cv;
  int paused = 0;  // 1: the builder waits, 2: released
  int slabs = 0;
  es.set_on_slab([&](int64_t) {
    std::unique_lock<std::mutex> lock(mu);
    if (++slabs != 3 || paused) return;
    paused = 1;
    cv.notify_all();
    cv.wait(lock, [&] { return paused == 2; });
  });
  es.Start();
  {
    std::unique_lock<std::mutex> lock(mu);
    // A scenario shorter than 3 slabs builds without pausing.
    cv.wait_for(lock, std::chrono::seconds(60), [&] { return paused == 1; });
  }
  for (const auto& [a, b] : Ranges(s, es.chunk_ns(), 3)) {
    auto got = es.Range(a, b);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, Expected(s.events, a, b)) << "mid-build " << a << ".." << b;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    paused = 2;
  }
  cv.notify_all();
  ASSERT_TRUE(es.WaitBuilt(120000));
}

TEST_P(EventStatsScenario, CompleteStoreIsReusedInterruptedIsRebuilt) {
  Scenario& s = Load(GetParam());
  const std::string dir = (s.dir / "store-reuse").string();
  fs::remove_all(dir);
  const Window w = ObservedWindow(*s.h);
  const TallyMap whole = Expected(s.events, w.start, w.end);
  {
    EventStats first(s.h.get(), dir, "fp");
    ASSERT_TRUE(first.WaitBuilt(120000));
    EXPECT_FALSE(first.reused());
  }
  {
    EventStats again(s.h.get(), dir, "fp");
    ASSERT_TRUE(again.WaitBuilt(120000));
    EXPECT_TRUE(again.reused());
    auto got = again.Range(w.start, w.end);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, whole);
  }
  {
    // What a build stopped half-way leaves: chunks written, no Close().
    fs::remove_all(dir);
    auto st = storage::TieredStatsStore::Open(
        EventStats::StoreOptions(*s.h, dir, "fp"));
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE((*st)->needs_build());
    const int64_t c = (*st)->ChunkOf(w.start);
    ASSERT_TRUE(
        (*st)->AddChunk(c, {{ExitKey(1, 1, false), {99, 99, 99}}}).ok());
    ASSERT_TRUE((*st)->Publish(c + 1).ok());
  }
  {
    EventStats rebuilt(s.h.get(), dir, "fp");
    ASSERT_TRUE(rebuilt.WaitBuilt(120000));
    EXPECT_FALSE(rebuilt.reused());
    auto got = rebuilt.Range(w.start, w.end);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, whole);
  }
  // Another VM store (fingerprint): rebuilt too.
  EventStats other(s.h.get(), dir, "another vm store");
  ASSERT_TRUE(other.WaitBuilt(120000));
  EXPECT_FALSE(other.reused());
}

// Events at chunk boundaries and one ns either side (chunks are 1024 ns on
// this short window), ranges cut at every one of these instants.
TEST(EventStatsBoundaries, RangesCutAtChunkBoundaries) {
  using namespace vm;  // NOLINT: state values
  storage::MemoryStateHistory h;
  const std::string vm = "h/VMs/1/";
  auto q = [&h](const std::string& path) {
    std::vector<std::string> parts;
    size_t b = 0;
    for (size_t e; (e = path.find('/', b)) != std::string::npos; b = e + 1) {
      parts.push_back(path.substr(b, e - b));
    }
    parts.push_back(path.substr(b));
    std::vector<std::string_view> v(parts.begin(), parts.end());
    return h.GetOrAddPath(v);
  };
  auto I = [](int64_t v) { return storage::StateValue::Int(v); };
  auto S = [](const char* v) { return storage::StateValue::Str(v); };
  const Quark vcpu = q(vm + "vCPUs/0"), exit = q(vm + "vCPUs/0/Exit"),
              cr3 = q(vm + "vCPUs/0/CR3"), pa = q(vm + "Processes/0xa"),
              pb = q(vm + "Processes/0xb"),
              t1 = q(vm + "Processes/0xa/Threads/t1"),
              t2 = q(vm + "Processes/0xa/Threads/t2");
  h.Set(0, vcpu, I(kGuest));
  for (int64_t k = 1; k <= 400; ++k) {
    const int64_t b = k * 1024 + (k % 3) - 1;  // boundary - 1, +0, +1
    h.Set(b, exit, I(k % 5));
    h.Set(b, vcpu, I(kHypervisor));
    h.Set(b + 3, vcpu, I(k % 4 ? kPreemptedHost : kPreemptedVm));
    h.Set(b + 9, vcpu, I(kHypervisor));
    h.Set(b + 11, vcpu, I(kGuest));
    // CR3 switches at boundaries, the displaced process waits.
    h.Set(b + 1024 / 2, cr3, S(k % 2 ? "0xa" : "0xb"));
    h.Set(b + 1024 / 2, k % 2 ? pb : pa, I(kWaitTask));
    h.Set(b + 1024 / 2, k % 2 ? pa : pb, I(kRunning));
    h.Set(b + 1, k % 2 ? t1 : t2, I(kRunning));
    h.Set(b + 1, k % 2 ? t2 : t1, I(kWaitTask));
  }
  ASSERT_TRUE(h.Close(401 * 1024).ok());
  const std::vector<Event> events = Oracle(h);
  ASSERT_GT(events.size(), 1000u);
  const fs::path dir = fs::temp_directory_path() /
                       ("vmtrace-evstats-bounds-" + std::to_string(getpid()));
  fs::remove_all(dir);
  {
    EventStats es(&h, dir.string(), "fp");
    ASSERT_TRUE(es.WaitBuilt(60000));
    ASSERT_EQ(es.chunk_ns(), 1024);
    for (int64_t k : {1, 2, 3, 17, 150}) {
      for (int64_t m : {0, 1, 2, 5, 40, 245}) {
        for (int64_t da = -2; da <= 2; ++da) {
          for (int64_t db = -2; db <= 2; ++db) {
            const int64_t a = k * 1024 + da, b = (k + m) * 1024 + db;
            auto got = es.Range(a, b);
            ASSERT_TRUE(got.ok());
            EXPECT_EQ(*got, Expected(events, a, b)) << a << ".." << b;
          }
        }
      }
    }
    // Exit-rate samples on chunk and sub-chunk (64 ns) boundaries, +-1.
    std::vector<int64_t> times;
    for (int64_t k = 1; k < 80; ++k) {
      for (int64_t j : {0, 1, 7, 15}) {
        for (int64_t d = -1; d <= 1; ++d)
          times.push_back(k * 1024 + j * 64 + d);
      }
    }
    std::sort(times.begin(), times.end());
    times.erase(std::unique(times.begin(), times.end()), times.end());
    const VmRef vm = ListVms(h).at(0);
    auto want = ExitCounts(h, vm.vcpus, times);
    auto got = es.ExitCounts(vm.vcpus, times);
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(*got, *want);
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Bundled, EventStatsScenario,
                         testing::Values("one-vm-mixed", "overcommit-two-vms",
                                         "nested-vm", "two-hosts-net", "demo"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace vmtrace::stats
