#include "storage/index_store.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/varint.h"
#include "storage/data_dir.h"
#include "storage/leveldb_options.h"

namespace vmtrace::storage {
namespace {

void PutBe64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(char(v >> (8 * i)));
}

uint64_t GetBe64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | uint8_t(p[i]);
  return v;
}

// Time keys flip the sign bit so negative timestamps sort before positive.
uint64_t TimeKey(int64_t ts) { return uint64_t(ts) ^ (uint64_t(1) << 63); }

std::string RankKey(uint64_t rank) {
  std::string k = "c";
  PutBe64(&k, rank);
  return k;
}

std::string EncodeMeta(const IndexMeta& m) {
  nlohmann::json traces = nlohmann::json::array();
  for (const auto& t : m.traces) {
    traces.push_back(
        {{"nbEvents", t.nb_events}, {"start", t.start}, {"end", t.end}});
  }
  return nlohmann::json{{"formatVersion", m.format_version},
                        {"fingerprint", m.fingerprint},
                        {"complete", m.complete},
                        {"nbEvents", m.nb_events},
                        {"start", m.start},
                        {"end", m.end},
                        {"checkpointInterval", m.checkpoint_interval},
                        {"traces", traces},
                        {"properties", m.properties}}
      .dump();
}

std::optional<IndexMeta> DecodeMeta(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  IndexMeta m;
  try {
    m.format_version = j.at("formatVersion").get<int>();
    m.fingerprint = j.at("fingerprint").get<std::string>();
    m.complete = j.at("complete").get<bool>();
    m.nb_events = j.at("nbEvents").get<uint64_t>();
    m.start = j.at("start").get<int64_t>();
    m.end = j.at("end").get<int64_t>();
    m.checkpoint_interval = j.at("checkpointInterval").get<uint64_t>();
    for (const auto& t : j.at("traces")) {
      m.traces.push_back({t.at("nbEvents").get<uint64_t>(),
                          t.at("start").get<int64_t>(),
                          t.at("end").get<int64_t>()});
    }
    m.properties = j.at("properties").get<std::map<std::string, std::string>>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a meta we cannot read is treated as absent
  }
  return m;
}

std::string EncodeCheckpoint(const Checkpoint& c) {
  std::string v;
  PutVarint(&v, TimeKey(c.timestamp));
  PutVarint(&v, c.trace_counts.size());
  for (uint64_t n : c.trace_counts) PutVarint(&v, n);
  v += c.position;
  return v;
}

std::optional<Checkpoint> DecodeCheckpoint(uint64_t rank,
                                           const std::string& v) {
  Checkpoint c;
  c.rank = rank;
  const char* p = v.data();
  const char* end = p + v.size();
  uint64_t tk, n;
  if (!GetVarint(&p, end, &tk) || !GetVarint(&p, end, &n) || n > 1 << 20) {
    return std::nullopt;
  }
  c.timestamp = int64_t(tk ^ (uint64_t(1) << 63));
  c.trace_counts.resize(n);
  for (auto& x : c.trace_counts) {
    if (!GetVarint(&p, end, &x)) return std::nullopt;
  }
  c.position.assign(p, end);
  return c;
}

}  // namespace

IndexStore::IndexStore(std::unique_ptr<leveldb::DB> db, std::string dir)
    : db_(std::move(db)), dir_(std::move(dir)) {}
IndexStore::~IndexStore() = default;

StatusOr<std::unique_ptr<IndexStore>> IndexStore::Open(const std::string& dir) {
  // Never a link: DestroyDB below would wipe the folder it points to.
  VMTRACE_RETURN_IF_ERROR(PrepareStoreDir(dir));
  leveldb::Options options = StoreOptions(/*compress=*/true);
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &db);
  if (!s.ok()) {
    // A store damaged beyond LevelDB's own recovery is disposable: it is
    // only a cache of what the trace says.
    leveldb::DestroyDB(dir, options);
    s = leveldb::DB::Open(options, dir, &db);
    if (!s.ok()) return IoError("cannot open index: " + s.ToString());
  }
  return std::unique_ptr<IndexStore>(
      new IndexStore(std::unique_ptr<leveldb::DB>(db), dir));
}

std::optional<IndexMeta> IndexStore::ReadMeta() const {
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), "m", &v).ok()) return std::nullopt;
  return DecodeMeta(v);
}

Status IndexStore::BeginBuild(const IndexMeta& meta) {
  // Delete every key rather than DestroyDB so open readers stay valid.
  leveldb::WriteBatch batch;
  std::unique_ptr<leveldb::Iterator> it(
      db_->NewIterator(leveldb::ReadOptions()));
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    batch.Delete(it->key());
    if (++n % 100000 == 0) {
      leveldb::Status s = db_->Write(leveldb::WriteOptions(), &batch);
      if (!s.ok()) return IoError("index wipe: " + s.ToString());
      batch.Clear();
    }
  }
  IndexMeta m = meta;
  m.complete = false;
  batch.Put("m", EncodeMeta(m));
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status s = db_->Write(wo, &batch);
  return s.ok() ? Status::Ok() : IoError("index begin: " + s.ToString());
}

Status IndexStore::Append(const std::vector<Checkpoint>& checkpoints) {
  leveldb::WriteBatch batch;
  for (const auto& c : checkpoints) {
    batch.Put(RankKey(c.rank), EncodeCheckpoint(c));
    std::string tk = "s";
    PutBe64(&tk, TimeKey(c.timestamp));
    PutBe64(&tk, c.rank);
    batch.Put(tk, "");
  }
  leveldb::Status s = db_->Write(leveldb::WriteOptions(), &batch);
  return s.ok() ? Status::Ok() : IoError("index append: " + s.ToString());
}

Status IndexStore::AppendTimes(
    const std::vector<std::pair<uint64_t, std::string>>& times) {
  if (times.empty()) return Status::Ok();
  leveldb::WriteBatch batch;
  for (const auto& [rank, blob] : times) {
    std::string k = "t";
    PutBe64(&k, rank);
    batch.Put(k, blob);
  }
  leveldb::Status s = db_->Write(leveldb::WriteOptions(), &batch);
  return s.ok() ? Status::Ok() : IoError("index append: " + s.ToString());
}

std::optional<std::string> IndexStore::Times(uint64_t rank) const {
  std::string k = "t";
  PutBe64(&k, rank);
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), k, &v).ok()) return std::nullopt;
  return v;
}

Status IndexStore::Finish(const IndexMeta& meta) {
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status s = db_->Put(wo, "m", EncodeMeta(meta));
  return s.ok() ? Status::Ok() : IoError("index finish: " + s.ToString());
}

std::optional<Checkpoint> IndexStore::GetByRank(uint64_t rank) const {
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), RankKey(rank), &v).ok()) {
    return std::nullopt;
  }
  return DecodeCheckpoint(rank, v);
}

std::optional<Checkpoint> IndexStore::FloorByRank(uint64_t rank) const {
  std::unique_ptr<leveldb::Iterator> it(
      db_->NewIterator(leveldb::ReadOptions()));
  std::string target = RankKey(rank);
  it->Seek(target);
  if (it->Valid() && it->key().ToString() == target) {
    return DecodeCheckpoint(rank, it->value().ToString());
  }
  if (it->Valid()) {
    it->Prev();
  } else {
    it->SeekToLast();
  }
  // Skip back over keys that are not checkpoints ("m" sorts after "c").
  while (it->Valid() && !(it->key().size() == 9 && it->key()[0] == 'c')) {
    if (it->key()[0] < 'c') return std::nullopt;
    it->Prev();
  }
  if (!it->Valid()) return std::nullopt;
  return DecodeCheckpoint(GetBe64(it->key().data() + 1),
                          it->value().ToString());
}

std::optional<Checkpoint> IndexStore::LastBeforeTime(int64_t ts) const {
  std::unique_ptr<leveldb::Iterator> it(
      db_->NewIterator(leveldb::ReadOptions()));
  std::string target = "s";
  PutBe64(&target, TimeKey(ts));
  it->Seek(target);
  if (it->Valid()) {
    it->Prev();
  } else {
    it->SeekToLast();
  }
  if (!it->Valid() || it->key().size() != 17 || it->key()[0] != 's') {
    return std::nullopt;
  }
  return GetByRank(GetBe64(it->key().data() + 9));
}

uint64_t IndexStore::ApproximateSize() const {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

}  // namespace vmtrace::storage
