// TieredStatsStore: sums of any run of chunks equal the brute-force sum of
// the chunks added; visibility bound; reopen of a complete store; an
// interrupted or differently fingerprinted store is rebuilt.
#include "storage/tiered_stats_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>

namespace vmtrace::storage {
namespace {

std::string TempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("vmtrace-tiered-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

TieredStatsOptions Options(const std::string& dir) {
  TieredStatsOptions o;
  o.dir = dir;
  o.stats_id = "test";
  o.version = 1;
  o.fingerprint = "fp";
  o.chunk_ns = 1000;
  return o;
}

// Random tallies on chunks [first, first + n), some chunks empty.
std::map<int64_t, TallyMap> RandomChunks(int64_t first, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::map<int64_t, TallyMap> out;
  for (int64_t c = first; c < first + n; ++c) {
    if (rng() % 4 == 0) continue;
    TallyMap& m = out[c];
    for (int k = 0, e = 1 + rng() % 3; k < e; ++k) {
      Tally& t = m[rng() % 5];
      for (int i = 0, j = 1 + rng() % 3; i < j; ++i) t.Add(rng() % 1000);
    }
  }
  return out;
}

TallyMap Brute(const std::map<int64_t, TallyMap>& chunks, int64_t c1,
               int64_t c2) {
  TallyMap out;
  for (auto it = chunks.lower_bound(c1); it != chunks.end() && it->first < c2;
       ++it) {
    for (const auto& [k, t] : it->second) out[k].Merge(t);
  }
  return out;
}

TEST(TieredStatsStore, SumsAnyRunOfChunks) {
  const std::string dir = TempDir("sums");
  // Starts away from a tier boundary, spans several tier-2 nodes.
  const int64_t first = 1000003;
  const auto chunks = RandomChunks(first, 9000, 7);
  {
    auto s = TieredStatsStore::Open(Options(dir));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->needs_build());
    for (const auto& [c, m] : chunks) ASSERT_TRUE((*s)->AddChunk(c, m).ok());
    ASSERT_TRUE((*s)->PutBlob("k", "v").ok());
    ASSERT_TRUE((*s)->Close().ok());
    EXPECT_TRUE((*s)->complete());
  }
  auto s = TieredStatsStore::Open(Options(dir));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE((*s)->needs_build());  // reused, not rebuilt
  std::mt19937 rng(11);
  for (int i = 0; i < 400; ++i) {
    int64_t c1 = first - 20 + int64_t(rng() % 9040);
    int64_t c2 = c1 + int64_t(rng() % (i % 2 ? 20 : 9040));
    auto got = (*s)->Sum(c1, c2);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, Brute(chunks, c1, c2)) << c1 << " " << c2;
  }
  auto whole = (*s)->Sum(first - 5000, first + 100000);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*whole, Brute(chunks, first - 5000, first + 100000));
  auto blob = (*s)->GetBlob("k");
  ASSERT_TRUE(blob.ok() && blob->has_value());
  EXPECT_EQ(**blob, "v");
  auto none = (*s)->GetBlob("other");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  std::filesystem::remove_all(dir);
}

TEST(TieredStatsStore, ReadersSeeOnlyPublishedChunks) {
  const std::string dir = TempDir("publish");
  const auto chunks = RandomChunks(0, 600, 3);
  auto s = TieredStatsStore::Open(Options(dir));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->ready_until(), INT64_MIN);
  EXPECT_FALSE((*s)->Sum(0, 1).ok());
  for (int64_t bound = 16; bound <= 608; bound += 16) {
    for (auto it = chunks.lower_bound(bound - 16);
         it != chunks.end() && it->first < bound; ++it) {
      ASSERT_TRUE((*s)->AddChunk(it->first, it->second).ok());
    }
    ASSERT_TRUE((*s)->Publish(bound).ok());
    EXPECT_EQ((*s)->ready_until(), bound);
    auto got = (*s)->Sum(0, bound);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, Brute(chunks, 0, bound));
    auto mid = (*s)->Sum(bound / 3, bound - 1);
    ASSERT_TRUE(mid.ok());
    EXPECT_EQ(*mid, Brute(chunks, bound / 3, bound - 1));
  }
  EXPECT_FALSE((*s)->AddChunk(5, {{1, {1, 1, 1}}}).ok());  // out of order
  std::filesystem::remove_all(dir);
}

TEST(TieredStatsStore, InterruptedOrOtherStoresAreRebuilt) {
  const std::string dir = TempDir("rebuild");
  {
    auto s = TieredStatsStore::Open(Options(dir));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->AddChunk(1, {{1, {1, 5, 5}}}).ok());
    ASSERT_TRUE((*s)->Publish(2).ok());
    // Destroyed without Close(): an interrupted build.
  }
  {
    auto s = TieredStatsStore::Open(Options(dir));
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE((*s)->needs_build());
    ASSERT_TRUE((*s)->Publish(10).ok());
    auto wiped = (*s)->Sum(0, 10);
    ASSERT_TRUE(wiped.ok());
    EXPECT_TRUE(wiped->empty());  // nothing of the interrupted build
    ASSERT_TRUE((*s)->AddChunk(12, {{2, {1, 7, 7}}}).ok());
    ASSERT_TRUE((*s)->Close().ok());
  }
  {
    auto s = TieredStatsStore::Open(Options(dir));
    ASSERT_TRUE(s.ok());
    EXPECT_FALSE((*s)->needs_build());
    auto sum = (*s)->Sum(0, 100);
    ASSERT_TRUE(sum.ok());
    EXPECT_EQ(*sum, (TallyMap{{2, {1, 7, 7}}}));
  }
  TieredStatsOptions other = Options(dir);
  other.fingerprint = "another trace";
  {
    auto s = TieredStatsStore::Open(other);
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE((*s)->needs_build());
  }
  other = Options(dir);
  other.chunk_ns = 2000;
  auto s = TieredStatsStore::Open(other);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->needs_build());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::storage
