// Kernel model tests on real traces:
// - golden thread and CPU states at chosen times, the goldens made by the
//   independent Python oracle (kernel_oracle.py, from babeltrace2's text
//   output); CMakeLists.txt adds a `kernel_oracle_check.*` test per golden
//   that re-runs the oracle when python3 and babeltrace2 exist, so a golden
//   can't drift from the oracle unnoticed;
// - the sampled states query (store and Thread Status output);
// - store crash handling (cancel mid-pass, drop the kernel store) and
//   partial data while the pass runs.
#include "analyses/kernel/kernel_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/index/experiment_index.h"
#include "analyses/kernel/kernel_module.h"
#include "storage/memory_state_history.h"
#include "tsp/outputs/kernel/kernel_providers.h"

namespace vmtrace::kernel {
namespace {

using nlohmann::json;
using storage::Quark;
using storage::StateHistory;
using storage::StateInterval;

const std::string kData = VMTRACE_TEST_DATA;
const std::string kGolden = VMTRACE_KERNEL_GOLDEN;
const std::string kManyThreads = kData + "/lttng-many-threads-8cpu";

std::string TempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("vmtrace-kernel-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

// Runs the model over the traces into an in-memory history.
std::unique_ptr<storage::MemoryStateHistory> RunModel(
    const std::vector<std::string>& dirs, KernelStats* stats = nullptr) {
  std::vector<std::shared_ptr<const ctf::Trace>> traces;
  for (const auto& d : dirs) traces.push_back(ctf::Trace::Open(d).value());
  auto h = std::make_unique<storage::MemoryStateHistory>();
  KernelModel model(traces, h.get());
  auto reader = ctf::EventReader::Open(traces).value();
  ctf::Event ev;
  int64_t last = 0;
  while (reader->Next(&ev)) {
    model.OnEvent(ev);
    last = ev.timestamp;
  }
  EXPECT_TRUE(model.Finish(last).ok());
  if (stats) *stats = model.stats();
  return h;
}

Quark OnlyHost(const StateHistory& h) {
  auto hosts = h.Children(storage::kRootQuark);
  EXPECT_EQ(hosts.size(), 1u);
  return hosts.empty() ? storage::kRootQuark : hosts[0];
}

// The answer at t in the oracle's shape: statuses of the (non-idle) threads
// that have one; each CPU's status and current thread.
json Answer(const StateHistory& h, Quark host, int64_t t) {
  std::map<Quark, storage::StateValue> at;
  const std::vector<StateInterval> ivs = h.QueryAt(t, host).value();
  for (const StateInterval& iv : ivs) {
    at[iv.quark] = iv.value;
  }
  json threads = json::object();
  if (auto tq = h.Child(host, "Threads")) {
    for (Quark q : h.Children(*tq)) {
      std::string name = h.Name(q);
      if (name.rfind("0_", 0) == 0) continue;
      auto it = at.find(q);
      if (it == at.end() || it->second.is_null()) continue;
      threads[name] = ThreadStatusName(it->second.i);
    }
  }
  json cpus = json::object();
  if (auto cq = h.Child(host, "CPUs")) {
    for (Quark q : h.Children(*cq)) {
      json status = nullptr, thread = nullptr;
      if (auto it = at.find(q); it != at.end() && !it->second.is_null()) {
        status = CpuStatusName(it->second.i);
      }
      if (auto c = h.Child(q, "Current_thread")) {
        if (auto it = at.find(*c); it != at.end() && !it->second.is_null()) {
          thread = it->second.i;
        }
      }
      if (status.is_null() && thread.is_null()) continue;
      cpus[h.Name(q)] = {{"status", status}, {"thread", thread}};
    }
  }
  return {{"t", t}, {"threads", threads}, {"cpus", cpus}};
}

json LoadGolden(const std::string& name) {
  std::ifstream in(kGolden + "/" + name + ".json");
  EXPECT_TRUE(in.good()) << name;
  return json::parse(in);
}

// Human-readable differences between two answers (first few).
std::string Diff(const json& want, const json& got) {
  std::string out;
  int n = 0;
  for (const char* part : {"threads", "cpus"}) {
    std::set<std::string> keys;
    for (auto& [k, v] : want[part].items()) keys.insert(k);
    for (auto& [k, v] : got[part].items()) keys.insert(k);
    for (const auto& k : keys) {
      json a = want[part].contains(k) ? want[part][k] : json();
      json b = got[part].contains(k) ? got[part][k] : json();
      if (a != b && n++ < 10) {
        out += std::string(part) + " " + k + ": oracle " + a.dump() +
               ", model " + b.dump() + "\n";
      }
    }
  }
  return out;
}

struct GoldenCase {
  const char* golden;
  std::vector<std::string> dirs;
};
void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.golden; }

class KernelGoldenTest : public testing::TestWithParam<GoldenCase> {};

TEST_P(KernelGoldenTest, ThreadAndCpuStatesMatchTheOracle) {
  const GoldenCase& c = GetParam();
  KernelStats stats;
  auto h = RunModel(c.dirs, &stats);
  EXPECT_GT(stats.events_handled, 0u);
  EXPECT_EQ(stats.events_without_cpu, 0u);
  json golden = LoadGolden(c.golden);
  const Quark host = OnlyHost(*h);
  EXPECT_EQ(h->Name(host), golden["host"].get<std::string>());
  ASSERT_GE(golden["samples"].size(), 15u);
  size_t threads_seen = 0, cpus_seen = 0;
  for (const json& want : golden["samples"]) {
    const int64_t t = want["t"].get<int64_t>();
    json got = Answer(*h, host, t);
    // (Diff, not the JSON: an answer can list a thousand threads.)
    EXPECT_TRUE(want == got) << c.golden << " at t=" << t << ":\n"
                             << Diff(want, got);
    threads_seen += want["threads"].size();
    cpus_seen += want["cpus"].size();
  }
  // The goldens are not vacuous.
  EXPECT_GT(threads_seen, 10u);
  EXPECT_GT(cpus_seen, 10u);
}

INSTANTIATE_TEST_SUITE_P(
    Traces, KernelGoldenTest,
    testing::Values(GoldenCase{"tracevizlab-simple-kernel-8cpu",
                               {kData + "/tracevizlab-simple-kernel-8cpu"}},
                    GoldenCase{"lttng-many-threads-8cpu", {kManyThreads}},
                    GoldenCase{"lttng-bug446190-4cpu-lttng25",
                               {kData + "/lttng-bug446190-4cpu-lttng25"}},
                    GoldenCase{"perf-kvm-tinyguest-2cpu",
                               {kData + "/perf-kvm-tinyguest-2cpu"}},
                    GoldenCase{"lttng-synctraces-scp-src",
                               {kData + "/lttng-synctraces-scp/scp_src"}},
                    GoldenCase{"babeltrace-tracefile-rotation-4cpu",
                               {kData +
                                "/babeltrace-tracefile-rotation-4cpu/kernel"}}),
    [](const testing::TestParamInfo<GoldenCase>& i) {
      std::string n = i.param.golden;
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

// --- the pass through ExperimentIndex, with the LevelDB kernel store -------

index::IndexOptions KernelOptions(const std::string& exp_dir,
                                  const std::vector<std::string>& dirs,
                                  uint64_t publish_interval) {
  index::IndexOptions o;
  o.publish_interval = publish_interval;
  const std::string fp = index::FingerprintTraces(dirs);
  o.modules = [exp_dir,
               fp](const std::vector<std::shared_ptr<const ctf::Trace>>& t)
      -> StatusOr<std::vector<std::unique_ptr<index::AnalysisModule>>> {
    std::vector<std::unique_ptr<index::AnalysisModule>> mods;
    VMTRACE_ASSIGN_OR_RETURN(auto k,
                             KernelModule::Open(t, exp_dir + "/kernel", fp));
    mods.push_back(std::move(k));
    return mods;
  };
  return o;
}

std::unique_ptr<index::ExperimentIndex> OpenIndex(
    const std::string& exp_dir, const std::string& trace,
    uint64_t publish_interval = 1 << 16) {
  auto idx = index::ExperimentIndex::Open(
      {{trace}}, exp_dir + "/index",
      KernelOptions(exp_dir, {trace}, publish_interval));
  EXPECT_TRUE(idx.ok()) << idx.status().message();
  return std::move(idx).value();
}

const KernelModule& Kernel(const index::ExperimentIndex& idx) {
  return *static_cast<const KernelModule*>(idx.modules().at(0).get());
}

// Every thread-status quark (Threads/<tid>) of the single host.
std::vector<Quark> ThreadQuarks(const StateHistory& h) {
  std::vector<Quark> out;
  for (Quark host : h.Children(storage::kRootQuark)) {
    if (auto tq = h.Child(host, "Threads")) {
      for (Quark q : h.Children(*tq)) out.push_back(q);
    }
  }
  return out;
}

std::vector<int64_t> Samples(int64_t start, int64_t end, int n) {
  std::vector<int64_t> out;
  // 128-bit: early in the pass the history may have no start yet (0), and
  // (end - start) * i then overflows 64 bits.
  for (int i = 0; i < n; ++i) {
    out.push_back(
        start +
        static_cast<int64_t>(static_cast<__int128>(end - start) * i / (n - 1)));
  }
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

using Row = std::tuple<Quark, int64_t, int64_t, int64_t, std::string>;
Row Key(const StateInterval& iv) {
  return {iv.quark, iv.start, iv.end, int64_t(iv.value.kind) << 32 ^ iv.value.i,
          iv.value.s};
}

// Everything the kernel store answers at `times` (full-tree point queries).
std::vector<Row> Fingerprint(const StateHistory& h,
                             const std::vector<int64_t>& times) {
  std::vector<Row> out;
  for (int64_t t : times) {
    const std::vector<StateInterval> ivs = h.QueryAt(t).value();
    for (const auto& iv : ivs) out.push_back(Key(iv));
  }
  return out;
}

bool Covers(const std::vector<int64_t>& times, int64_t s, int64_t e) {
  auto it = std::lower_bound(times.begin(), times.end(), s);
  return it != times.end() && *it <= e;
}

TEST(KernelStatesQuery, SampledQueryAndThreadStatusStatesHonourTheSamples) {
  const std::string dir = TempDir("states");
  const std::string trace = kData + "/tracevizlab-simple-kernel-8cpu";
  auto idx = OpenIndex(dir, trace);
  idx->WaitUntilDone();
  const StateHistory& h = Kernel(*idx).history();
  ASSERT_TRUE(h.complete());
  auto snap = idx->Snapshot();
  // Uneven samples: a dense cluster plus a sparse spread, so that most
  // states fall between two samples.
  std::vector<int64_t> times = Samples(snap.start, snap.end, 97);
  for (int64_t t :
       Samples(snap.start + (snap.end - snap.start) / 3,
               snap.start + (snap.end - snap.start) / 3 + 20000, 40)) {
    times.push_back(t);
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());

  // (1) The store's sampled query.
  const std::vector<Quark> quarks = ThreadQuarks(h);
  ASSERT_GT(quarks.size(), 100u);
  auto sampled = h.QuerySampled(quarks, times).value();
  std::set<std::pair<Quark, int64_t>> seen;
  std::map<Quark, std::vector<StateInterval>> by_quark;
  for (const StateInterval& iv : sampled) {
    EXPECT_LE(iv.start, iv.end);
    EXPECT_TRUE(Covers(times, iv.start, iv.end))
        << "interval [" << iv.start << ", " << iv.end << "] of quark "
        << iv.quark << " contains no sample";
    EXPECT_TRUE(seen.insert({iv.quark, iv.start}).second)
        << "interval returned twice";
    by_quark[iv.quark].push_back(iv);
  }
  EXPECT_LE(sampled.size(), quarks.size() * times.size());
  size_t non_null = 0;
  for (Quark q : quarks) {
    for (int64_t t : times) {
      auto at = h.QueryRange(q, t, t).value();
      if (at.empty()) continue;
      ASSERT_EQ(at.size(), 1u);
      const auto& ivs = by_quark[q];
      bool found = std::any_of(ivs.begin(), ivs.end(), [&](const auto& iv) {
        return Key(iv) == Key(at[0]);
      });
      EXPECT_TRUE(found) << "quark " << q << " at " << t << " not covered";
      if (!at[0].value.is_null()) ++non_null;
    }
  }
  EXPECT_GT(non_null, 1000u);

  // (2) What the Thread Status output returns to a client.
  auto provider = tsp::MakeThreadStatusProvider(&Kernel(*idx));
  auto tree = provider->Tree(snap.start, snap.end).value();
  std::vector<int64_t> items;
  for (const auto& e : tree.entries) items.push_back(e.id);
  auto rows = provider->States(times, items).value();
  EXPECT_FALSE(rows.running);
  size_t states = 0;
  std::set<std::pair<int64_t, int64_t>> returned;
  for (const auto& row : rows.rows) {
    int64_t prev_end = INT64_MIN;
    for (const auto& s : row.states) {
      ++states;
      // A state's end is start + duration (exclusive): the store's
      // inclusive end + 1, so consecutive states touch.
      EXPECT_TRUE(Covers(times, s.start, s.end - 1));
      EXPECT_GE(s.start, prev_end) << "overlapping or repeated state";
      prev_end = s.end;
      EXPECT_TRUE(returned.insert({row.entry_id, s.start}).second);
      // The style is the thread status the store holds there.
      auto at = h.QueryRange(Quark(row.entry_id), s.start, s.start).value();
      ASSERT_EQ(at.size(), 1u);
      EXPECT_EQ(s.end, at[0].end + 1);
      EXPECT_EQ(s.style, std::to_string(at[0].value.i));
    }
  }
  EXPECT_LE(states, items.size() * times.size());
  // Every (thread row, sample) with a status is drawn.
  for (int64_t id : items) {
    if (id <= 0 || id >= int64_t(h.AttributeCount())) continue;
    for (int64_t t : times) {
      auto at = h.QueryRange(Quark(id), t, t).value();
      if (at.empty() || at[0].value.is_null()) continue;
      EXPECT_TRUE(returned.count({id, at[0].start}))
          << "entry " << id << " at " << t << " missing";
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(KernelStore, CancelledPassIsRebuiltWithIdenticalAnswers) {
  const std::string clean_dir = TempDir("clean");
  const std::string dir = TempDir("crash");
  std::vector<int64_t> times;
  std::vector<Row> clean;
  uint64_t nb_events = 0;
  {
    auto idx = OpenIndex(clean_dir, kManyThreads);
    idx->WaitUntilDone();
    auto snap = idx->Snapshot();
    nb_events = snap.nb_events;
    times = Samples(snap.start, snap.end, 40);
    clean = Fingerprint(Kernel(*idx).history(), times);
    ASSERT_GT(clean.size(), 1000u);
  }
  bool was_cancelled = false;
  {
    auto idx = OpenIndex(dir, kManyThreads, /*publish_interval=*/64);
    idx->Cancel();  // usually lands mid-pass; the pass may also have ended
    auto snap = idx->Snapshot();
    was_cancelled = snap.state == index::IndexState::kCancelled ||
                    !Kernel(*idx).history().complete();
  }
  RecordProperty("cancelled_mid_pass", was_cancelled ? "yes" : "no");
  {
    // Restart: an interrupted kernel store is rebuilt.
    auto idx = OpenIndex(dir, kManyThreads);
    if (was_cancelled) {
      EXPECT_TRUE(idx->modules()[0]->needs_pass());
    }
    idx->WaitUntilDone();
    EXPECT_EQ(idx->Snapshot().state, index::IndexState::kCompleted);
    EXPECT_EQ(idx->Snapshot().nb_events, nb_events);
    EXPECT_TRUE(Kernel(*idx).history().complete());
    EXPECT_EQ(Fingerprint(Kernel(*idx).history(), times), clean);
  }
  {
    // Complete now: loaded, not rebuilt.
    auto idx = OpenIndex(dir, kManyThreads);
    EXPECT_TRUE(idx->loaded_from_store());
    EXPECT_FALSE(idx->modules()[0]->needs_pass());
    EXPECT_EQ(Fingerprint(Kernel(*idx).history(), times), clean);
  }
  // Drop only the kernel store: the index is loaded, the kernel store
  // rebuilt by a pass that feeds it alone.
  std::filesystem::remove_all(dir + "/kernel");
  {
    auto idx = OpenIndex(dir, kManyThreads);
    EXPECT_FALSE(idx->loaded_from_store());
    EXPECT_TRUE(idx->modules()[0]->needs_pass());
    auto snap = idx->Snapshot();
    EXPECT_EQ(snap.state, index::IndexState::kCompleted);
    EXPECT_EQ(snap.nb_events, nb_events);
    idx->WaitUntilDone();
    EXPECT_FALSE(idx->Snapshot().analyses_running);
    EXPECT_TRUE(Kernel(*idx).history().complete());
    EXPECT_EQ(Fingerprint(Kernel(*idx).history(), times), clean);
  }
  std::filesystem::remove_all(clean_dir);
  std::filesystem::remove_all(dir);
}

TEST(KernelStore, QueriesDuringThePassReturnConsistentPartialData) {
  const std::string dir = TempDir("partial");
  auto idx = OpenIndex(dir, kManyThreads, /*publish_interval=*/512);
  const StateHistory& h = Kernel(*idx).history();
  std::vector<StateInterval> partial;
  int rounds = 0, running_rounds = 0;
  while (true) {
    const bool running = idx->Snapshot().analyses_running;
    const int64_t start = h.start_time();
    const std::vector<Quark> quarks = ThreadQuarks(h);
    const int64_t probe = h.flushed_until();
    // Samples up to well past what is flushed: open and future intervals
    // must not show.
    std::vector<int64_t> times =
        Samples(start, std::max(probe, start) + 200'000'000, 50);
    auto sampled = h.QuerySampled(quarks, times);
    ASSERT_TRUE(sampled.ok());
    auto at = h.QueryAt(std::max(probe, start));
    ASSERT_TRUE(at.ok());
    const int64_t flushed = h.flushed_until();
    for (const auto* list : {&*sampled, &*at}) {
      for (const StateInterval& iv : *list) {
        EXPECT_LE(iv.end, flushed) << "interval beyond flushed_until";
        if (partial.size() < 200000) partial.push_back(iv);
      }
    }
    ++rounds;
    if (running) ++running_rounds;
    if (!running) break;
  }
  idx->WaitUntilDone();
  ASSERT_TRUE(h.complete());
  // Every partial answer is part of the final history.
  size_t checked = 0;
  for (size_t i = 0; i < partial.size(); i += 1 + partial.size() / 5000) {
    const StateInterval& iv = partial[i];
    auto fin = h.QueryRange(iv.quark, iv.start, iv.start).value();
    ASSERT_EQ(fin.size(), 1u);
    EXPECT_EQ(Key(fin[0]), Key(iv)) << "partial interval changed";
    ++checked;
  }
  EXPECT_GT(rounds, 0);
  // No timing assertion: the pass may be over before the first round.
  RecordProperty("running_rounds", running_rounds);
  RecordProperty("checked_intervals", int(checked));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::kernel
