// Registry: the persistent list of traces and experiments a server knows.
//
// Backed by a LevelDB database in its own directory. Every write is synced,
// so a record returned by a successful Put survives a crash. Records are
// small; lists are read in full.
#ifndef VMTRACE_STORAGE_REGISTRY_H_
#define VMTRACE_STORAGE_REGISTRY_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace leveldb {
class DB;
}

namespace vmtrace::storage {

struct TraceRecord {
  std::string uuid;
  std::string name;
  std::string path;  // absolute path of the trace (a CTF dir or a folder)
};

struct ExperimentRecord {
  std::string uuid;
  std::string name;
  std::vector<std::string> trace_uuids;  // in the order they were given
};

// A configuration instance (TSP global configuration): its parameters are
// kept as JSON text, validated by the layer that owns the type.
struct ConfigRecord {
  std::string type_id;
  std::string id;
  std::string name;
  std::string description;
  std::string parameters_json;
};

class Registry {
 public:
  // Opens (creating if missing) the registry in `dir`. IoError if LevelDB
  // cannot open it (e.g. another process holds its lock).
  static StatusOr<std::unique_ptr<Registry>> Open(const std::string& dir);
  ~Registry();

  Status PutTrace(const TraceRecord& record);
  // nullopt if unknown.
  std::optional<TraceRecord> GetTrace(const std::string& uuid) const;
  // Sorted by name.
  std::vector<TraceRecord> ListTraces() const;
  // OK if it did not exist.
  Status DeleteTrace(const std::string& uuid);

  Status PutExperiment(const ExperimentRecord& record);
  std::optional<ExperimentRecord> GetExperiment(const std::string& uuid) const;
  std::vector<ExperimentRecord> ListExperiments() const;
  Status DeleteExperiment(const std::string& uuid);

  Status PutConfig(const ConfigRecord& record);
  std::optional<ConfigRecord> GetConfig(const std::string& type_id,
                                        const std::string& id) const;
  // Sorted by name.
  std::vector<ConfigRecord> ListConfigs(const std::string& type_id) const;
  Status DeleteConfig(const std::string& type_id, const std::string& id);

 private:
  explicit Registry(std::unique_ptr<leveldb::DB> db);
  Status Put(const std::string& key, const std::string& value);
  std::optional<std::string> Get(const std::string& key) const;
  std::vector<std::string> Scan(const std::string& prefix) const;

  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_REGISTRY_H_
