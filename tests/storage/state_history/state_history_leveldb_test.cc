// LevelDB-specific lifecycle of a state history: reopen without rebuild,
// rebuild after a crash or a version/fingerprint change, stores that do not
// disturb each other.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "storage/leveldb_state_history.h"
#include "tests/storage/state_history/state_history_test_util.h"

namespace vmtrace::storage {
namespace {

using testing_util::TempDir;

StateStoreOptions Opts(const std::string& dir, int version = 1,
                       const std::string& fp = "fp") {
  return {dir, "kernel", version, fp, 8};
}

void WriteSample(LevelDbStateHistory* h) {
  Quark a = h->GetOrAddPath({"CPUs", "0"});
  Quark b = h->GetOrAddPath({"Threads", "42", "Exec"});
  for (int k = 0; k < 500; ++k) {
    h->Set(k * 3, a, StateValue::Int(k % 4));
    if (k % 50 == 0)
      h->Set(k * 3, b, StateValue::Str("name" + std::to_string(k)));
    if (k % 100 == 0) {
      ASSERT_TRUE(h->Flush(k * 3).ok());
    }
  }
  ASSERT_TRUE(h->Close(1500).ok());
}

TEST(LevelDbStateHistoryTest, ReopenAfterCloseLoadsWithoutRebuild) {
  std::string dir = TempDir("reopen");
  std::vector<StateInterval> before_s, before_at;
  std::vector<int64_t> times = {-5, 0, 1, 2, 299, 300, 777, 1499, 1500, 1600};
  {
    auto h = LevelDbStateHistory::Open(Opts(dir));
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE((*h)->needs_build());
    WriteSample(h->get());
    before_s = *(*h)->QuerySampled({1, 2, 3, 4, 5}, times);
    before_at = *(*h)->QueryAt(1000);
    EXPECT_FALSE(before_s.empty());
  }
  auto h = LevelDbStateHistory::Open(Opts(dir));
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE((*h)->needs_build());
  EXPECT_TRUE((*h)->complete());
  EXPECT_EQ((*h)->start_time(), 0);
  EXPECT_EQ((*h)->flushed_until(), 1500);
  EXPECT_EQ((*h)->Find({"Threads", "42", "Exec"}), 5u);
  EXPECT_EQ((*h)->Children(kRootQuark).size(), 2u);
  EXPECT_EQ(*(*h)->QuerySampled({1, 2, 3, 4, 5}, times), before_s);
  EXPECT_EQ(*(*h)->QueryAt(1000), before_at);
  EXPECT_EQ((*h)->QueryRange(2, 0, 1500)->size(), 500u);
  // The writer of a complete store is inert.
  EXPECT_FALSE((*h)->Flush(2000).ok());
  (*h)->Set(2000, 2, StateValue::Int(9));
  EXPECT_FALSE((*h)->Close(3000).ok());
  h->reset();
  std::filesystem::remove_all(dir);
}

TEST(LevelDbStateHistoryTest, CrashBeforeCloseRebuildsEmpty) {
  std::string dir = TempDir("crash");
  {
    auto h = LevelDbStateHistory::Open(Opts(dir));
    ASSERT_TRUE(h.ok());
    Quark a = (*h)->GetOrAdd(kRootQuark, "a");
    for (int k = 0; k < 1000; ++k) (*h)->Set(k, a, StateValue::Int(k));
    ASSERT_TRUE((*h)->Flush(1000).ok());
    // Destroyed without Close(): a killed pass.
  }
  auto h = LevelDbStateHistory::Open(Opts(dir));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE((*h)->needs_build());
  EXPECT_FALSE((*h)->complete());
  EXPECT_EQ((*h)->AttributeCount(), 1u);
  EXPECT_FALSE((*h)->Find({"a"}).has_value());
  Quark a = (*h)->GetOrAdd(kRootQuark, "a");
  EXPECT_EQ(a, 1u);
  ASSERT_TRUE((*h)->Flush(5000).ok());
  EXPECT_TRUE((*h)->QueryRange(a, 0, 5000)->empty());
  h->reset();
  // The rebuilt store is itself interrupted: still needs a build.
  h = LevelDbStateHistory::Open(Opts(dir));
  EXPECT_TRUE((*h)->needs_build());
  h->reset();
  std::filesystem::remove_all(dir);
}

TEST(LevelDbStateHistoryTest, VersionOrFingerprintChangeRebuilds) {
  std::string dir = TempDir("version");
  {
    auto h = LevelDbStateHistory::Open(Opts(dir));
    WriteSample(h->get());
  }
  EXPECT_FALSE((*LevelDbStateHistory::Open(Opts(dir)))->needs_build());
  {
    auto h = LevelDbStateHistory::Open(Opts(dir, 2));
    EXPECT_TRUE((*h)->needs_build());
    EXPECT_EQ((*h)->AttributeCount(), 1u);
    WriteSample(h->get());
  }
  EXPECT_FALSE((*LevelDbStateHistory::Open(Opts(dir, 2)))->needs_build());
  EXPECT_TRUE(
      (*LevelDbStateHistory::Open(Opts(dir, 2, "other")))->needs_build());
  // The fingerprint change wiped the version-2 history too.
  EXPECT_TRUE((*LevelDbStateHistory::Open(Opts(dir, 2)))->needs_build());
  std::filesystem::remove_all(dir);
}

TEST(LevelDbStateHistoryTest, DroppingOneStoreLeavesAnotherIntact) {
  std::string base = TempDir("drop");
  std::string d1 = base + "/kernel", d2 = base + "/cpu-usage";
  for (const auto& d : {d1, d2}) {
    auto h = LevelDbStateHistory::Open(Opts(d));
    WriteSample(h->get());
  }
  std::filesystem::remove_all(d1);
  auto h2 = LevelDbStateHistory::Open(Opts(d2));
  ASSERT_TRUE(h2.ok());
  EXPECT_FALSE((*h2)->needs_build());
  EXPECT_EQ((*h2)->QueryRange(2, 0, 1500)->size(), 500u);
  auto h1 = LevelDbStateHistory::Open(Opts(d1));
  EXPECT_TRUE((*h1)->needs_build());
  h1->reset();
  h2->reset();
  std::filesystem::remove_all(base);
}

}  // namespace
}  // namespace vmtrace::storage
