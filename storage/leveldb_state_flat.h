// Internal to storage/: the sampling copy of a complete LevelDbStateHistory
// (issue 11 item 5: whole-range sampled queries whose cost does not grow
// with the history).
//
// Why: a sampled query reads one block per quark and sample. Through
// LevelDB that is a Seek() of the merging iterator (every level, every
// level-0 table) once the blocks between two samples are too many to step
// over, and its cost grows with the store (4-6x from 10M to 100M events).
// Close() therefore copies the quark's blocks, in key order, into one flat
// file (kFileName in the store directory) and writes a sparse index per
// quark; a sample then costs a galloping search in memory, one header
// table of at most kGroupBlocks entries and one block in the mapped file,
// at any size.
//
// File: per quark, its blocks in time order, in groups of kGroupBlocks:
//   u8(n) n x [be64(last_end) be32(end of the body from the group start)]
//   then the n bodies (as in the "i" values)
// Index ("x" quark:u32 in the LevelDB store, written with the final meta):
//   be64(end offset of the quark's last block) then, per group of
//   kGroupBlocks consecutive blocks, be64(last_end of its last block)
//   be64(offset of its first block).
// The copy doubles the bytes of the interval blocks on disk; the other
// queries (QueryAt, QueryRange, FirstLast, totals) still read LevelDB.
#ifndef VMTRACE_STORAGE_LEVELDB_STATE_FLAT_H_
#define VMTRACE_STORAGE_LEVELDB_STATE_FLAT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "storage/leveldb_state_reader.h"

namespace leveldb {
class DB;
class WriteBatch;
}  // namespace leveldb

namespace vmtrace::storage {

class FlatBlocks {
 public:
  static constexpr const char* kFileName = "sampling.blocks";
  static constexpr uint32_t kGroupBlocks = 16;
  // Bound of the per-quark indexes kept in memory (16 bytes per group of
  // kGroupBlocks blocks: 1 byte per block of up to 64 intervals; ~3 MB for
  // the 100M demo's VM store): past it the cache is dropped and indexes are
  // read again from LevelDB on demand.
  static constexpr size_t kMaxIndexBytes = size_t(32) << 20;

  struct QuarkIndex {
    uint64_t end = 0;             // end offset of the quark's last block
    std::vector<int64_t> last;    // per group: last end of its last block
    std::vector<uint64_t> first;  // per group: offset of its first block
  };

  // Writes the file from the "i" keys of `db` (synced) and adds the index
  // keys to `batch`, to be written with the final meta.
  static Status Write(leveldb::DB* db, const std::string& dir,
                      leveldb::WriteBatch* batch);
  // Maps the file of a complete store; `db` must outlive the result.
  static StatusOr<std::unique_ptr<FlatBlocks>> Open(leveldb::DB* db,
                                                    const std::string& dir);
  static void Remove(const std::string& dir);
  ~FlatBlocks();

  // The index of quark q (empty when it has no interval); cached.
  StatusOr<std::shared_ptr<const QuarkIndex>> Index(uint32_t q) const;
  const char* data() const { return data_; }
  uint64_t size() const { return size_; }
  // Gives back the mapped pages read so far (MADV_DONTNEED): they count in
  // the server's resident set until then. Safe while other readers use the
  // mapping: the file is read-only, a page read again is faulted in again.
  void ReleasePages() const;

 private:
  FlatBlocks(leveldb::DB* db, const char* data, uint64_t size)
      : db_(db), data_(data), size_(size) {}

  leveldb::DB* db_;
  const char* data_;
  uint64_t size_;
  mutable std::mutex mu_;
  mutable std::unordered_map<uint32_t, std::shared_ptr<const QuarkIndex>>
      cache_;
  mutable size_t cache_bytes_ = 0;
};

// Positions on the first interval of one quark ending at or after a
// non-decreasing sequence of times, like LevelDbStateHistory::Reader.
class FlatReader : public BlockDecoder {
 public:
  explicit FlatReader(const FlatBlocks& f) : f_(f) {}
  // False (with *status set) when the quark's index cannot be read.
  bool Reset(uint32_t q, Status* status);
  bool SeekEnd(int64_t t);
  // A hint: the caller will soon SeekEnd(t) (t not before the current
  // time); starts loading the memory that will need: the header table of
  // its group, or (body) the start of its block once that table is loaded.
  void Prefetch(int64_t t, bool body) const;

 private:
  bool Step() {
    have_iv_ = NextInBlock();
    return have_iv_;
  }

  // The group holding the first block reaching t, searching forward.
  size_t GroupFor(int64_t t) const;
  // Loads group g's header table; false when it is damaged.
  bool EnterGroup(size_t g);

  const FlatBlocks& f_;
  std::shared_ptr<const FlatBlocks::QuarkIndex> idx_;
  size_t group_ = 0;             // the group entered (n_ > 0) or to start at
  uint32_t n_ = 0;               // blocks in group_, 0 before entering one
  uint32_t next_ = 0;            // next block of group_ to consider
  const char* table_ = nullptr;  // group_'s header table
  uint64_t group_at_ = 0;        // offset of group_ in the file
  uint64_t group_bytes_ = 0;     // its size
  int64_t block_last_ = 0;
  bool have_block_ = false;
  bool have_iv_ = false;
};

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_LEVELDB_STATE_FLAT_H_
