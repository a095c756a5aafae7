// Symbolic links inside the data dir are never followed: a store rebuilt or
// an experiment deleted through a planted link leaves the link's target
// untouched.
#include "storage/data_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "storage/index_store.h"
#include "storage/leveldb_state_history.h"

namespace vmtrace::storage {
namespace {

namespace fs = std::filesystem;

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("vmtrace-datadir-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    root_ = base_ / "data";
    outside_ = base_ / "outside";
    fs::create_directories(root_);
    fs::create_directories(outside_);
    // Names LevelDB would delete or rename in a folder it opens or destroys,
    // and one it would not.
    for (const char* name : {"LOG", "CURRENT", "000005.ldb", "keep.txt"}) {
      std::ofstream(outside_ / name) << "outside " << name;
    }
  }
  void TearDown() override { fs::remove_all(base_); }

  // The outside folder holds exactly what SetUp put there.
  void ExpectOutsideUntouched() {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::directory_iterator(outside_)) {
      std::ifstream f(e.path());
      files[e.path().filename().string()] =
          std::string(std::istreambuf_iterator<char>(f), {});
    }
    EXPECT_EQ(files, (std::map<std::string, std::string>{
                         {"000005.ldb", "outside 000005.ldb"},
                         {"CURRENT", "outside CURRENT"},
                         {"LOG", "outside LOG"},
                         {"keep.txt", "outside keep.txt"}}));
  }

  fs::path base_, root_, outside_;
};

TEST_F(DataDirTest, IndexStoreThroughALinkIsRebuiltInARealFolder) {
  const fs::path dir = root_ / "experiments" / "u" / "index";
  fs::create_directories(dir.parent_path());
  fs::create_directory_symlink(outside_, dir);
  auto store = IndexStore::Open(dir.string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->BeginBuild(IndexMeta{}).ok());
  EXPECT_FALSE(fs::is_symlink(dir));
  EXPECT_TRUE(fs::is_directory(dir));
  ExpectOutsideUntouched();
}

TEST_F(DataDirTest, StateHistoryRebuildThroughALinkLeavesTheTarget) {
  StateStoreOptions opts;
  opts.dir = (root_ / "kernel").string();
  opts.analysis_id = "test";
  fs::create_directory_symlink(outside_, opts.dir);
  {
    auto h = LevelDbStateHistory::Open(opts);  // no meta: BeginBuild
    ASSERT_TRUE(h.ok()) << h.status().ToString();
  }
  EXPECT_FALSE(fs::is_symlink(opts.dir));
  ExpectOutsideUntouched();
  // A link to a file planted inside a real store folder is dropped too.
  fs::create_symlink(outside_ / "LOG", fs::path(opts.dir) / "000099.ldb");
  auto h = LevelDbStateHistory::Open(opts);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(fs::exists(fs::path(opts.dir) / "000099.ldb"));
  ExpectOutsideUntouched();
}

TEST_F(DataDirTest, PrepareDataPathReplacesLinkedComponents) {
  fs::create_directory_symlink(outside_, root_ / "experiments");
  ASSERT_TRUE(PrepareDataPath(root_.string(), "experiments/u").ok());
  EXPECT_FALSE(fs::is_symlink(root_ / "experiments"));
  EXPECT_TRUE(fs::is_directory(root_ / "experiments" / "u"));
  EXPECT_FALSE(fs::exists(outside_ / "u"));
  // Links inside the last folder are removed as links.
  fs::create_directory_symlink(outside_, root_ / "experiments" / "u" / "vm");
  ASSERT_TRUE(PrepareDataPath(root_.string(), "experiments/u").ok());
  EXPECT_FALSE(fs::exists(root_ / "experiments" / "u" / "vm"));
  ExpectOutsideUntouched();
  // A file where a folder should be is an error, not deleted.
  std::ofstream(root_ / "experiments" / "f") << "x";
  EXPECT_FALSE(PrepareDataPath(root_.string(), "experiments/f").ok());
  EXPECT_TRUE(fs::exists(root_ / "experiments" / "f"));
}

TEST_F(DataDirTest, RemoveDataPathDeletesLinksNotTargets) {
  const fs::path exp = root_ / "experiments" / "u";
  fs::create_directories(exp / "kernel");
  std::ofstream(exp / "kernel" / "000001.ldb") << "x";
  fs::create_directory_symlink(outside_, exp / "linked-dir");
  fs::create_directory_symlink(outside_, exp / "kernel" / "deeper");
  fs::create_symlink(outside_ / "keep.txt", exp / "linked-file");
  ASSERT_TRUE(RemoveDataPath(root_.string(), "experiments/u").ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(exp)));
  ExpectOutsideUntouched();

  // The experiment folder itself a link: the link goes, the target stays.
  fs::create_directory_symlink(outside_, exp);
  ASSERT_TRUE(RemoveDataPath(root_.string(), "experiments/u").ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(exp)));
  ExpectOutsideUntouched();

  // A linked parent: nothing is deleted at all.
  fs::remove_all(root_ / "experiments");
  fs::create_directory_symlink(outside_, root_ / "experiments");
  Status st = RemoveDataPath(root_.string(), "experiments/keep.txt");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  ExpectOutsideUntouched();
  EXPECT_FALSE(RemoveDataPath(root_.string(), "").ok());
  EXPECT_TRUE(fs::exists(root_));
}

}  // namespace
}  // namespace vmtrace::storage
