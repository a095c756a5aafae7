// The event times of a checkpoint interval (analyses/index/event_times.h):
// counting from the blob is what decoding the interval counts, and the
// index writes a blob for every complete interval.
#include "analyses/index/event_times.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "analyses/index/experiment_index.h"
#include "index_test_util.h"

namespace vmtrace::index {
namespace {

TEST(EventTimes, CountsBeforeAnyTimeAsADecodeWould) {
  std::mt19937 rng(3);
  struct Ev {
    int64_t ts;
    uint32_t trace;
  };
  std::vector<Ev> evs;
  int64_t ts = -5000;  // negative times, and a step back (a damaged trace)
  for (int i = 0; i < 500; ++i) {
    ts += int64_t(rng() % 3000) - (i == 200 ? 100000 : 0);
    evs.push_back({ts, uint32_t(rng() % 3)});
  }
  for (bool with_trace : {false, true}) {
    EventTimesWriter w;
    w.Begin(evs[0].ts);
    for (const Ev& e : evs) w.Add(e.ts, e.trace, with_trace);
    const std::string blob = w.Take();
    EXPECT_TRUE(w.empty());
    EXPECT_LT(blob.size(), evs.size() * (with_trace ? 4 : 3));
    for (int k = 0; k < 200; ++k) {
      const int64_t t = -10000 + int64_t(rng() % 800000);
      std::vector<uint64_t> want(3, 0), got(3, 7);
      for (const Ev& e : evs) {
        if (e.ts >= t) break;  // a decode stops at the first at or after t
        ++want[with_trace ? e.trace : 0];
      }
      for (auto& c : want) c += 7;
      ASSERT_TRUE(CountEventsBefore(blob, evs[0].ts, with_trace, t, &got));
      EXPECT_EQ(got, want) << "t " << t << " traces " << with_trace;
    }
    // Truncated: refused, not read past its end.
    std::vector<uint64_t> c(3, 0);
    const std::string cut = blob.substr(0, blob.size() - 1) + "\x80";
    EXPECT_FALSE(CountEventsBefore(cut, evs[0].ts, with_trace, INT64_MAX, &c));
  }
  // A trace index beyond the experiment's traces is refused.
  EventTimesWriter w;
  w.Begin(0);
  w.Add(1, 5, true);
  std::vector<uint64_t> two(2, 0);
  EXPECT_FALSE(CountEventsBefore(w.Take(), 0, true, 10, &two));
}

TEST(EventTimes, TheIndexStoresEveryIntervalsTimes) {
  IndexOptions o;
  o.checkpoint_interval = 97;
  o.batch_size = 4;
  const std::string store = TempDir("idx-times");
  auto idx = ExperimentIndex::Open({{kSimpleKernel}}, store, o);
  ASSERT_TRUE(idx.ok());
  (*idx)->WaitUntilDone();
  const uint64_t n = (*idx)->Snapshot().nb_events;
  ASSERT_GT(n, 97u * 3);
  for (uint64_t rank = 0; rank < n; rank += 97) {
    auto blob = (*idx)->store().Times(rank);
    ASSERT_TRUE(blob.has_value()) << rank;
    EXPECT_FALSE(blob->empty()) << rank;
  }
  EXPECT_FALSE((*idx)->store().Times(1).has_value()) << "not a checkpoint";
  idx->reset();
  std::filesystem::remove_all(store);
}

}  // namespace
}  // namespace vmtrace::index
