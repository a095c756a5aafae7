#include "storage/registry.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "storage/data_dir.h"
#include "storage/leveldb_options.h"

namespace vmtrace::storage {
namespace {

// Keys: "t/<uuid>" and "e/<uuid>"; values are small JSON objects, so the
// registry stays readable with any LevelDB dump tool.
constexpr char kTracePrefix[] = "t/";
constexpr char kExperimentPrefix[] = "e/";
// "c/<type id>/<config id>"
constexpr char kConfigPrefix[] = "c/";

std::string EncodeTrace(const TraceRecord& r) {
  return nlohmann::json{{"uuid", r.uuid}, {"name", r.name}, {"path", r.path}}
      .dump();
}

std::optional<TraceRecord> DecodeTrace(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j["uuid"].is_string() || !j["name"].is_string() ||
      !j["path"].is_string()) {
    return std::nullopt;
  }
  return TraceRecord{j["uuid"], j["name"], j["path"]};
}

std::string EncodeExperiment(const ExperimentRecord& r) {
  return nlohmann::json{
      {"uuid", r.uuid}, {"name", r.name}, {"traces", r.trace_uuids}}
      .dump();
}

std::optional<ExperimentRecord> DecodeExperiment(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  if (!j.is_object() || !j["uuid"].is_string() || !j["name"].is_string() ||
      !j["traces"].is_array()) {
    return std::nullopt;
  }
  ExperimentRecord r{j["uuid"], j["name"], {}};
  for (const auto& t : j["traces"]) {
    if (!t.is_string()) return std::nullopt;
    r.trace_uuids.push_back(t);
  }
  return r;
}

std::string EncodeConfig(const ConfigRecord& r) {
  return nlohmann::json{{"typeId", r.type_id},
                        {"id", r.id},
                        {"name", r.name},
                        {"description", r.description},
                        {"parameters", r.parameters_json}}
      .dump();
}

std::optional<ConfigRecord> DecodeConfig(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  for (const char* k : {"typeId", "id", "name", "description", "parameters"}) {
    if (!j.is_object() || !j[k].is_string()) return std::nullopt;
  }
  return ConfigRecord{j["typeId"], j["id"], j["name"], j["description"],
                      j["parameters"]};
}

}  // namespace

Registry::Registry(std::unique_ptr<leveldb::DB> db) : db_(std::move(db)) {}
Registry::~Registry() = default;

StatusOr<std::unique_ptr<Registry>> Registry::Open(const std::string& dir) {
  VMTRACE_RETURN_IF_ERROR(PrepareStoreDir(dir));
  leveldb::Options options = StoreOptions(/*compress=*/true);
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &db);
  if (!s.ok()) return IoError("cannot open registry: " + s.ToString());
  return std::unique_ptr<Registry>(
      new Registry(std::unique_ptr<leveldb::DB>(db)));
}

Status Registry::Put(const std::string& key, const std::string& value) {
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status s = db_->Put(wo, key, value);
  return s.ok() ? Status::Ok() : IoError("registry write: " + s.ToString());
}

std::optional<std::string> Registry::Get(const std::string& key) const {
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), key, &v).ok()) return std::nullopt;
  return v;
}

std::vector<std::string> Registry::Scan(const std::string& prefix) const {
  std::vector<std::string> out;
  std::unique_ptr<leveldb::Iterator> it(
      db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    out.push_back(it->value().ToString());
  }
  return out;
}

Status Registry::PutTrace(const TraceRecord& r) {
  return Put(kTracePrefix + r.uuid, EncodeTrace(r));
}

std::optional<TraceRecord> Registry::GetTrace(const std::string& uuid) const {
  auto v = Get(kTracePrefix + uuid);
  return v ? DecodeTrace(*v) : std::nullopt;
}

std::vector<TraceRecord> Registry::ListTraces() const {
  std::vector<TraceRecord> out;
  for (const auto& v : Scan(kTracePrefix)) {
    if (auto r = DecodeTrace(v)) out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Status Registry::DeleteTrace(const std::string& uuid) {
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status s = db_->Delete(wo, kTracePrefix + uuid);
  return s.ok() ? Status::Ok() : IoError("registry delete: " + s.ToString());
}

Status Registry::PutExperiment(const ExperimentRecord& r) {
  return Put(kExperimentPrefix + r.uuid, EncodeExperiment(r));
}

std::optional<ExperimentRecord> Registry::GetExperiment(
    const std::string& uuid) const {
  auto v = Get(kExperimentPrefix + uuid);
  return v ? DecodeExperiment(*v) : std::nullopt;
}

std::vector<ExperimentRecord> Registry::ListExperiments() const {
  std::vector<ExperimentRecord> out;
  for (const auto& v : Scan(kExperimentPrefix)) {
    if (auto r = DecodeExperiment(v)) out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Status Registry::DeleteExperiment(const std::string& uuid) {
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status s = db_->Delete(wo, kExperimentPrefix + uuid);
  return s.ok() ? Status::Ok() : IoError("registry delete: " + s.ToString());
}

Status Registry::PutConfig(const ConfigRecord& r) {
  return Put(kConfigPrefix + r.type_id + "/" + r.id, EncodeConfig(r));
}

std::optional<ConfigRecord> Registry::GetConfig(const std::string& type_id,
                                                const std::string& id) const {
  auto v = Get(kConfigPrefix + type_id + "/" + id);
  return v ? DecodeConfig(*v) : std::nullopt;
}

std::vector<ConfigRecord> Registry::ListConfigs(
    const std::string& type_id) const {
  std::vector<ConfigRecord> out;
  for (const auto& v : Scan(kConfigPrefix + type_id + "/")) {
    if (auto r = DecodeConfig(v)) out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Status Registry::DeleteConfig(const std::string& type_id,
                              const std::string& id) {
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status s = db_->Delete(wo, kConfigPrefix + type_id + "/" + id);
  return s.ok() ? Status::Ok() : IoError("registry delete: " + s.ToString());
}

}  // namespace vmtrace::storage
