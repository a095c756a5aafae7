#include "analyses/index/experiment_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "analyses/index/histogram.h"
#include "index_test_util.h"

namespace vmtrace::index {
namespace {

IndexOptions SmallInterval() {
  IndexOptions o;
  o.checkpoint_interval = 97;  // odd, so pages straddle checkpoints
  o.batch_size = 4;
  return o;
}

std::unique_ptr<ExperimentIndex> OpenDone(
    std::vector<std::vector<std::string>> traces, const std::string& store,
    IndexOptions options = SmallInterval()) {
  auto idx = ExperimentIndex::Open(std::move(traces), store, options);
  EXPECT_TRUE(idx.ok()) << idx.status().ToString();
  (*idx)->WaitUntilDone();
  return std::move(idx).value();
}

TEST(ExperimentIndexTest, ReaderAtAnyRankMatchesASequentialRead) {
  auto all = ReadAll({kSimpleKernel});
  ASSERT_EQ(all.size(), 11980u);
  std::string store = TempDir("idx-rank");
  auto idx = OpenDone({{kSimpleKernel}}, store);
  IndexSnapshot s = idx->Snapshot();
  EXPECT_EQ(s.state, IndexState::kCompleted);
  EXPECT_EQ(s.nb_events, all.size());
  EXPECT_EQ(s.start, all.front().ts);
  EXPECT_EQ(s.end, all.back().ts);
  ASSERT_EQ(s.traces.size(), 1u);
  EXPECT_EQ(s.traces[0].nb_events, all.size());

  std::mt19937 rng(7);
  std::vector<uint64_t> ranks = {0, 96, 97, 98, all.size() - 1};
  for (int i = 0; i < 40; ++i) ranks.push_back(rng() % all.size());
  for (uint64_t r : ranks) {
    auto reader = idx->ReaderAt(r);
    ASSERT_TRUE(reader.ok()) << r;
    ctf::Event ev;
    for (uint64_t k = r; k < std::min<uint64_t>(r + 5, all.size()); ++k) {
      ASSERT_TRUE((*reader)->Next(&ev));
      EXPECT_EQ(ev.timestamp, all[k].ts) << "rank " << k;
      EXPECT_EQ(ev.cls->name(), all[k].name) << "rank " << k;
      EXPECT_EQ(ev.FormatPayload(), all[k].payload) << "rank " << k;
    }
  }
  EXPECT_FALSE(idx->ReaderAt(all.size()).ok());
  std::filesystem::remove_all(store);
}

TEST(ExperimentIndexTest, RankAtTimeIsTheFirstEventAtOrAfter) {
  auto all = ReadAll({kSimpleKernel});
  std::string store = TempDir("idx-time");
  auto idx = OpenDone({{kSimpleKernel}}, store);
  auto brute = [&all](int64_t t) {
    return uint64_t(std::lower_bound(all.begin(), all.end(), t,
                                     [](const FlatEvent& e, int64_t v) {
                                       return e.ts < v;
                                     }) -
                    all.begin());
  };
  std::vector<int64_t> probes = {all.front().ts - 1, all.front().ts,
                                 all.back().ts,      all.back().ts + 1,
                                 INT64_MIN,          INT64_MAX};
  for (size_t i = 0; i < all.size(); i += 1013) {
    probes.push_back(all[i].ts);
    probes.push_back(all[i].ts + 1);
    probes.push_back(all[i].ts - 1);
  }
  for (int64_t t : probes) {
    auto r = idx->RankAtTime(t);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, brute(t)) << "t=" << t;
  }
  std::filesystem::remove_all(store);
}

TEST(ExperimentIndexTest, HistogramCountsEqualBruteForcePerTrace) {
  auto all = ReadAll({kScpSrc, kScpDest});
  std::string store = TempDir("idx-hist");
  auto idx = OpenDone({{kScpSrc}, {kScpDest}}, store);
  IndexSnapshot s = idx->Snapshot();
  ASSERT_EQ(s.nb_events, all.size());
  ASSERT_EQ(s.traces.size(), 2u);
  EXPECT_EQ(s.traces[0].nb_events, 110771u);
  EXPECT_EQ(s.traces[1].nb_events, 85729u);
  // The reader tolerated the overlapping packets and said so.
  EXPECT_TRUE(s.properties.count("reader.overlapping_packets"));

  Histogram hist(idx.get(), "scp", {"src", "dest"});
  std::vector<int64_t> times;
  for (int k = 0; k <= 50; ++k) {
    times.push_back(s.start + (s.end - s.start) / 50 * k);
  }
  times.back() = s.end;
  auto series = hist.Fetch(times, {Histogram::kTotalId, 2, 3, 99});
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), 3u);  // unknown id 99 skipped
  double total = 0;
  for (size_t k = 0; k < times.size(); ++k) {
    int64_t lo = times[k];
    int64_t hi = k + 1 < times.size() ? times[k + 1] : times[k] + 1;
    uint64_t n_all = 0, n_src = 0;
    for (const auto& e : all) {
      if (e.ts >= lo && e.ts < hi) {
        ++n_all;
        n_src += e.trace == 0;
      }
    }
    EXPECT_EQ((*series)[0].y[k], double(n_all)) << k;
    EXPECT_EQ((*series)[1].y[k], double(n_src)) << k;
    total += (*series)[0].y[k];
  }
  EXPECT_EQ(total, double(all.size()));
  std::filesystem::remove_all(store);
}

TEST(ExperimentIndexTest, ReopenLoadsTheStoreWithoutReindexing) {
  std::string store = TempDir("idx-reopen");
  IndexSnapshot first;
  {
    auto idx = OpenDone({{kSimpleKernel}}, store);
    EXPECT_FALSE(idx->loaded_from_store());
    first = idx->Snapshot();
  }
  auto idx = ExperimentIndex::Open({{kSimpleKernel}}, store, SmallInterval());
  ASSERT_TRUE(idx.ok());
  EXPECT_TRUE((*idx)->loaded_from_store());
  IndexSnapshot again = (*idx)->Snapshot();
  EXPECT_EQ(again.state, IndexState::kCompleted);
  EXPECT_EQ(again.nb_events, first.nb_events);
  EXPECT_EQ(again.start, first.start);
  EXPECT_EQ(again.end, first.end);
  EXPECT_EQ(*(*idx)->RankAtTime(first.end), first.nb_events - 1);
  std::filesystem::remove_all(store);
}

TEST(ExperimentIndexTest, InterruptedPassIsRebuiltNotTrusted) {
  std::string store = TempDir("idx-cancel");
  {
    auto idx =
        ExperimentIndex::Open({{kScpSrc}, {kScpDest}}, store, SmallInterval());
    ASSERT_TRUE(idx.ok());
    (*idx)->Cancel();  // as if the process died mid-pass
    EXPECT_NE((*idx)->Snapshot().state, IndexState::kRunning);
  }
  auto idx =
      ExperimentIndex::Open({{kScpSrc}, {kScpDest}}, store, SmallInterval());
  ASSERT_TRUE(idx.ok());
  if ((*idx)->loaded_from_store()) {
    // The first pass may have finished before Cancel() got to it; then the
    // store is complete and legitimately reused.
    SUCCEED();
  }
  (*idx)->WaitUntilDone();
  EXPECT_EQ((*idx)->Snapshot().nb_events, 110771u + 85729u);
  std::filesystem::remove_all(store);
}

TEST(ExperimentIndexTest, ChangedTraceFilesInvalidateTheStore) {
  std::string copy = TempDir("idx-copy");
  std::filesystem::copy(kSimpleKernel, copy,
                        std::filesystem::copy_options::recursive);
  std::string store = TempDir("idx-stale");
  { OpenDone({{copy}}, store); }
  // Replace a stream file by a shorter copy: the fingerprint changes.
  std::filesystem::path victim;
  for (const auto& e : std::filesystem::directory_iterator(copy)) {
    if (e.is_regular_file() && e.path().filename() != "metadata") {
      victim = e.path();
      break;
    }
  }
  ASSERT_FALSE(victim.empty());
  std::filesystem::resize_file(victim, 0);
  auto idx = ExperimentIndex::Open({{copy}}, store, SmallInterval());
  ASSERT_TRUE(idx.ok());
  EXPECT_FALSE((*idx)->loaded_from_store());
  (*idx)->WaitUntilDone();
  EXPECT_LT((*idx)->Snapshot().nb_events, 11980u);
  std::filesystem::remove_all(store);
  std::filesystem::remove_all(copy);
}

}  // namespace
}  // namespace vmtrace::index
