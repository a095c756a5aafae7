// The stored critical path (tsp/outputs/critical_path/path_store.h): a long
// random path written to LevelDB (and to memory), read back after a
// "restart", and sampled exactly as a brute-force search over the path
// says, with replies bounded by rows x samples.
#include "tsp/outputs/critical_path/path_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "tsp/outputs/critical_path/critical_path_internal.h"

namespace vmtrace::tsp {
namespace {

namespace fs = std::filesystem;

graph::WorkerId Worker(int i) {
  graph::WorkerId w;
  w.kind = graph::WorkerId::kGuest;
  w.id = 1000;
  w.cr3 = 0x1000u * uint64_t(i + 1);
  return w;
}

// n contiguous segments over `workers` rows, an arrow at every change of
// row (sometimes two at once).
struct Fixture {
  graph::CriticalPath cp;
  WalkedPath walked;
  Fixture(int n, int workers, uint32_t seed) {
    std::mt19937 rng(seed);
    int64_t t = 1000;
    int cur = 0;
    for (int i = 0; i < n; ++i) {
      const int64_t len = 1 + int64_t(rng() % 50);
      const int next = int(rng() % workers);
      if (i > 0 && next != cur) {
        cp.arrows.push_back({Worker(cur), Worker(next), t, graph::Cause::kIpi});
        if (rng() % 8 == 0) {
          cp.arrows.push_back(
              {Worker(cur), Worker(next), t, graph::Cause::kTimer});
        }
      }
      cur = next;
      cp.segments.push_back(
          {Worker(cur), t, t + len,
           rng() % 2 ? graph::Cause::kRunning : graph::Cause::kPreempted,
           graph::Layer::kL1});
      t += len;
    }
    walked.cp = &cp;
    walked.tree.headers = {"Worker"};
    for (int w = 0; w < workers; ++w) {
      walked.id_of[Worker(w)] = w;
      walked.labels[w] = "worker " + std::to_string(w);
      TreeEntry e;
      e.id = w;
      e.labels = {walked.labels[w]};
      e.has_data = true;
      walked.tree.entries.push_back(e);
    }
    for (const auto& seg : cp.segments) {
      walked.preempters.push_back(seg.cause == graph::Cause::kPreempted
                                      ? (rng() % 2 ? "thread 5" : "VM 7")
                                      : "");
    }
    walked.start = 1000;
    walked.end = t;
  }
};

std::vector<int64_t> Times(int64_t a, int64_t b, int n) {
  std::vector<int64_t> t;
  for (int i = 0; i < n; ++i) t.push_back(a + (b - a) * i / (n - 1));
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

class PathStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vmtrace-path-store-" + std::to_string(getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

void ExpectSampledLikeBruteForce(const Fixture& f, const StoredPath& p,
                                 uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t end = f.walked.end;
  for (int round = 0; round < 20; ++round) {
    int64_t a = 900 + int64_t(rng() % uint64_t(end));
    int64_t b = 900 + int64_t(rng() % uint64_t(end));
    if (a > b) std::swap(a, b);
    if (round == 0) a = 0, b = end + 10;
    const auto times = Times(a, b, 2 + int(rng() % 300));
    auto rows = SampledStates(p, {0, 1, 2, 3, 99}, times);
    ASSERT_TRUE(rows.ok()) << rows.status().message();
    ASSERT_EQ(rows->size(), f.walked.labels.size()) << "99 left out";
    for (const TimeGraphRow& row : *rows) {
      EXPECT_LE(row.states.size(), times.size());
      std::vector<std::tuple<int64_t, int64_t, std::string>> want, got;
      for (const auto& s : f.cp.segments) {
        if (f.walked.id_of.at(s.worker) != row.entry_id) continue;
        for (int64_t t : times) {
          if (s.start <= t && t < s.end) {
            want.emplace_back(s.start, s.end, graph::CauseName(s.cause));
            break;
          }
        }
      }
      for (const auto& s : row.states)
        got.emplace_back(s.start, s.end, s.style);
      EXPECT_EQ(want, got) << "row " << row.entry_id << " round " << round;
    }
    auto arrows = SampledArrows(p, times);
    ASSERT_TRUE(arrows.ok());
    // Brute force: per sample interval and pair, the last arrow in it.
    std::map<std::tuple<size_t, int64_t, int64_t>, int64_t> last;
    for (const auto& ar : f.cp.arrows) {
      if (ar.ts < times.front() || ar.ts > times.back()) continue;
      const size_t k =
          size_t(std::upper_bound(times.begin(), times.end(), ar.ts) -
                 times.begin()) -
          1;
      last[{k, f.walked.id_of.at(ar.from), f.walked.id_of.at(ar.to)}] = ar.ts;
    }
    std::set<std::tuple<int64_t, int64_t, int64_t>> want_a, got_a;
    for (const auto& [k, ts] : last) {
      want_a.emplace(ts, std::get<1>(k), std::get<2>(k));
    }
    for (const auto& ar : *arrows) {
      got_a.emplace(ar.start, ar.source_id, ar.target_id);
    }
    std::vector<std::tuple<int64_t, int64_t, int64_t>> only_want, only_got;
    std::set_difference(want_a.begin(), want_a.end(), got_a.begin(),
                        got_a.end(), std::back_inserter(only_want));
    std::set_difference(got_a.begin(), got_a.end(), want_a.begin(),
                        want_a.end(), std::back_inserter(only_got));
    EXPECT_TRUE(only_want.empty() && only_got.empty())
        << "round " << round << ": " << only_want.size() << " missing (first "
        << (only_want.empty() ? -1 : std::get<0>(only_want[0])) << "), "
        << only_got.size() << " extra (first "
        << (only_got.empty() ? -1 : std::get<0>(only_got[0])) << ")";
    EXPECT_EQ(arrows->size(), got_a.size()) << "each arrow once";
    EXPECT_LE(arrows->size(), 12 * times.size()) << "4 rows: 12 pairs";
  }
}

TEST_F(PathStoreTest, SavedPathIsSampledExactlyAndBounded) {
  Fixture f(100000, 4, 7);
  auto saved = SavePath(dir_.string(), "fp", f.walked);
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  ExpectSampledLikeBruteForce(f, **saved, 11);
  EXPECT_EQ((*saved)->tree.entries.size(), 4u);
}

// The breakdown of a range from the stored totals equals the sums over the
// path's segments clipped to the range.
void ExpectBreakdownLikeBruteForce(const Fixture& f, const StoredPath& p,
                                   uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t end = f.walked.end;
  for (int round = 0; round < 30; ++round) {
    int64_t a = 900 + int64_t(rng() % uint64_t(end));
    int64_t b = 900 + int64_t(rng() % uint64_t(end));
    if (a > b) std::swap(a, b);
    if (round == 0) a = f.walked.start, b = end - 1;
    if (round == 1) b = a;  // 1 ns
    std::map<std::pair<std::string, std::string>, int64_t> want;
    for (size_t i = 0; i < f.cp.segments.size(); ++i) {
      const auto& s = f.cp.segments[i];
      const int64_t ns = std::min(s.end, b + 1) - std::max(s.start, a);
      if (ns <= 0) continue;
      want[{"cause", std::string(graph::CauseName(s.cause)) + "/" +
                         graph::LayerName(s.layer)}] += ns;
      want[{"layer", graph::LayerName(s.layer)}] += ns;
      want[{"worker", f.walked.labels.at(f.walked.id_of.at(s.worker))}] += ns;
      if (!f.walked.preempters[i].empty()) {
        want[{"preempted by", f.walked.preempters[i]}] += ns;
      }
    }
    auto rows = StoredBreakdown(p, a, b);
    ASSERT_TRUE(rows.ok()) << rows.status().message();
    std::map<std::pair<std::string, std::string>, int64_t> got;
    for (const auto& r : *rows) {
      const std::string name =
          r.category == "cause" ? r.name + "/" + r.layer : r.name;
      got[{r.category, name}] += r.ns;
    }
    EXPECT_EQ(want, got) << "round " << round << " [" << a << ", " << b << "]";
  }
  auto none = StoredBreakdown(p, 10, 5);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << "end before start";
}

TEST_F(PathStoreTest, BreakdownOfAnyRangeFromStoredTotals) {
  Fixture f(50000, 4, 21);
  auto saved = SavePath(dir_.string(), "fp", f.walked);
  ASSERT_TRUE(saved.ok());
  ExpectBreakdownLikeBruteForce(f, **saved, 4);
  auto mem = SavePath("", "fp", f.walked);
  ASSERT_TRUE(mem.ok());
  ExpectBreakdownLikeBruteForce(f, **mem, 8);
}

TEST_F(PathStoreTest, MemoryPathAnswersTheSame) {
  Fixture f(20000, 4, 3);
  auto saved = SavePath("", "fp", f.walked);
  ASSERT_TRUE(saved.ok());
  ExpectSampledLikeBruteForce(f, **saved, 5);
}

TEST_F(PathStoreTest, LoadedAfterRestartNotForAnotherFingerprint) {
  Fixture f(5000, 3, 9);
  {
    auto saved = SavePath(dir_.string(), "fp", f.walked);
    ASSERT_TRUE(saved.ok());
  }
  auto loaded = LoadPath(dir_.string(), "fp");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ((*loaded)->labels, f.walked.labels);
  EXPECT_EQ((*loaded)->start, f.walked.start);
  EXPECT_EQ((*loaded)->end, f.walked.end);
  ExpectSampledLikeBruteForce(f, **loaded, 13);
  loaded->reset();
  EXPECT_EQ(LoadPath(dir_.string(), "other").status().code(),
            StatusCode::kNotFound);
  // The other fingerprint wiped it: nothing stale is trusted afterwards.
  EXPECT_EQ(LoadPath(dir_.string(), "fp").status().code(),
            StatusCode::kNotFound);
}

TEST_F(PathStoreTest, HistoryWithoutItsRowsIsNotTrusted) {
  Fixture f(2000, 2, 1);
  ASSERT_TRUE(SavePath(dir_.string(), "fp", f.walked).ok());
  fs::remove(dir_ / "path.json");
  EXPECT_EQ(LoadPath(dir_.string(), "fp").status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace vmtrace::tsp
