// The write side of LevelDbStateHistory: intervals are closed into
// per-quark blocks, which are cut when full or at Flush()/Close() and
// written in batches (see the key layout in leveldb_state_history.h).
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <algorithm>

#include "storage/leveldb_state_codec.h"
#include "storage/leveldb_state_flat.h"
#include "storage/leveldb_state_history.h"

namespace vmtrace::storage {

using codec::CheckpointKey;
using codec::EncodeTotals;
using codec::IntervalKey;
using codec::PrefixKey;
using codec::PutVarint;
using codec::ZigZag;

Quark LevelDbStateHistory::GetOrAdd(Quark parent, std::string_view name) {
  {
    std::shared_lock lock(tree_mu_);
    if (auto c = tree_.Child(parent, name)) return *c;
  }
  bool added = false;
  Quark q;
  {
    std::unique_lock lock(tree_mu_);
    q = tree_.GetOrAdd(parent, name, &added);
    parent = tree_.Parent(q);
  }
  if (added && needs_build_) {
    std::string v;
    PutVarint(&v, parent);
    v.append(name);
    batch_->Put(PrefixKey('a', q), v);
  }
  return q;
}

uint64_t LevelDbStateHistory::InternString(const std::string& s) {
  auto it = string_ids_.find(s);
  if (it != string_ids_.end()) return it->second;
  uint64_t id;
  {
    std::unique_lock lock(tree_mu_);
    id = strings_.size();
    strings_.push_back(s);
  }
  string_ids_.emplace(s, id);
  batch_->Put(PrefixKey('s', uint32_t(id)), s);
  return id;
}

void LevelDbStateHistory::CloseInterval(Quark q, int64_t end) {
  WriterQuark& w = writer_[q];
  uint64_t prev_end;
  if (w.n == 0) {
    w.first_start = w.start;
    prev_end = uint64_t(w.start) - 1;
    dirty_.push_back(q);
  } else {
    prev_end = uint64_t(w.last_end);
  }
  uint64_t gap = uint64_t(w.start) - prev_end - 1;
  uint64_t dur = uint64_t(end) - uint64_t(w.start);
  PutVarint(&w.body, (dur << 1) | (gap != 0));
  if (gap != 0) PutVarint(&w.body, gap);
  switch (w.value.kind) {
    case StateValue::kNull:
      PutVarint(&w.body, 0);
      break;
    case StateValue::kInt: {
      if (!w.totals_capped) {
        // Unsigned: [start, end + 1) never overflows the arithmetic.
        AddTotal(&w.totals, w.value.i, int64_t(dur + 1), 1);
        if (w.totals.size() > kMaxTotalsValues) {
          w.totals_capped = true;
          ValueTotals().swap(w.totals);
        }
      }
      uint64_t z = ZigZag(w.value.i);
      if (z < (uint64_t(1) << 62)) {
        PutVarint(&w.body, (z << 2) | 1);
      } else {
        PutVarint(&w.body, 3);
        PutVarint(&w.body, z);
      }
      break;
    }
    case StateValue::kString:
      PutVarint(&w.body, (InternString(w.value.s) << 2) | 2);
      break;
  }
  w.last_end = end;
  ++w.n;
  ++buffered_count_;
  intervals_.fetch_add(1, std::memory_order_relaxed);
  w.open = false;
  w.value = StateValue();
  if (w.n >= kBlockIntervals) CutBlock(q);
  // Bound the memory of partial blocks when many quarks are active.
  if (buffered_count_ > 8 * std::max<size_t>(opts_.batch_intervals, 1024)) {
    for (Quark d : dirty_) CutBlock(d);
    dirty_.clear();
  }
}

void LevelDbStateHistory::CutBlock(Quark q) {
  WriterQuark& w = writer_[q];
  if (w.n == 0) return;
  std::string v;
  v.reserve(w.body.size() + 10);
  PutVarint(&v, uint64_t(w.last_end) - uint64_t(w.first_start));
  v += w.body;
  batch_->Put(IntervalKey(q, w.last_end), v);
  // Totals are those of every interval up to this block's last end, since
  // a block holds every interval closed before it was cut.
  if (!w.totals_capped && ++w.blocks_since_checkpoint >= kCheckpointBlocks) {
    batch_->Put(CheckpointKey(q, w.last_end), EncodeTotals(w.totals));
    w.blocks_since_checkpoint = 0;
  }
  batch_count_ += w.n;
  buffered_count_ -= w.n;
  w.body.clear();
  w.n = 0;
  if (batch_count_ >= opts_.batch_intervals) {
    // Not synced: an interrupted build is detected by its meta.
    Status s = WriteBatch(false);
    if (!s.ok() && write_status_.ok()) write_status_ = s;
  }
}

Status LevelDbStateHistory::WriteBatch(bool sync) {
  leveldb::WriteOptions wo;
  wo.sync = sync;
  leveldb::Status s = db_->Write(wo, batch_.get());
  batch_->Clear();
  batch_count_ = 0;
  return s.ok() ? Status::Ok() : IoError("state store write: " + s.ToString());
}

void LevelDbStateHistory::Set(int64_t t, Quark q, StateValue value) {
  if (!needs_build_ || complete_.load()) return;
  if (q >= writer_.size()) {
    std::shared_lock lock(tree_mu_);
    if (q >= tree_.size()) return;  // unknown quark: ignore
    writer_.resize(tree_.size());
  }
  WriterQuark& w = writer_[q];
  if (w.open) {
    if (w.value == value) return;
    if (t < w.start) {
      t = w.start;
      ++clamped_sets_;
    }
    if (t == w.start) {
      w.value = std::move(value);  // the old value lasted no time
      return;
    }
    CloseInterval(q, t - 1);
  }
  w.open = true;
  w.start = t;
  w.value = std::move(value);
  if (!has_start_.load() || t < start_.load()) {
    start_.store(t);
    has_start_.store(true);
  }
}

void LevelDbStateHistory::EndSubtree(int64_t t, Quark q) {
  if (!Current(q).is_null()) Set(t, q, StateValue());
  for (Quark c : Children(q)) EndSubtree(t, c);
}

const StateValue& LevelDbStateHistory::Current(Quark q) const {
  static const StateValue kNullValue;
  return q < writer_.size() && writer_[q].open ? writer_[q].value : kNullValue;
}

Status LevelDbStateHistory::Flush(int64_t now) {
  if (!needs_build_ || complete_.load()) {
    return FailedPrecondition("state history is complete");
  }
  for (Quark q : dirty_) CutBlock(q);
  dirty_.clear();
  VMTRACE_RETURN_IF_ERROR(WriteBatch(false));
  VMTRACE_RETURN_IF_ERROR(write_status_);
  // The snapshot is taken after the write: readers see every block cut so
  // far and nothing the writer adds later.
  PublishSnapshot();
  if (!has_flushed_.load() || now > flushed_.load()) flushed_.store(now);
  has_flushed_.store(true);
  return Status::Ok();
}

Status LevelDbStateHistory::Close(int64_t end_time) {
  if (!needs_build_ || complete_.load()) {
    return FailedPrecondition("state history is complete");
  }
  for (Quark q = 0; q < writer_.size(); ++q) {
    if (writer_[q].open) CloseInterval(q, std::max(end_time, writer_[q].start));
  }
  for (Quark q : dirty_) CutBlock(q);
  dirty_.clear();
  VMTRACE_RETURN_IF_ERROR(write_status_);
  int64_t end =
      has_flushed_.load() ? std::max(end_time, flushed_.load()) : end_time;
  // The last blocks first, then their sampling copy (leveldb_state_flat.h),
  // synced, then one synced write of its index with the meta saying
  // "complete": a crash in between leaves an incomplete store, rebuilt.
  std::shared_ptr<const FlatBlocks> flat;
  if (opts_.sampling_copy) {
    VMTRACE_RETURN_IF_ERROR(WriteBatch(false));
    VMTRACE_RETURN_IF_ERROR(
        FlatBlocks::Write(db_.get(), opts_.dir, batch_.get()));
  }
  batch_->Put("m", MetaJson(true, end));
  VMTRACE_RETURN_IF_ERROR(WriteBatch(true));
  if (opts_.sampling_copy) {
    VMTRACE_ASSIGN_OR_RETURN(flat, FlatBlocks::Open(db_.get(), opts_.dir));
  }
  // Snapshot first, bound second: a reader that sees the new bound also
  // sees every interval it promises.
  PublishSnapshot();
  {
    std::lock_guard lock(snap_mu_);
    flat_ = std::move(flat);
  }
  flushed_.store(end);
  has_flushed_.store(true);
  complete_.store(true);
  return Status::Ok();
}

}  // namespace vmtrace::storage
