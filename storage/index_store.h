// IndexStore: the checkpoint index of one experiment, in its own LevelDB.
//
// A checkpoint ties an event rank to the reader position just before that
// event (an opaque blob from ctf::EventReader::SavePosition), its timestamp
// and the number of events of each trace before it. With one checkpoint every
// N events, any rank or time is reached by restoring the floor checkpoint and
// decoding at most N events.
//
// Key layout (all integers big-endian so LevelDB's byte order is numeric):
//   "m"                       -> IndexMeta (JSON): state, fingerprint, totals
//   "c" rank:u64              -> Checkpoint value (varints + position blob)
//   "s" (ts ^ 2^63):u64 rank:u64 -> "" (time index of the checkpoints)
//   "t" rank:u64              -> the timestamps of the events from the
//                                checkpoint at `rank` to the next one (an
//                                opaque blob, EventTimes), written once that
//                                interval is complete
//
// Crash safety: BeginBuild() wipes the database and writes a meta with
// complete=false, synced, before any checkpoint; Finish() writes the final
// meta, synced. A store whose meta is missing or incomplete was interrupted
// and must be rebuilt; callers check ReadMeta() and never trust it otherwise.
#ifndef VMTRACE_STORAGE_INDEX_STORE_H_
#define VMTRACE_STORAGE_INDEX_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace leveldb {
class DB;
}

namespace vmtrace::storage {

struct TraceSummary {
  uint64_t nb_events = 0;
  int64_t start = 0;
  int64_t end = 0;
};

struct IndexMeta {
  // Bumped when the index format or what it records changes; a store with
  // another version is rebuilt.
  static constexpr int kFormatVersion = 2;  // 2: event times per interval
  int format_version = kFormatVersion;
  std::string fingerprint;  // identifies the trace files indexed
  bool complete = false;
  uint64_t nb_events = 0;
  int64_t start = 0;
  int64_t end = 0;
  uint64_t checkpoint_interval = 0;
  std::vector<TraceSummary> traces;
  std::map<std::string, std::string> properties;  // anomalies, messages
};

struct Checkpoint {
  uint64_t rank = 0;
  int64_t timestamp = 0;               // of the event at `rank`
  std::vector<uint64_t> trace_counts;  // events of each trace before rank
  std::string position;                // reader position before the event
};

class IndexStore {
 public:
  // Opens (creating if missing) the store in `dir`.
  static StatusOr<std::unique_ptr<IndexStore>> Open(const std::string& dir);
  ~IndexStore();

  // nullopt if the store holds no meta (new or wiped).
  std::optional<IndexMeta> ReadMeta() const;

  // Wipes everything and records an incomplete meta (synced).
  Status BeginBuild(const IndexMeta& meta);
  // Appends checkpoints in one batch (not synced: an interrupted build is
  // detected by its meta, not by its checkpoints).
  Status Append(const std::vector<Checkpoint>& checkpoints);
  // Appends the event-times blobs of complete checkpoint intervals, keyed
  // by their checkpoint's rank (not synced, as Append).
  Status AppendTimes(
      const std::vector<std::pair<uint64_t, std::string>>& times);
  // The event-times blob of the checkpoint at `rank`; nullopt while its
  // interval is not complete (or for a rank that is not a checkpoint's).
  std::optional<std::string> Times(uint64_t rank) const;
  // Writes the final meta (complete=true expected), synced.
  Status Finish(const IndexMeta& meta);

  // The checkpoint with the largest rank <= `rank`; nullopt if none.
  std::optional<Checkpoint> FloorByRank(uint64_t rank) const;
  // The checkpoint with the largest timestamp < `ts` (the last one among
  // equal timestamps); nullopt if none.
  std::optional<Checkpoint> LastBeforeTime(int64_t ts) const;
  // Approximate bytes on disk.
  uint64_t ApproximateSize() const;

 private:
  IndexStore(std::unique_ptr<leveldb::DB> db, std::string dir);
  std::optional<Checkpoint> GetByRank(uint64_t rank) const;

  std::unique_ptr<leveldb::DB> db_;
  std::string dir_;
};

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_INDEX_STORE_H_
