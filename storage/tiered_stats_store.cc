#include "storage/tiered_stats_store.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "storage/data_dir.h"
#include "storage/leveldb_options.h"
#include "storage/leveldb_state_codec.h"

namespace vmtrace::storage {

using codec::GetBe64;
using codec::GetVarint;
using codec::kSignBit;
using codec::PutBe64;
using codec::PutVarint;
using codec::UnZigZag;
using codec::ZigZag;

namespace {

StatusOr<std::unique_ptr<leveldb::DB>> OpenDb(const std::string& dir) {
  // Records are varint-packed already (decompressing table blocks
  // dominated the exit rate's thousands of small reads).
  leveldb::Options options = StoreOptions(/*compress=*/false);
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &db);
  if (!s.ok()) {
    // A damaged store is disposable: it is computed from the analyses'.
    leveldb::DestroyDB(dir, options);
    s = leveldb::DB::Open(options, dir, &db);
    if (!s.ok()) return IoError("cannot open stats store: " + s.ToString());
  }
  return std::unique_ptr<leveldb::DB>(db);
}

std::string NodeKey(int tier, int64_t node) {
  std::string k = "t";
  k.push_back(char(tier));
  PutBe64(&k, uint64_t(node) ^ kSignBit);
  return k;
}

std::string EncodeTallies(const TallyMap& m) {
  std::string v;
  PutVarint(&v, m.size());
  for (const auto& [key, t] : m) {
    PutVarint(&v, key);
    PutVarint(&v, uint64_t(t.count));
    PutVarint(&v, ZigZag(t.total));
    PutVarint(&v, ZigZag(t.max));
  }
  return v;
}

bool MergeEncoded(const leveldb::Slice& v, TallyMap* out) {
  const char* p = v.data();
  const char* e = p + v.size();
  uint64_t n = 0;
  if (!GetVarint(&p, e, &n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t key, count, total, max;
    if (!GetVarint(&p, e, &key) || !GetVarint(&p, e, &count) ||
        !GetVarint(&p, e, &total) || !GetVarint(&p, e, &max)) {
      return false;
    }
    (*out)[key].Merge({int64_t(count), UnZigZag(total), UnZigZag(max)});
  }
  return true;
}

// ceil(x / 2^s) * 2^s, for any sign.
int64_t RoundUp(int64_t x, int s) { return -((-x) >> s) * (int64_t(1) << s); }
int64_t RoundDown(int64_t x, int s) { return (x >> s) * (int64_t(1) << s); }

}  // namespace

TieredStatsStore::TieredStatsStore(TieredStatsOptions opts,
                                   std::unique_ptr<leveldb::DB> db)
    : opts_(std::move(opts)), db_(std::move(db)), acc_(kTiers) {}

// The meta stays as it is: a store that was not closed is rebuilt.
TieredStatsStore::~TieredStatsStore() = default;

StatusOr<std::unique_ptr<TieredStatsStore>> TieredStatsStore::Open(
    const TieredStatsOptions& opts) {
  if (opts.chunk_ns <= 0) return InvalidArgument("chunk_ns must be positive");
  // Never a link: a rebuild (DestroyDB) would wipe the folder it points to.
  VMTRACE_RETURN_IF_ERROR(PrepareStoreDir(opts.dir));
  VMTRACE_ASSIGN_OR_RETURN(auto db, OpenDb(opts.dir));
  std::unique_ptr<TieredStatsStore> s(
      new TieredStatsStore(opts, std::move(db)));
  if (s->Load()) return s;
  VMTRACE_RETURN_IF_ERROR(s->BeginBuild());
  return s;
}

std::string TieredStatsStore::MetaJson(bool complete) const {
  return nlohmann::json{
      {"formatVersion", kFormatVersion}, {"statsId", opts_.stats_id},
      {"version", opts_.version},        {"fingerprint", opts_.fingerprint},
      {"chunkNs", opts_.chunk_ns},       {"complete", complete}}
      .dump();
}

bool TieredStatsStore::Load() {
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), "m", &v).ok()) return false;
  // Byte equality with the meta a complete build of these options writes.
  if (v != MetaJson(true)) return false;
  complete_ = true;
  needs_build_ = false;
  return true;
}

Status TieredStatsStore::BeginBuild() {
  // Nobody else holds this DB yet, so destroying it is the fastest wipe.
  db_.reset();
  leveldb::DestroyDB(opts_.dir, StoreOptions(false));
  VMTRACE_ASSIGN_OR_RETURN(db_, OpenDb(opts_.dir));
  needs_build_ = true;
  complete_ = false;
  batch_ = std::make_unique<leveldb::WriteBatch>();
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status s = db_->Put(wo, "m", MetaJson(false));
  return s.ok() ? Status::Ok() : IoError("stats store begin: " + s.ToString());
}

int64_t TieredStatsStore::ChunkOf(int64_t t) const {
  int64_t q = t / opts_.chunk_ns;
  return (t % opts_.chunk_ns != 0 && t < 0) ? q - 1 : q;
}

int64_t TieredStatsStore::ready_until() const {
  return complete() ? INT64_MAX : ready_.load();
}

uint64_t TieredStatsStore::ApproximateSize() const {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(opts_.dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

void TieredStatsStore::WriteNode(int tier, int64_t node, const TallyMap& t) {
  if (!t.empty()) batch_->Put(NodeKey(tier, node), EncodeTallies(t));
}

void TieredStatsStore::EmitNodesBefore(int64_t chunk) {
  for (int tier = 1; tier < kTiers; ++tier) {
    Acc& a = acc_[tier];
    // A node [n * 16^t, (n + 1) * 16^t) is done once chunk reaches its end.
    if (a.has && chunk >= (a.node + 1) * (int64_t(1) << (kFanoutLog2 * tier))) {
      WriteNode(tier, a.node, a.tallies);
      a.has = false;
      a.tallies.clear();
    }
  }
}

Status TieredStatsStore::AddChunk(int64_t chunk, const TallyMap& tallies) {
  if (!needs_build_ || complete()) {
    return FailedPrecondition("stats store is complete");
  }
  if (chunk <= last_chunk_) return InvalidArgument("chunks out of order");
  last_chunk_ = chunk;
  if (tallies.empty()) return Status::Ok();
  EmitNodesBefore(chunk);
  WriteNode(0, chunk, tallies);
  for (int tier = 1; tier < kTiers; ++tier) {
    Acc& a = acc_[tier];
    a.has = true;
    a.node = chunk >> (kFanoutLog2 * tier);
    for (const auto& [k, t] : tallies) a.tallies[k].Merge(t);
  }
  return Status::Ok();
}

Status TieredStatsStore::PutBlob(const std::string& key,
                                 const std::string& value) {
  if (!needs_build_ || complete()) {
    return FailedPrecondition("stats store is complete");
  }
  batch_->Put("x" + key, value);
  return Status::Ok();
}

Status TieredStatsStore::WriteBatch(bool sync) {
  leveldb::WriteOptions wo;
  wo.sync = sync;
  leveldb::Status s = db_->Write(wo, batch_.get());
  batch_->Clear();
  return s.ok() ? Status::Ok() : IoError("stats store write: " + s.ToString());
}

Status TieredStatsStore::Publish(int64_t chunk) {
  if (!needs_build_ || complete()) {
    return FailedPrecondition("stats store is complete");
  }
  EmitNodesBefore(chunk);
  VMTRACE_RETURN_IF_ERROR(WriteBatch(false));
  // The bound moves after the write: a reader never asks for a missing node.
  if (chunk > ready_.load()) ready_.store(chunk);
  last_chunk_ = std::max(last_chunk_, chunk - 1);
  return Status::Ok();
}

Status TieredStatsStore::Close() {
  if (!needs_build_ || complete()) {
    return FailedPrecondition("stats store is complete");
  }
  for (int tier = 1; tier < kTiers; ++tier) {
    Acc& a = acc_[tier];
    if (a.has) WriteNode(tier, a.node, a.tallies);
    a = Acc();
  }
  // One synced write: "complete" lands with the last nodes.
  batch_->Put("m", MetaJson(true));
  VMTRACE_RETURN_IF_ERROR(WriteBatch(true));
  complete_ = true;
  return Status::Ok();
}

Status TieredStatsStore::ReadTier(leveldb::Iterator* it, int tier, int64_t n1,
                                  int64_t n2, TallyMap* out) const {
  if (n1 >= n2) return Status::Ok();
  const std::string end = NodeKey(tier, n2);
  for (it->Seek(NodeKey(tier, n1)); it->Valid() && it->key().compare(end) < 0;
       it->Next()) {
    if (!MergeEncoded(it->value(), out)) {
      return DataLoss("corrupt stats node");
    }
  }
  return it->status().ok()
             ? Status::Ok()
             : IoError("stats store read: " + it->status().ToString());
}

StatusOr<TallyMap> TieredStatsStore::Sum(int64_t c1, int64_t c2) const {
  TallyMap out;
  if (c2 > ready_until()) {
    return FailedPrecondition("stats chunks not ready yet");
  }
  if (c1 >= c2) return out;
  if (c2 - c1 == 1) return Chunk(c1);
  // One iterator for every tier (creating one costs more than a seek).
  std::unique_ptr<leveldb::Iterator> it(
      db_->NewIterator(leveldb::ReadOptions()));
  int64_t lo = c1, hi = c2;
  // lo and hi are multiples of 16^tier at each step.
  for (int tier = 0; lo < hi; ++tier) {
    const int s = kFanoutLog2 * tier;
    if (tier == kTiers - 1) {
      VMTRACE_RETURN_IF_ERROR(ReadTier(it.get(), tier, lo >> s, hi >> s, &out));
      break;
    }
    const int64_t plo = RoundUp(lo, s + kFanoutLog2);
    const int64_t phi = RoundDown(hi, s + kFanoutLog2);
    if (plo >= phi) {
      VMTRACE_RETURN_IF_ERROR(ReadTier(it.get(), tier, lo >> s, hi >> s, &out));
      break;
    }
    VMTRACE_RETURN_IF_ERROR(ReadTier(it.get(), tier, lo >> s, plo >> s, &out));
    VMTRACE_RETURN_IF_ERROR(ReadTier(it.get(), tier, phi >> s, hi >> s, &out));
    lo = plo;
    hi = phi;
  }
  return out;
}

StatusOr<TallyMap> TieredStatsStore::Chunk(int64_t c) const {
  TallyMap out;
  if (c >= ready_until()) {
    return FailedPrecondition("stats chunks not ready yet");
  }
  std::string v;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), NodeKey(0, c), &v);
  if (s.IsNotFound()) return out;
  if (!s.ok()) return IoError("stats store read: " + s.ToString());
  if (!MergeEncoded(v, &out)) return DataLoss("corrupt stats node");
  return out;
}

StatusOr<std::optional<std::string>> TieredStatsStore::GetBlob(
    const std::string& key) const {
  std::string v;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), "x" + key, &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return IoError("stats store read: " + s.ToString());
  return std::optional<std::string>(std::move(v));
}

}  // namespace vmtrace::storage
