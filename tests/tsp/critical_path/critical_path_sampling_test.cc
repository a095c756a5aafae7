// Sampling of a critical path for time-graph replies (critical_path_
// sampling.cc): bounded by rows x samples whatever the path's length, and
// exactly the segments a brute-force search finds at the sampled times.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <tuple>

#include "tsp/outputs/critical_path/critical_path_internal.h"

namespace vmtrace::tsp::cp_internal {
namespace {

graph::WorkerId Worker(int i) {
  graph::WorkerId w;
  w.kind = graph::WorkerId::kGuest;
  w.id = 1000;
  w.cr3 = 0x1000u * uint64_t(i + 1);
  return w;
}

// A path of n contiguous segments over `workers` rows, with an arrow at
// every change of row; the rows index built as the outputs build it.
struct Fixture {
  CriticalPath cp;
  Rows rows;
  Fixture(int n, int workers, uint32_t seed) {
    std::mt19937 rng(seed);
    int64_t t = 1000;
    int cur = 0;
    for (int i = 0; i < n; ++i) {
      const int64_t len = 1 + int64_t(rng() % 50);
      const int next = int(rng() % workers);
      if (i > 0 && next != cur) {
        cp.arrows.push_back({Worker(cur), Worker(next), t, graph::Cause::kIpi});
      }
      cur = next;
      cp.segments.push_back(
          {Worker(cur), t, t + len, graph::Cause::kRunning, graph::Layer::kL0});
      t += len;
    }
    for (int w = 0; w < workers; ++w) rows.id_of[Worker(w)] = w;
    for (uint32_t i = 0; i < cp.segments.size(); ++i) {
      rows.segments_of[rows.id_of.at(cp.segments[i].worker)].push_back(i);
    }
    for (uint32_t i = 0; i < cp.arrows.size(); ++i) {
      rows.arrows_by_time.push_back(i);
    }
  }
  int64_t end() const { return cp.segments.back().end; }
};

std::vector<int64_t> Times(int64_t a, int64_t b, int n) {
  std::vector<int64_t> t;
  for (int i = 0; i < n; ++i) t.push_back(a + (b - a) * i / (n - 1));
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

TEST(CriticalPathSampling, StatesAreBoundedAndExact) {
  Fixture f(200000, 4, 7);
  std::mt19937 rng(11);
  for (int round = 0; round < 30; ++round) {
    int64_t a = 900 + int64_t(rng() % uint64_t(f.end()));
    int64_t b = 900 + int64_t(rng() % uint64_t(f.end()));
    if (a > b) std::swap(a, b);
    if (round == 0) a = 0, b = f.end() + 10;  // the whole path and beyond
    const auto times = Times(a, b, 2 + int(rng() % 300));
    for (const auto& [id, row] : f.rows.segments_of) {
      const auto got = SampledSegments(f.cp, row, times);
      ASSERT_LE(got.size(), times.size() + 2);
      // Brute force: the segments holding a sample, and the first and last
      // intersecting the range.
      std::set<uint32_t> want;
      std::optional<uint32_t> first, last;
      for (uint32_t i : row) {
        const auto& s = f.cp.segments[i];
        if (s.end <= times.front() || s.start > times.back()) continue;
        if (!first) first = i;
        last = i;
        for (int64_t t : times) {
          if (s.start <= t && t < s.end) want.insert(i);
        }
      }
      if (first) want.insert(*first), want.insert(*last);
      EXPECT_EQ(std::vector<uint32_t>(want.begin(), want.end()), got)
          << "row " << id << " round " << round;
    }
  }
}

TEST(CriticalPathSampling, ArrowsAtMostOnePerSampleIntervalAndRowPair) {
  Fixture f(200000, 3, 5);
  const auto times = Times(0, f.end(), 100);
  const auto got = SampledArrows(f.cp, f.rows, times);
  // 3 rows: 6 ordered pairs; 100 samples: 100 intervals (the last alone).
  EXPECT_LE(got.size(), 6u * times.size());
  EXPECT_GT(got.size(), 100u) << "every busy interval shows its arrows";
  std::set<std::tuple<size_t, graph::WorkerId, graph::WorkerId>> want;
  for (const auto& a : f.cp.arrows) {
    const size_t k = size_t(std::upper_bound(times.begin(), times.end(), a.ts) -
                            times.begin()) -
                     1;
    want.emplace(k, a.from, a.to);
  }
  EXPECT_EQ(want.size(), got.size()) << "one arrow for each pair present";
  int64_t prev = INT64_MIN;
  for (uint32_t i : got) {
    EXPECT_GE(f.cp.arrows[i].ts, prev) << "in time order";
    prev = f.cp.arrows[i].ts;
  }
  // A window narrower than one arrow's spacing keeps only what is in it.
  const int64_t mid = f.cp.arrows[1000].ts;
  const auto one = SampledArrows(f.cp, f.rows, {mid, mid});
  ASSERT_FALSE(one.empty());
  for (uint32_t i : one) EXPECT_EQ(f.cp.arrows[i].ts, mid);
}

}  // namespace
}  // namespace vmtrace::tsp::cp_internal
