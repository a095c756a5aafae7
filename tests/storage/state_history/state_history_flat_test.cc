// The sampling copy of a complete LevelDB state history
// (storage/leveldb_state_flat.h): QuerySampled through it answers exactly
// as the in-memory history and as the LevelDB seek path, over histories of
// many blocks and groups per quark; a store missing its copy is rebuilt; a
// damaged index is an error, not a crash.
#include <gtest/gtest.h>
#include <leveldb/db.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "storage/leveldb_state_flat.h"
#include "storage/leveldb_state_history.h"
#include "storage/memory_state_history.h"
#include "tests/storage/state_history/state_history_test_util.h"

namespace vmtrace::storage {
namespace {

using testing_util::TempDir;

StateStoreOptions Opts(const std::string& dir, bool copy) {
  StateStoreOptions o{dir, "flat", 1, "fp", 64};
  o.sampling_copy = copy;
  return o;
}

// Sample sets a time-graph client asks: whole range, windows, dense runs
// with repeats, times outside the history.
std::vector<std::vector<int64_t>> SampleSets(std::mt19937_64* rng, int64_t t0,
                                             int64_t t1) {
  std::vector<std::vector<int64_t>> sets;
  std::vector<int64_t> whole;
  for (int k = 0; k < 2000; ++k) whole.push_back(t0 + (t1 - t0) * k / 1999);
  sets.push_back(whole);
  sets.push_back({t0 - 100, t0 - 1, t0, t1, t1 + 1, t1 + 1000});
  for (int round = 0; round < 30; ++round) {
    std::vector<int64_t> times;
    int64_t s = t0 - 50 + int64_t((*rng)() % uint64_t(t1 - t0));
    int64_t step = 1 + int64_t((*rng)() % (round % 3 == 0 ? 5 : 5000));
    int n = 1 + int((*rng)() % 300);
    for (int k = 0; k < n; ++k) {
      times.push_back(s);
      if ((*rng)() % 4) s += int64_t((*rng)() % uint64_t(step));
    }
    sets.push_back(times);
  }
  return sets;
}

TEST(SamplingCopyTest, MatchesMemoryAndSeekPathWhileWritingAndAfterReopen) {
  const std::string dir = TempDir("flat-copy");
  const std::string seek_dir = TempDir("flat-seek");
  MemoryStateHistory mem;
  auto copy = LevelDbStateHistory::Open(Opts(dir, true));
  auto seek = LevelDbStateHistory::Open(Opts(seek_dir, false));
  ASSERT_TRUE(copy.ok() && seek.ok());
  std::vector<StateWriter*> writers = {&mem, copy->get(), seek->get()};
  std::vector<Quark> quarks;
  for (StateWriter* w : writers) {
    quarks.clear();
    for (int k = 0; k < 5; ++k) {
      quarks.push_back(w->GetOrAddPath({"VMs", "v", std::to_string(k)}));
    }
  }
  // Quark 2 ("VMs/v") has no interval; 999 is unknown; quark 4 starts late
  // and ends early (EndSubtree is not used: its value becomes null).
  std::vector<Quark> asked = {quarks[3], 999,       quarks[0], 2,
                              quarks[4], quarks[1], quarks[2]};
  std::mt19937_64 rng(11);
  int64_t t = -100000;
  const int64_t t0 = t;
  auto compare = [&](int64_t from, int64_t to) {
    for (const auto& times : SampleSets(&rng, from, to)) {
      auto want = mem.QuerySampled(asked, times);
      auto a = (*copy)->QuerySampled(asked, times);
      auto b = (*seek)->QuerySampled(asked, times);
      ASSERT_TRUE(want.ok() && a.ok() && b.ok());
      ASSERT_EQ(*a, *want);
      ASSERT_EQ(*b, *want);
    }
  };
  // ~60k intervals over 5 quarks: ~190 blocks, ~12 groups per quark, with
  // partial blocks cut at flushes.
  for (int e = 0; e < 60000; ++e) {
    t += 1 + int64_t(rng() % 40);
    Quark q = quarks[rng() % 5];
    if (q == quarks[4] && (e < 20000 || e > 50000)) q = quarks[0];
    uint64_t x = rng() % 10;
    StateValue v = x == 0   ? StateValue::Null()
                   : x == 1 ? StateValue::Str("s" + std::to_string(rng() % 3))
                            : StateValue::Int(int64_t(rng() % 7) - 3);
    for (StateWriter* w : writers) w->Set(t, q, v);
    if (e == 50001) {
      for (StateWriter* w : writers) w->Set(t, quarks[4], StateValue::Null());
    }
    if (rng() % 3000 == 0) {
      for (StateWriter* w : writers) ASSERT_TRUE(w->Flush(t).ok());
    }
    if (e == 30000) compare(t0, t);  // incomplete: exactly what was flushed
  }
  for (StateWriter* w : writers) ASSERT_TRUE(w->Close(t + 7).ok());
  compare(t0, t + 7);
  copy->reset();
  seek->reset();
  copy = LevelDbStateHistory::Open(Opts(dir, true));
  seek = LevelDbStateHistory::Open(Opts(seek_dir, false));
  ASSERT_TRUE(copy.ok() && seek.ok());
  ASSERT_FALSE((*copy)->needs_build());
  ASSERT_FALSE((*seek)->needs_build());
  compare(t0, t + 7);
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) /
                                      FlatBlocks::kFileName));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(seek_dir) /
                                       FlatBlocks::kFileName));
  copy->reset();
  seek->reset();
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(seek_dir);
}

void WriteSmall(const std::string& dir) {
  auto h = LevelDbStateHistory::Open(Opts(dir, true));
  ASSERT_TRUE(h.ok());
  Quark a = (*h)->GetOrAdd(kRootQuark, "a");
  for (int k = 0; k < 300; ++k) (*h)->Set(k * 10, a, StateValue::Int(k % 3));
  ASSERT_TRUE((*h)->Close(3000).ok());
}

TEST(SamplingCopyTest, MissingCopyRebuilds) {
  const std::string dir = TempDir("flat-missing");
  WriteSmall(dir);
  std::filesystem::remove(std::filesystem::path(dir) / FlatBlocks::kFileName);
  auto h = LevelDbStateHistory::Open(Opts(dir, true));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE((*h)->needs_build());
  EXPECT_EQ((*h)->AttributeCount(), 1u);
  h->reset();
  std::filesystem::remove_all(dir);
}

TEST(SamplingCopyTest, DamagedIndexIsAnError) {
  const std::string dir = TempDir("flat-damaged");
  WriteSmall(dir);
  {
    leveldb::DB* raw = nullptr;
    ASSERT_TRUE(leveldb::DB::Open(leveldb::Options(), dir, &raw).ok());
    std::unique_ptr<leveldb::DB> db(raw);
    // Quark 1's index: a group starting beyond the end of the file.
    std::string key = std::string("x") + std::string("\0\0\0\1", 4);
    std::string v(8, '\0');
    v += std::string(8, '\x7f') + std::string(8, '\x7f');
    ASSERT_TRUE(db->Put(leveldb::WriteOptions(), key, v).ok());
  }
  auto h = LevelDbStateHistory::Open(Opts(dir, true));
  ASSERT_TRUE(h.ok());
  ASSERT_FALSE((*h)->needs_build());
  EXPECT_FALSE((*h)->QuerySampled({1}, {0, 100, 200}).ok());
  h->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::storage
