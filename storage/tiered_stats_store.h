// TieredStatsStore: per-time-chunk aggregates {count, total, max} by key, in
// tiers, in their own LevelDB directory, so that the aggregate of any run of
// chunks is read from O(tiers) stored records whatever its length.
//
// Model. Time is cut into chunks of a fixed length chunk_ns (chunk c covers
// [c * chunk_ns, (c + 1) * chunk_ns), floor division). The writer adds the
// tallies of each chunk once, in increasing chunk order; tier t node n sums
// the chunks [n * 16^t, (n + 1) * 16^t) (tier 0 = the chunks). Sum(c1, c2)
// decomposes [c1, c2) into at most 15 nodes per side and tier and reads
// each tier's nodes with one iterator. Empty chunks and nodes are not
// stored. Small blobs (the caller's state at chunk boundaries) are stored
// beside them under the caller's keys.
//
// Key layout (big-endian integers):
//   "m"                        -> meta (JSON): formatVersion, statsId,
//                                 version, fingerprint, chunkNs, complete
//   "t" tier:u8 (node ^ 2^63):u64 -> varint(n), n x (varint key,
//                                 varint count, varint(zigzag total),
//                                 varint(zigzag max))
//   "x" caller key             -> blob
//
// Visibility. Readers may use the chunks below ready_until() (every node
// lying below it is written before the bound moves), and every chunk once
// complete(). Writes are batched; Publish() writes the batch and moves the
// bound.
//
// Crash safety, as the state histories: Open() of a store that is new,
// incomplete (no Close() before the process died or the object was
// destroyed) or made by another format/id/version/fingerprint/chunk length
// wipes it and writes an incomplete meta, synced, before anything else;
// needs_build() is then true. Close() writes the last nodes and the final
// meta in one synced batch. A complete store is never written again.
#ifndef VMTRACE_STORAGE_TIERED_STATS_STORE_H_
#define VMTRACE_STORAGE_TIERED_STATS_STORE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace leveldb {
class DB;
class Iterator;
class WriteBatch;
}  // namespace leveldb

namespace vmtrace::storage {

struct Tally {
  int64_t count = 0, total = 0, max = 0;
  void Add(int64_t ns) {
    ++count;
    total += ns;
    max = std::max(max, ns);
  }
  void Merge(const Tally& o) {
    count += o.count;
    total += o.total;
    max = std::max(max, o.max);
  }
  bool operator==(const Tally& o) const {
    return count == o.count && total == o.total && max == o.max;
  }
};
using TallyMap = std::map<uint64_t, Tally>;

struct TieredStatsOptions {
  std::string dir;
  std::string stats_id;
  int version = 0;
  std::string fingerprint;  // identifies what the tallies were computed from
  int64_t chunk_ns = 1 << 20;
};

class TieredStatsStore {
 public:
  static constexpr int kFormatVersion = 1;
  static constexpr int kTiers = 8;       // tier 7 nodes span 16^7 chunks
  static constexpr int kFanoutLog2 = 4;  // x16 per tier

  static StatusOr<std::unique_ptr<TieredStatsStore>> Open(
      const TieredStatsOptions& opts);
  // Without Close() the store stays incomplete and is rebuilt on next open.
  ~TieredStatsStore();

  bool needs_build() const { return needs_build_; }
  bool complete() const { return complete_.load(); }
  int64_t chunk_ns() const { return opts_.chunk_ns; }
  // The chunk holding t (floor division).
  int64_t ChunkOf(int64_t t) const;
  // Chunks below this index may be read (all of them once complete).
  int64_t ready_until() const;
  uint64_t ApproximateSize() const;

  // --- write side (one thread, only while needs_build()) ---
  // Chunks in strictly increasing order.
  Status AddChunk(int64_t chunk, const TallyMap& tallies);
  Status PutBlob(const std::string& key, const std::string& value);
  // Makes every chunk below `chunk` readable (no chunk below it may be
  // added later).
  Status Publish(int64_t chunk);
  // Writes what is pending and marks the store complete (synced).
  Status Close();

  // --- read side (any thread) ---
  // Sum of the chunks [c1, c2); both must be <= ready_until() unless
  // complete.
  StatusOr<TallyMap> Sum(int64_t c1, int64_t c2) const;
  // The tallies of chunk c alone (one lookup); c < ready_until().
  StatusOr<TallyMap> Chunk(int64_t c) const;
  StatusOr<std::optional<std::string>> GetBlob(const std::string& key) const;

 private:
  TieredStatsStore(TieredStatsOptions opts, std::unique_ptr<leveldb::DB> db);
  bool Load();
  Status BeginBuild();
  std::string MetaJson(bool complete) const;
  void WriteNode(int tier, int64_t node, const TallyMap& t);
  // Writes the accumulated nodes of tiers >= 1 that end at or before chunk.
  void EmitNodesBefore(int64_t chunk);
  Status ReadTier(leveldb::Iterator* it, int tier, int64_t n1, int64_t n2,
                  TallyMap* out) const;
  Status WriteBatch(bool sync);

  TieredStatsOptions opts_;
  std::unique_ptr<leveldb::DB> db_;
  bool needs_build_ = false;
  std::atomic<bool> complete_{false};
  std::atomic<int64_t> ready_{INT64_MIN};

  // Writer state: the node being summed per tier (index 0 unused).
  struct Acc {
    bool has = false;
    int64_t node = 0;
    TallyMap tallies;
  };
  std::vector<Acc> acc_;
  std::unique_ptr<leveldb::WriteBatch> batch_;
  int64_t last_chunk_ = INT64_MIN;
};

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_TIERED_STATS_STORE_H_
