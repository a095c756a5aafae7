// LevelDbStateHistory::QueryTotals: cumulative time per value from the
// checkpoints written with the blocks (key layout in leveldb_state_history.h).
#include <leveldb/db.h>

#include <limits>
#include <memory>

#include "base/deadline.h"
#include "storage/leveldb_state_codec.h"
#include "storage/leveldb_state_history.h"
#include "storage/leveldb_state_reader.h"

namespace vmtrace::storage {

StatusOr<std::vector<ValueTotals>> LevelDbStateHistory::QueryTotals(
    Quark q, const std::vector<int64_t>& times) const {
  std::vector<ValueTotals> out(times.size());
  bool ok;
  auto snap = ReadSnapshot(&ok);
  if (!ok || times.empty()) return out;
  {
    std::shared_lock lock(tree_mu_);
    if (q >= tree_.size()) return out;
  }
  leveldb::ReadOptions ro;
  ro.snapshot = snap.get();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  std::unique_ptr<leveldb::Iterator> cit(db_->NewIterator(ro));
  Reader r(it.get());

  // The walk: `acc` holds the totals of every interval ending at or before
  // `done` (nothing yet when !started); the reader moves forward from there.
  // For each time t, if a checkpoint lies between `done` and t, the walk
  // jumps to it (one Seek) instead of decoding what lies in between; it
  // then decodes the intervals ending before t and clips the one holding t.
  ValueTotals acc;
  bool started = false;
  bool from_origin = true;  // `done` is -infinity: nothing added yet
  int64_t done = 0;
  DeadlineCheck deadline(256);
  for (size_t k = 0; k < times.size(); ++k) {
    const int64_t t = times[k];
    if (t == std::numeric_limits<int64_t>::min()) continue;  // nothing before
    const bool behind = started && !from_origin && done > t - 1;
    // Dense samples: when t lies within the block the walk is in, the rest
    // of that block is all there is to decode, and no checkpoint can save
    // more than that, so the checkpoint Seek is skipped.
    const bool near = started && !behind && r.BlockReaches(t - 1);
    // A checkpoint at E <= t - 1 covers intervals ending before t.
    bool have_cp = false;
    if (!near) {
      cit->Seek(codec::CheckpointKey(q, t - 1));
      have_cp = cit->Valid() && codec::IsCheckpointKey(cit->key(), q);
    }
    const int64_t cp = have_cp ? codec::CheckpointTime(cit->key()) : 0;
    const bool jump = have_cp && (from_origin || cp > done);
    if (!started || behind || jump) {
      acc.clear();
      from_origin = true;
      if (have_cp) {
        if (!codec::DecodeTotals(cit->value(), &acc)) {
          return DataLoss("state store: corrupt totals checkpoint of quark " +
                          std::to_string(q));
        }
        from_origin = false;
        done = cp;
      }
      r.Reset(q);
      started = true;
    }
    ValueTotals& res = out[k];
    bool partial = false;
    int64_t pv = 0, pns = 0;
    while (true) {
      VMTRACE_RETURN_IF_ERROR(deadline.Tick());
      const int64_t from =
          from_origin ? std::numeric_limits<int64_t>::min() : done + 1;
      if (!r.SeekEnd(from)) break;
      if (r.start >= t) break;
      int64_t v;
      const bool is_int = r.IntValue(&v);
      if (r.end >= t) {  // holds t: clipped, not part of the walk
        if (is_int) {
          partial = true;
          pv = v;
          pns = int64_t(uint64_t(t) - uint64_t(r.start));
        }
        break;
      }
      if (is_int) {
        AddTotal(&acc, v, int64_t(uint64_t(r.end) - uint64_t(r.start) + 1), 1);
      }
      done = r.end;
      from_origin = false;
    }
    res = acc;
    if (partial) AddTotal(&res, pv, pns, 1);
  }
  if (!it->status().ok() || !cit->status().ok()) {
    return IoError("state query: " + (!it->status().ok()
                                          ? it->status().ToString()
                                          : cit->status().ToString()));
  }
  return out;
}

}  // namespace vmtrace::storage
