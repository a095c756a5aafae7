// The stores' LevelDB options (storage/leveldb_options.h): table files are
// read without being mapped (their pages would count in the server's
// resident set), through one block cache shared by every store.
#include "storage/leveldb_options.h"

#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace vmtrace::storage {
namespace {

namespace fs = std::filesystem;

// Mappings of this process whose path ends in ".ldb" (LevelDB tables).
int MappedTables() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int n = 0;
  while (std::getline(maps, line)) {
    n += line.size() >= 4 && line.compare(line.size() - 4, 4, ".ldb") == 0;
  }
  return n;
}

TEST(LevelDbOptions, TablesAreReadWithoutMappingThroughOneSharedCache) {
  const fs::path dir = fs::temp_directory_path() /
                       ("vmtrace-leveldb-options-" + std::to_string(getpid()));
  fs::remove_all(dir);
  leveldb::DB* raw = nullptr;
  ASSERT_TRUE(
      leveldb::DB::Open(StoreOptions(/*compress=*/false), dir.string(), &raw)
          .ok());
  std::unique_ptr<leveldb::DB> db(raw);
  auto value = [](int i) { return std::string(100, char('a' + i % 26)); };
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(
        db->Put(leveldb::WriteOptions(), "k" + std::to_string(i), value(i))
            .ok());
  }
  // Into table files, then read back from them.
  db->CompactRange(nullptr, nullptr);
  int tables = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    tables += e.path().extension() == ".ldb";
  }
  ASSERT_GT(tables, 0);
  for (int i = 0; i < 20000; i += 7) {
    std::string v;
    ASSERT_TRUE(
        db->Get(leveldb::ReadOptions(), "k" + std::to_string(i), &v).ok());
    EXPECT_EQ(v, value(i));
  }
  std::unique_ptr<leveldb::Iterator> it(
      db->NewIterator(leveldb::ReadOptions()));
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(n, 20000);
  EXPECT_EQ(MappedTables(), 0);

  // One environment and one cache for every store.
  EXPECT_EQ(StoreOptions(true).block_cache, StoreOptions(false).block_cache);
  EXPECT_EQ(StoreOptions(true).env, StoreOptions(false).env);
  EXPECT_EQ(StoreOptions(true).compression, leveldb::kSnappyCompression);
  EXPECT_EQ(StoreOptions(false).compression, leveldb::kNoCompression);
  // A missing table is NotFound, as with the default environment.
  leveldb::RandomAccessFile* f = nullptr;
  EXPECT_TRUE(StoreOptions(false)
                  .env->NewRandomAccessFile((dir / "none.ldb").string(), &f)
                  .IsNotFound());
  EXPECT_EQ(f, nullptr);
  it.reset();
  db.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::storage
