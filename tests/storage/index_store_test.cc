#include "storage/index_store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace vmtrace::storage {
namespace {

std::string TempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("vmtrace-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

std::vector<Checkpoint> Sample() {
  // Ranks every 10 events; timestamps include negatives and a repeat.
  return {{0, -50, {0, 0}, "p0"},
          {10, -5, {4, 6}, "p10"},
          {20, 7, {9, 11}, "p20"},
          {30, 7, {15, 15}, "p30"},
          {40, 1000, {20, 20}, std::string("p\0x", 3)}};
}

TEST(IndexStoreTest, FloorByRank) {
  std::string dir = TempDir("index-rank");
  auto store = IndexStore::Open(dir);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->BeginBuild(IndexMeta{}).ok());
  ASSERT_TRUE((*store)->Append(Sample()).ok());
  EXPECT_EQ((*store)->FloorByRank(0)->position, "p0");
  EXPECT_EQ((*store)->FloorByRank(9)->rank, 0u);
  EXPECT_EQ((*store)->FloorByRank(10)->rank, 10u);
  EXPECT_EQ((*store)->FloorByRank(39)->trace_counts,
            (std::vector<uint64_t>{15, 15}));
  auto last = (*store)->FloorByRank(1000000);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->rank, 40u);
  EXPECT_EQ(last->position, std::string("p\0x", 3));
  std::filesystem::remove_all(dir);
}

TEST(IndexStoreTest, LastBeforeTimeIsStrict) {
  std::string dir = TempDir("index-time");
  auto store = IndexStore::Open(dir);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->BeginBuild(IndexMeta{}).ok());
  ASSERT_TRUE((*store)->Append(Sample()).ok());
  EXPECT_FALSE((*store)->LastBeforeTime(-50).has_value());
  EXPECT_EQ((*store)->LastBeforeTime(-49)->rank, 0u);
  EXPECT_EQ((*store)->LastBeforeTime(7)->rank, 10u);
  // Among equal timestamps the last checkpoint wins.
  EXPECT_EQ((*store)->LastBeforeTime(8)->rank, 30u);
  EXPECT_EQ((*store)->LastBeforeTime(INT64_MAX)->rank, 40u);
  std::filesystem::remove_all(dir);
}

TEST(IndexStoreTest, InterruptedBuildIsVisibleAndWipedOnRebuild) {
  std::string dir = TempDir("index-crash");
  IndexMeta meta;
  meta.fingerprint = "f1";
  {
    auto store = IndexStore::Open(dir);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->BeginBuild(meta).ok());
    ASSERT_TRUE((*store)->Append(Sample()).ok());
    // No Finish(): the process "dies" here.
  }
  auto store = IndexStore::Open(dir);
  ASSERT_TRUE(store.ok());
  auto m = (*store)->ReadMeta();
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE(m->complete);
  EXPECT_EQ(m->fingerprint, "f1");

  ASSERT_TRUE((*store)->BeginBuild(meta).ok());
  EXPECT_FALSE((*store)->FloorByRank(40).has_value());
  meta.complete = true;
  meta.nb_events = 3;
  meta.traces = {{3, 1, 2}};
  meta.properties["reader.truncated_packets"] = "1";
  ASSERT_TRUE((*store)->Finish(meta).ok());
  m = (*store)->ReadMeta();
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->complete);
  EXPECT_EQ(m->nb_events, 3u);
  EXPECT_EQ(m->traces[0].end, 2);
  EXPECT_EQ(m->properties["reader.truncated_packets"], "1");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::storage
