#include "storage/leveldb_state_history.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/deadline.h"
#include "storage/data_dir.h"
#include "storage/leveldb_options.h"
#include "storage/leveldb_state_codec.h"
#include "storage/leveldb_state_flat.h"
#include "storage/leveldb_state_reader.h"

namespace vmtrace::storage {

using codec::GetBe32;
using codec::GetBe64;
using codec::GetVarint;
using codec::IntervalKey;
using codec::IsIntervalKey;
using codec::kSignBit;
using codec::UnZigZag;
using codec::ZigZag;

namespace {

StatusOr<std::unique_ptr<leveldb::DB>> OpenDb(const std::string& dir) {
  leveldb::Options options = StoreOptions(/*compress=*/false);
  // Larger memtables mean fewer level-0 files to merge while the pass
  // writes, at a bounded memory cost.
  options.write_buffer_size = 16 << 20;
  // Blocks are already varint-packed (snappy saved ~2x on them): a sampled
  // query over a long history touches one block per sample, and
  // decompressing each one dominated its cost on 10M-event traces.
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &db);
  if (!s.ok()) {
    // A damaged store is disposable: it is only a cache of the trace.
    leveldb::DestroyDB(dir, options);
    s = leveldb::DB::Open(options, dir, &db);
    if (!s.ok()) return IoError("cannot open state store: " + s.ToString());
  }
  return std::unique_ptr<leveldb::DB>(db);
}

}  // namespace

LevelDbStateHistory::LevelDbStateHistory(StateStoreOptions opts,
                                         std::unique_ptr<leveldb::DB> db,
                                         std::shared_ptr<leveldb::Cache> cache)
    : opts_(std::move(opts)),
      cache_(std::move(cache)),
      db_(std::move(db)),
      batch_(std::make_unique<leveldb::WriteBatch>()) {}

LevelDbStateHistory::~LevelDbStateHistory() {
  // Snapshots must go before the DB; the meta stays as it is, so a history
  // that was not closed is rebuilt on next open.
  snapshot_.reset();
  flat_.reset();
  db_.reset();
}

StatusOr<std::unique_ptr<LevelDbStateHistory>> LevelDbStateHistory::Open(
    const StateStoreOptions& opts) {
  // Never a link: a rebuild (DestroyDB) would wipe the folder it points to.
  VMTRACE_RETURN_IF_ERROR(PrepareStoreDir(opts.dir));
  // The block cache is the process-wide one (leveldb_options.h).
  VMTRACE_ASSIGN_OR_RETURN(auto db, OpenDb(opts.dir));
  std::unique_ptr<LevelDbStateHistory> h(
      new LevelDbStateHistory(opts, std::move(db), nullptr));
  if (h->Load().ok()) return h;
  VMTRACE_RETURN_IF_ERROR(h->BeginBuild());
  return h;
}

Status LevelDbStateHistory::Load() {
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), "m", &v).ok()) {
    return NotFound("no meta");
  }
  auto j = nlohmann::json::parse(v, nullptr, false);
  if (!j.is_object()) return DataLoss("unreadable meta");
  try {
    if (j.at("formatVersion").get<int>() != kFormatVersion ||
        j.at("analysisId").get<std::string>() != opts_.analysis_id ||
        j.at("analysisVersion").get<int>() != opts_.analysis_version ||
        j.at("fingerprint").get<std::string>() != opts_.fingerprint ||
        !j.at("complete").get<bool>()) {
      return FailedPrecondition("stale or incomplete store");
    }
    start_ = j.at("startTime").get<int64_t>();
    flushed_ = j.at("endTime").get<int64_t>();
    intervals_ = j.at("intervals").get<uint64_t>();
    clamped_sets_ = j.at("clamped").get<uint64_t>();
  } catch (const nlohmann::json::exception&) {
    return DataLoss("unreadable meta");
  }
  std::unique_ptr<leveldb::Iterator> it(
      db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("a"); it->Valid() && it->key()[0] == 'a'; it->Next()) {
    leveldb::Slice k = it->key(), val = it->value();
    const char* p = val.data();
    uint64_t parent;
    if (k.size() != 5 || !GetVarint(&p, val.data() + val.size(), &parent) ||
        !tree_.Load(GetBe32(k.data() + 1), Quark(parent),
                    std::string(p, val.data() + val.size()))) {
      return DataLoss("corrupt attribute tree");
    }
  }
  for (it->Seek("s"); it->Valid() && it->key()[0] == 's'; it->Next()) {
    if (it->key().size() != 5 ||
        GetBe32(it->key().data() + 1) != strings_.size()) {
      return DataLoss("corrupt string table");
    }
    strings_.push_back(it->value().ToString());
  }
  // A complete store without its sampling copy is rebuilt.
  if (opts_.sampling_copy) {
    VMTRACE_ASSIGN_OR_RETURN(flat_, FlatBlocks::Open(db_.get(), opts_.dir));
  }
  has_start_ = has_flushed_ = complete_ = true;
  needs_build_ = false;
  return Status::Ok();
}

std::string LevelDbStateHistory::MetaJson(bool complete, int64_t end) const {
  return nlohmann::json{{"formatVersion", kFormatVersion},
                        {"analysisId", opts_.analysis_id},
                        {"analysisVersion", opts_.analysis_version},
                        {"fingerprint", opts_.fingerprint},
                        {"complete", complete},
                        {"startTime", start_time()},
                        {"endTime", end},
                        {"intervals", intervals_.load()},
                        {"clamped", clamped_sets_}}
      .dump();
}

Status LevelDbStateHistory::BeginBuild() {
  // Nobody else holds this DB yet, so destroying it is the fastest wipe.
  flat_.reset();
  db_.reset();
  FlatBlocks::Remove(opts_.dir);
  leveldb::DestroyDB(opts_.dir, StoreOptions(false));
  VMTRACE_ASSIGN_OR_RETURN(db_, OpenDb(opts_.dir));
  tree_ = AttributeTree();
  strings_.clear();
  has_start_ = has_flushed_ = complete_ = false;
  intervals_ = 0;
  clamped_sets_ = 0;
  needs_build_ = true;
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status s = db_->Put(wo, "m", MetaJson(false, 0));
  return s.ok() ? Status::Ok() : IoError("state store begin: " + s.ToString());
}

uint64_t LevelDbStateHistory::ApproximateSize() const {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(opts_.dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

// --- tree ---

std::optional<Quark> LevelDbStateHistory::Find(
    const std::vector<std::string>& path) const {
  std::shared_lock lock(tree_mu_);
  return tree_.Find(path);
}
std::optional<Quark> LevelDbStateHistory::Child(Quark parent,
                                                std::string_view name) const {
  std::shared_lock lock(tree_mu_);
  return tree_.Child(parent, name);
}
std::vector<Quark> LevelDbStateHistory::Children(Quark parent) const {
  std::shared_lock lock(tree_mu_);
  return tree_.Children(parent);
}
std::string LevelDbStateHistory::Name(Quark q) const {
  std::shared_lock lock(tree_mu_);
  return tree_.Name(q);
}
Quark LevelDbStateHistory::Parent(Quark q) const {
  std::shared_lock lock(tree_mu_);
  return tree_.Parent(q);
}
Quark LevelDbStateHistory::AttributeCount() const {
  std::shared_lock lock(tree_mu_);
  return tree_.size();
}

int64_t LevelDbStateHistory::start_time() const {
  return has_start_.load() ? start_.load() : 0;
}
int64_t LevelDbStateHistory::flushed_until() const {
  return has_flushed_.load() ? flushed_.load() : start_time() - 1;
}

// --- reads ---

std::shared_ptr<const leveldb::Snapshot> LevelDbStateHistory::ReadSnapshot(
    bool* ok) const {
  std::lock_guard lock(snap_mu_);
  // A loaded store has no snapshot and needs none: nothing writes to it.
  *ok = snapshot_ != nullptr || (complete_.load() && !needs_build_);
  return snapshot_;
}

std::shared_ptr<const FlatBlocks> LevelDbStateHistory::Flat() const {
  std::lock_guard lock(snap_mu_);
  return flat_;
}

void LevelDbStateHistory::PublishSnapshot() {
  leveldb::DB* db = db_.get();
  std::shared_ptr<const leveldb::Snapshot> snap(
      db->GetSnapshot(),
      [db](const leveldb::Snapshot* s) { db->ReleaseSnapshot(s); });
  std::lock_guard lock(snap_mu_);
  snapshot_ = std::move(snap);
}

StateValue LevelDbStateHistory::DecodeValue(uint64_t code, uint64_t big) const {
  switch (code & 3) {
    case 1:
      return StateValue::Int(UnZigZag(code >> 2));
    case 2:
      return (code >> 2) < strings_.size()
                 ? StateValue::Str(strings_[code >> 2])
                 : StateValue::Str("");
    case 3:
      return StateValue::Int(UnZigZag(big));
    default:
      return StateValue::Null();
  }
}

StatusOr<std::vector<StateInterval>> LevelDbStateHistory::QueryAt(
    int64_t t, Quark root) const {
  std::vector<StateInterval> out;
  bool ok;
  auto snap = ReadSnapshot(&ok);
  if (!ok) return out;
  leveldb::ReadOptions ro;
  ro.snapshot = snap.get();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  Reader r(it.get());
  std::shared_lock lock(tree_mu_);
  DeadlineCheck deadline(256);
  for (Quark q : tree_.Subtree(root)) {
    VMTRACE_RETURN_IF_ERROR(deadline.Tick());
    r.Reset(q);
    if (r.SeekEnd(t) && r.start <= t) {
      out.push_back({q, r.start, r.end, DecodeValue(r.code, r.big)});
    }
  }
  if (!it->status().ok())
    return IoError("state query: " + it->status().ToString());
  return out;
}

// One quark's walk over the sample times with either reader.
template <class R>
Status LevelDbStateHistory::SampleQuark(Quark q,
                                        const std::vector<int64_t>& times, R* r,
                                        DeadlineCheck* deadline,
                                        std::vector<StateInterval>* out) const {
  size_t i = 0;
  while (i < times.size()) {
    VMTRACE_RETURN_IF_ERROR(deadline->Tick());
    if constexpr (requires { r->Prefetch(int64_t(0), false); }) {
      // Three samples ahead, the group's table; one ahead, the block.
      if (i + 3 < times.size()) r->Prefetch(times[i + 3], false);
      if (i + 1 < times.size()) r->Prefetch(times[i + 1], true);
    }
    if (!r->SeekEnd(times[i])) break;
    if (r->start <= times[i]) {
      out->push_back({q, r->start, r->end, DecodeValue(r->code, r->big)});
      i = SkipSamples(times, i, r->end);
    } else {
      // No interval holds times[i]; resume at the first sample this
      // interval can hold.
      i = size_t(std::lower_bound(times.begin() + i, times.end(), r->start) -
                 times.begin());
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<StateInterval>> LevelDbStateHistory::QuerySampled(
    const std::vector<Quark>& quarks, const std::vector<int64_t>& times) const {
  std::vector<StateInterval> out;
  bool ok;
  auto snap = ReadSnapshot(&ok);
  if (!ok || times.empty()) return out;
  leveldb::ReadOptions ro;
  ro.snapshot = snap.get();
  // At most one interval per quark and sample: reserving the bound once
  // avoids regrowing (and re-faulting) a large vector, the main cost of
  // big replies. Untouched reserved pages cost nothing.
  out.reserve(std::min<size_t>(quarks.size() * times.size(), size_t(1) << 22));
  std::shared_lock lock(tree_mu_);
  DeadlineCheck deadline(256);
  if (auto flat = Flat()) {
    // A complete store: its sampling copy (leveldb_state_flat.h).
    FlatReader r(*flat);
    // A whole-range query touches a block per sample and quark: give the
    // pages back when done (peak RSS, leveldb_options.h).
    struct Release {
      const FlatBlocks& f;
      ~Release() { f.ReleasePages(); }
    } release{*flat};
    for (Quark q : quarks) {
      if (q >= tree_.size()) continue;
      Status st;
      if (!r.Reset(q, &st)) return st;
      VMTRACE_RETURN_IF_ERROR(SampleQuark(q, times, &r, &deadline, &out));
    }
    return out;
  }
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  Reader r(it.get());
  for (Quark q : quarks) {
    if (q >= tree_.size()) continue;
    r.Reset(q);
    VMTRACE_RETURN_IF_ERROR(SampleQuark(q, times, &r, &deadline, &out));
  }
  if (!it->status().ok())
    return IoError("state query: " + it->status().ToString());
  return out;
}

StatusOr<std::vector<StateInterval>> LevelDbStateHistory::QueryRange(
    Quark q, int64_t t1, int64_t t2) const {
  std::vector<StateInterval> out;
  bool ok;
  auto snap = ReadSnapshot(&ok);
  if (!ok || t1 > t2) return out;
  leveldb::ReadOptions ro;
  ro.snapshot = snap.get();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  Reader r(it.get());
  std::shared_lock lock(tree_mu_);
  r.Reset(q);
  DeadlineCheck deadline(256);
  for (int64_t t = t1; r.SeekEnd(t) && r.start <= t2; t = r.end + 1) {
    VMTRACE_RETURN_IF_ERROR(deadline.Tick());
    out.push_back({q, r.start, r.end, DecodeValue(r.code, r.big)});
    if (r.end >= t2) break;  // also keeps r.end + 1 from overflowing
  }
  if (!it->status().ok())
    return IoError("state query: " + it->status().ToString());
  return out;
}

StatusOr<FirstLastIntervals> LevelDbStateHistory::FirstLast(Quark q) const {
  bool ok;
  auto snap = ReadSnapshot(&ok);
  if (!ok) return FirstLastIntervals();
  leveldb::ReadOptions ro;
  ro.snapshot = snap.get();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  Reader r(it.get());
  std::shared_lock lock(tree_mu_);
  if (q >= tree_.size()) return FirstLastIntervals();
  r.Reset(q);
  if (!r.SeekEnd(std::numeric_limits<int64_t>::min())) {
    if (!it->status().ok())
      return IoError("state query: " + it->status().ToString());
    return FirstLastIntervals();
  }
  StateInterval first{q, r.start, r.end, DecodeValue(r.code, r.big)};
  Reader last(it.get());
  last.Reset(q);
  if (!last.SeekLast()) {
    return IoError("state query: the last block of quark " + std::to_string(q) +
                   " cannot be read");
  }
  StateInterval l{q, last.start, last.end, DecodeValue(last.code, last.big)};
  if (!it->status().ok())
    return IoError("state query: " + it->status().ToString());
  return FirstLastIntervals(std::make_pair(std::move(first), std::move(l)));
}

// --- writes ---

}  // namespace vmtrace::storage
