// StateHistory::QueryTotals: the cumulative totals per value equal a scan of
// QueryRange, for both implementations, on random histories and random
// times (before the start, inside, past the end, in any order), while the
// history is written (flushed part only), after Close() and after a reopen;
// a store of the previous format is rebuilt.
#include <gtest/gtest.h>
#include <leveldb/db.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "storage/leveldb_state_history.h"
#include "storage/memory_state_history.h"
#include "tests/storage/state_history/state_history_test_util.h"

namespace vmtrace::storage {

inline void PrintTo(const ValueTotal& v, std::ostream* os) {
  *os << "{" << v.value << ": " << v.ns << " ns, " << v.count << "}";
}

namespace {

using testing_util::TempDir;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// The definition, from the intervals QueryRange returns.
ValueTotals ScanTotals(const StateHistory& h, Quark q, int64_t t) {
  ValueTotals out;
  if (t == kMin) return out;
  auto ivs = h.QueryRange(q, kMin, t - 1);
  EXPECT_TRUE(ivs.ok());
  for (const StateInterval& iv : *ivs) {
    if (iv.value.kind != StateValue::kInt || iv.start >= t) continue;
    int64_t hi = iv.end < t ? iv.end + 1 : t;
    AddTotal(&out, iv.value.i, hi - iv.start, 1);
  }
  return out;
}

// Random history written into several writers in lockstep: quarks "Q/i",
// values from a small set (nulls, strings and huge ints included); quark
// "Q/many" holds far more than kMaxTotalsValues distinct values. Flushes
// every writer every ~500 steps, then calls on_flush(now).
struct RandomWriter {
  explicit RandomWriter(uint32_t seed) : rng(seed) {}
  std::mt19937_64 rng;
  int64_t now = 1000;

  template <typename OnFlush>
  void Write(const std::vector<StateWriter*>& ws, int quarks, int steps,
             OnFlush on_flush) {
    std::vector<Quark> qs;
    for (int i = 0; i < quarks; ++i) {
      for (StateWriter* w : ws)
        qs.push_back(w->GetOrAddPath({"Q", std::to_string(i)}));
    }
    Quark many = 0;
    for (StateWriter* w : ws) many = w->GetOrAddPath({"Q", "many"});
    std::uniform_int_distribution<int> pick(0, quarks - 1), val(0, 9);
    std::uniform_int_distribution<int64_t> dt(0, 40);
    for (int s = 0; s < steps; ++s) {
      now += dt(rng);
      Quark q = qs[size_t(pick(rng)) * ws.size()];
      int v = val(rng);
      StateValue value;
      if (v == 1) {
        value = StateValue::Str("s" + std::to_string(rng() % 3));
      } else if (v == 2) {
        // A huge value, encoded out of line in the blocks.
        value = StateValue::Int(kMin + int64_t(rng() % 2));
      } else if (v > 2) {
        value = StateValue::Int(v - 5);  // negatives too
      }
      for (StateWriter* w : ws) {
        w->Set(now, q, value);
        if (s % 3 == 0) w->Set(now, many, StateValue::Int(int64_t(s)));
      }
      if (s % 499 == 0 && s > 0) {
        for (StateWriter* w : ws) ASSERT_TRUE(w->Flush(now).ok());
        on_flush(now);
      }
    }
  }

  // Random times over [lo, hi], plus the extremes, ascending or not.
  std::vector<int64_t> Times(int64_t lo, int64_t hi, int n, bool sorted) {
    std::uniform_int_distribution<int64_t> d(lo - 50, hi + 50);
    std::vector<int64_t> t = {kMin,   kMin + 1, lo - 1, lo,
                              lo + 1, hi,       hi + 1, kMax};
    for (int i = 0; i < n; ++i) t.push_back(d(rng));
    if (sorted) {
      std::sort(t.begin(), t.end());
    } else {
      std::shuffle(t.begin(), t.end(), rng);
    }
    return t;
  }
};

// QueryTotals of every quark equals the scan of the same history, and the
// two histories agree.
void ExpectTotals(const StateHistory& mem, const StateHistory& db,
                  const std::vector<int64_t>& times, const std::string& when) {
  ASSERT_EQ(mem.AttributeCount(), db.AttributeCount());
  for (Quark q = 0; q < mem.AttributeCount() + 1; ++q) {
    auto m = mem.QueryTotals(q, times);
    auto d = db.QueryTotals(q, times);
    ASSERT_TRUE(m.ok() && d.ok());
    ASSERT_EQ(m->size(), times.size());
    ASSERT_EQ(d->size(), times.size());
    for (size_t k = 0; k < times.size(); ++k) {
      ValueTotals scan = ScanTotals(db, q, times[k]);
      ASSERT_EQ((*d)[k], scan) << when << " quark " << q << " t " << times[k];
      ASSERT_EQ((*m)[k], scan) << when << " quark " << q << " t " << times[k];
    }
  }
}

StateStoreOptions Opts(const std::string& dir, size_t batch = 64) {
  return {dir, "totals", 1, "fp", batch};
}

TEST(QueryTotalsTest, RandomHistoriesWhileWritingAndAfterReopen) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::string dir = TempDir("totals" + std::to_string(seed));
    MemoryStateHistory mem;
    std::vector<int64_t> times;
    {
      auto db = LevelDbStateHistory::Open(Opts(dir));
      ASSERT_TRUE(db.ok());
      RandomWriter gen(seed);
      int flushes = 0;
      // Both stores see exactly what was flushed: they agree at each flush
      // (some of the flushes, to keep the test short).
      gen.Write({&mem, db->get()}, 3, 9000, [&](int64_t now) {
        if (++flushes % 3 != 1) return;
        RandomWriter tg(seed * 100 + flushes);
        ExpectTotals(mem, **db,
                     tg.Times(mem.start_time(), now, 60, flushes % 2),
                     "flush " + std::to_string(flushes));
      });
      ASSERT_GT(flushes, 10);
      ASSERT_TRUE(mem.Close(gen.now + 7).ok());
      ASSERT_TRUE((*db)->Close(gen.now + 7).ok());
      RandomWriter tg(seed + 7);
      times = tg.Times(mem.start_time(), gen.now + 7, 200, seed != 2);
      ExpectTotals(mem, **db, times, "closed");
    }
    {
      // The checkpoints the queries above jumped to are there.
      leveldb::DB* raw = nullptr;
      ASSERT_TRUE(leveldb::DB::Open(leveldb::Options(), dir, &raw).ok());
      std::unique_ptr<leveldb::DB> d(raw);
      std::unique_ptr<leveldb::Iterator> it(
          d->NewIterator(leveldb::ReadOptions()));
      int checkpoints = 0;
      for (it->Seek("c"); it->Valid() && it->key()[0] == 'c'; it->Next()) {
        ++checkpoints;
      }
      EXPECT_GT(checkpoints, 10);
    }
    auto db = LevelDbStateHistory::Open(Opts(dir));
    ASSERT_TRUE(db.ok());
    ASSERT_FALSE((*db)->needs_build());
    ExpectTotals(mem, **db, times, "reopened");
    db->reset();
    std::filesystem::remove_all(dir);
  }
}

TEST(QueryTotalsTest, EmptyAndUnknown) {
  const std::string dir = TempDir("totals-empty");
  auto db = LevelDbStateHistory::Open(Opts(dir));
  ASSERT_TRUE(db.ok());
  Quark a = (*db)->GetOrAdd(kRootQuark, "a");
  // Nothing flushed yet: empty totals, one per time.
  auto r = (*db)->QueryTotals(a, {1, 5});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 2u);
  EXPECT_TRUE((*r)[0].empty() && (*r)[1].empty());
  (*db)->Set(10, a, StateValue::Int(3));
  (*db)->Set(20, a, StateValue::Int(4));
  ASSERT_TRUE((*db)->Close(29).ok());
  r = (*db)->QueryTotals(a, {10, 15, 20, 25, 30, 1000});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)[0].empty());
  EXPECT_EQ((*r)[1], (ValueTotals{{3, 5, 1}}));
  EXPECT_EQ((*r)[2], (ValueTotals{{3, 10, 1}}));
  EXPECT_EQ((*r)[3], (ValueTotals{{3, 10, 1}, {4, 5, 1}}));
  EXPECT_EQ((*r)[4], (ValueTotals{{3, 10, 1}, {4, 10, 1}}));
  EXPECT_EQ((*r)[5], (*r)[4]);
  EXPECT_TRUE((*db)->QueryTotals(999, {100})->at(0).empty());
  db->reset();
  std::filesystem::remove_all(dir);
}

// A store written by the previous format (no totals checkpoints) is wiped
// and rebuilt, not read without its checkpoints.
TEST(QueryTotalsTest, PreviousFormatIsRebuilt) {
  const std::string dir = TempDir("totals-format");
  {
    auto db = LevelDbStateHistory::Open(Opts(dir));
    ASSERT_TRUE(db.ok());
    Quark a = (*db)->GetOrAdd(kRootQuark, "a");
    (*db)->Set(10, a, StateValue::Int(3));
    ASSERT_TRUE((*db)->Close(29).ok());
  }
  {
    leveldb::DB* raw = nullptr;
    ASSERT_TRUE(leveldb::DB::Open(leveldb::Options(), dir, &raw).ok());
    std::unique_ptr<leveldb::DB> d(raw);
    std::string meta;
    ASSERT_TRUE(d->Get(leveldb::ReadOptions(), "m", &meta).ok());
    const std::string now = "\"formatVersion\":" +
                            std::to_string(LevelDbStateHistory::kFormatVersion);
    ASSERT_NE(meta.find(now), std::string::npos) << meta;
    meta.replace(meta.find(now), now.size(), "\"formatVersion\":2");
    ASSERT_TRUE(d->Put(leveldb::WriteOptions(), "m", meta).ok());
  }
  auto db = LevelDbStateHistory::Open(Opts(dir));
  ASSERT_TRUE(db.ok());
  EXPECT_TRUE((*db)->needs_build());
  EXPECT_FALSE((*db)->complete());
  EXPECT_EQ((*db)->AttributeCount(), 1u);
  db->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::storage
