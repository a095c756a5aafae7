// LevelDbStateHistory: the state history of one analysis in its own LevelDB
// directory (dropping it with std::filesystem::remove_all touches no other
// store). Implements both StateHistory and StateWriter; the semantics of
// Set/Flush/Close and of the time bounds are those of MemoryStateHistory
// (memory_state_history.h), against which it is tested.
//
// Key layout (integers big-endian so LevelDB's byte order is numeric; time
// keys flip the sign bit, tk(t) = t ^ 2^63, so negative times sort first):
//   "m"                          -> meta (JSON): formatVersion, analysisId,
//                                   analysisVersion, fingerprint, complete,
//                                   startTime, endTime, intervals, clamped
//   "a" quark:u32                -> varint(parent) name  (attribute tree)
//   "s" id:u32                   -> bytes               (string table)
//   "i" quark:u32 tk(last_end):u64 -> block of consecutive intervals of the
//                                   quark, the last one ending at last_end
// A block holds up to kBlockIntervals intervals in time order:
//   varint(last_end - first_start)
//   per interval: varint(duration << 1 | has_gap) [varint(gap)] value
//   where start = previous end + 1 + gap (first_start for the first), end =
//   start + duration, and value = varint code: 0 null, (zigzag(i) << 2) | 1,
//   (string id << 2) | 2, or 3 followed by varint(zigzag(i)) for huge ints.
//   "c" quark:u32 ~tk(end):u64   -> checkpoint: the cumulative totals
//                                   (StateHistory::QueryTotals) of every
//                                   interval of the quark ending at or before
//                                   `end`, the last end of one of its blocks:
//                                   varint(n), then n x varint(zigzag(value))
//                                   varint(ns) varint(count), by value.
//                                   The time is inverted so that a forward
//                                   Seek() finds the latest checkpoint <= t.
// A checkpoint is written every kCheckpointBlocks blocks of a quark while
// the quark has held at most kMaxTotalsValues distinct integer values (the
// writer keeps the running totals; past the cap it drops them and writes no
// more checkpoints for that quark, e.g. a CPU's current-thread row).
// Blocks are cut when full, at Flush() and at Close(); a block is never
// rewritten (rewriting partial blocks was measured: LevelDB tombstones made
// reads and writes slower). Hence Flush() at a modest rate -- every ~100k
// intervals or ~100 ms, not per event -- keeps blocks near full size. Typical
// cost: 3-5 bytes per interval before snappy.
//
// "x" quark:u32 -> index of the sampling copy of a complete store's blocks
//                   (a flat file beside LevelDB's, leveldb_state_flat.h),
//                   written by Close(): QuerySampled of a complete store
//                   reads it instead of seeking LevelDB per sample.
//
// Reads. The interval of quark q containing t is in the first block whose
// key is >= "i" q tk(t): one Seek, then decoding at most one block. A
// sampled query walks each quark forward with one iterator (a consistent
// snapshot), decoding consecutive blocks and seeking only when the next
// sample lies beyond the next block: its cost is bounded by quarks x samples
// lookups and never reads blocks lying entirely between two samples.
//
// Visibility. Full blocks may reach LevelDB between flushes (one unsynced
// WriteBatch every batch_intervals intervals), but readers use the LevelDB
// snapshot taken by the last Flush()/Close(): they see exactly what was
// flushed. A complete store opened from disk is read without a snapshot.
//
// Totals. QueryTotals(q, t) seeks the latest checkpoint before t and
// decodes forward from it to t: at most kCheckpointBlocks blocks (of up to
// kBlockIntervals intervals) per time; ascending times reuse the walk.
//
// Crash safety, as IndexStore: Open() of a store that is new, incomplete
// (no Close() before the process died or the object was destroyed), or made
// by another format/analysis id/analysis version/fingerprint wipes it and
// records an incomplete meta, synced, before anything else; needs_build()
// is then true and the caller writes the history. Close() writes the final
// meta, synced. Otherwise the history is loaded complete and the writer
// methods are ignored (Set/GetOrAdd change nothing on disk, Flush/Close
// fail).
#ifndef VMTRACE_STORAGE_LEVELDB_STATE_HISTORY_H_
#define VMTRACE_STORAGE_LEVELDB_STATE_HISTORY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/memory_state_history.h"
#include "storage/state_history.h"

namespace leveldb {
class Cache;
class DB;
class Snapshot;
class WriteBatch;
}  // namespace leveldb

namespace vmtrace {
class DeadlineCheck;
}  // namespace vmtrace

namespace vmtrace::storage {

class FlatBlocks;

struct StateStoreOptions {
  std::string dir;
  std::string analysis_id;
  int analysis_version = 0;
  std::string fingerprint;  // identifies the trace(s) analysed
  size_t batch_intervals = 8192;
  // When true, Close() also writes a sampling copy of the blocks
  // (leveldb_state_flat.h) and QuerySampled on a complete store reads it:
  // whole-range sampled queries stay flat as the trace grows (100M / 10M
  // events ~1.4x instead of 4-9x) but the state store doubles on disk and
  // closing it re-reads it once. Off by default: the doubled store breaks
  // the stores <= 0.3 x the trace budget until the copy replaces the
  // LevelDB blocks instead of duplicating them.
  bool sampling_copy = false;
};

class LevelDbStateHistory : public StateHistory, public StateWriter {
 public:
  // 3: totals checkpoints ("c" keys). 4: the sampling copy of the blocks
  // and its index ("x" keys, leveldb_state_flat.h).
  static constexpr int kFormatVersion = 4;
  static constexpr uint32_t kBlockIntervals = 64;
  // Blocks of a quark between two totals checkpoints: the trade of store
  // size against decoding per time. A checkpoint costs ~15 bytes plus ~10
  // per value, against ~200-300 bytes per full block (less for the small
  // blocks cut at flushes); with 8 the stores grew by 2-3% (demo traces)
  // while a totals query decodes at most 8 blocks (512 intervals, a few
  // microseconds) per time. 1 would make every block carry a checkpoint
  // (+20-40%) for little gain; 64 would make each edge cost as much as a
  // short scan.
  static constexpr uint32_t kCheckpointBlocks = 8;

  // Opens (creating, or wiping as described above) the store in opts.dir.
  static StatusOr<std::unique_ptr<LevelDbStateHistory>> Open(
      const StateStoreOptions& opts);
  // Without Close() the store stays incomplete and is rebuilt on next open.
  ~LevelDbStateHistory() override;

  // True when the caller must write the history (then Close() it); false
  // when a complete history was loaded.
  bool needs_build() const { return needs_build_; }
  // Bytes of the store's directory on disk.
  uint64_t ApproximateSize() const;
  // Closed intervals written so far (or stored, for a loaded store).
  uint64_t interval_count() const { return intervals_.load(); }
  // Number of Set() calls whose time went backwards and was clamped.
  uint64_t clamped_sets() const { return clamped_sets_; }

  // StateHistory
  std::optional<Quark> Find(
      const std::vector<std::string>& path) const override;
  std::optional<Quark> Child(Quark parent,
                             std::string_view name) const override;
  std::vector<Quark> Children(Quark parent) const override;
  std::string Name(Quark q) const override;
  Quark Parent(Quark q) const override;
  Quark AttributeCount() const override;
  int64_t start_time() const override;
  int64_t flushed_until() const override;
  bool complete() const override { return complete_.load(); }
  StatusOr<std::vector<StateInterval>> QueryAt(
      int64_t t, Quark root = kRootQuark) const override;
  StatusOr<std::vector<StateInterval>> QuerySampled(
      const std::vector<Quark>& quarks,
      const std::vector<int64_t>& times) const override;
  StatusOr<std::vector<StateInterval>> QueryRange(Quark q, int64_t t1,
                                                  int64_t t2) const override;
  StatusOr<FirstLastIntervals> FirstLast(Quark q) const override;
  StatusOr<std::vector<ValueTotals>> QueryTotals(
      Quark q, const std::vector<int64_t>& times) const override;

  // StateWriter
  Quark GetOrAdd(Quark parent, std::string_view name) override;
  void EndSubtree(int64_t t, Quark q) override;
  void Set(int64_t t, Quark q, StateValue value) override;
  const StateValue& Current(Quark q) const override;
  Status Flush(int64_t now) override;
  Status Close(int64_t end_time) override;

 private:
  class Reader;
  struct WriterQuark {
    bool open = false;
    int64_t start = 0;
    StateValue value;
    std::string body;  // encoded intervals of the block being built
    uint32_t n = 0;
    int64_t first_start = 0;
    int64_t last_end = 0;
    // Totals of every closed interval (checkpoints), until over the cap.
    ValueTotals totals;
    bool totals_capped = false;
    uint32_t blocks_since_checkpoint = 0;
  };

  LevelDbStateHistory(StateStoreOptions opts, std::unique_ptr<leveldb::DB> db,
                      std::shared_ptr<leveldb::Cache> cache);
  Status Load();        // reads meta, tree and strings of a complete store
  Status BeginBuild();  // wipes and writes the incomplete meta
  std::string MetaJson(bool complete, int64_t end) const;
  void CloseInterval(Quark q, int64_t end);
  void CutBlock(Quark q);
  uint64_t InternString(const std::string& s);
  Status WriteBatch(bool sync);
  void PublishSnapshot();
  // The snapshot readers must use; `*ok` false when nothing is readable yet.
  std::shared_ptr<const leveldb::Snapshot> ReadSnapshot(bool* ok) const;
  std::shared_ptr<const FlatBlocks> Flat() const;
  StateValue DecodeValue(uint64_t code, uint64_t big) const;
  template <class R>
  Status SampleQuark(Quark q, const std::vector<int64_t>& times, R* r,
                     DeadlineCheck* deadline,
                     std::vector<StateInterval>* out) const;

  StateStoreOptions opts_;
  std::shared_ptr<leveldb::Cache> cache_;  // outlives db_
  std::unique_ptr<leveldb::DB> db_;
  bool needs_build_ = false;

  mutable std::shared_mutex tree_mu_;  // guards tree_ and strings_
  AttributeTree tree_;
  std::vector<std::string> strings_;

  mutable std::mutex snap_mu_;
  std::shared_ptr<const leveldb::Snapshot> snapshot_;
  // The sampling copy of a complete store (null until then); under snap_mu_.
  std::shared_ptr<const FlatBlocks> flat_;

  // Writer-thread state.
  std::vector<WriterQuark> writer_;
  std::unordered_map<std::string, uint64_t> string_ids_;
  std::unique_ptr<leveldb::WriteBatch> batch_;
  size_t batch_count_ = 0;     // intervals in batch_
  size_t buffered_count_ = 0;  // intervals in partial blocks
  std::vector<Quark> dirty_;   // quarks with a partial block
  uint64_t clamped_sets_ = 0;
  Status write_status_;  // first failure of an automatic batch write

  std::atomic<uint64_t> intervals_{0};
  std::atomic<bool> has_start_{false};
  std::atomic<int64_t> start_{0};
  std::atomic<bool> has_flushed_{false};
  std::atomic<int64_t> flushed_{0};
  std::atomic<bool> complete_{false};
};

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_LEVELDB_STATE_HISTORY_H_
