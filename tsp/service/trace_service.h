// TraceService: traces and experiments as the protocol sees them.
//
// Owns the registry and the open experiments. Every method is thread-safe.
// Experiments are shared_ptr so a request that holds one keeps it alive
// while another request deletes it. No HTTP here: errors are Status codes
// that the route layer maps (NotFound 404, AlreadyExists 409, ...).
#ifndef VMTRACE_TSP_SERVICE_TRACE_SERVICE_H_
#define VMTRACE_TSP_SERVICE_TRACE_SERVICE_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "analyses/index/events_table.h"
#include "analyses/index/experiment_index.h"
#include "analyses/index/histogram.h"
#include "base/status.h"
#include "storage/registry.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::sync {
class SyncModule;  // analyses/sync/sync_module.h
}  // namespace vmtrace::sync

namespace vmtrace::tsp {

class CriticalPathOutputs;  // tsp/critical_path_outputs.h

struct ServiceOptions {
  std::string data_dir;
  index::IndexOptions index;
  // --trace-root: when not empty, AddTrace opens only paths inside one of
  // these directories (after `..` and symlinks are resolved). Open() fails
  // (InvalidArgument) if one is not an existing directory.
  std::vector<std::string> trace_roots;
  // How long OpenExperiment waits for the requests still using a closing
  // experiment before answering Unavailable.
  std::chrono::milliseconds close_wait{10000};
};

struct TraceInfo {
  storage::TraceRecord record;
  std::map<std::string, std::string> properties;  // CTF env and layout
};

// An experiment that has been opened (indexing started or loaded).
class Experiment {
 public:
  storage::ExperimentRecord record;
  std::vector<TraceInfo> traces;
  std::unique_ptr<index::ExperimentIndex> index;
  std::unique_ptr<index::EventsTable> table;
  std::unique_ptr<index::Histogram> histogram;
  // Outputs of the analyses fed by the pass (kernel model, ...).
  std::vector<std::unique_ptr<TimeGraphProvider>> time_graphs;
  std::vector<std::unique_ptr<XyProvider>> xys;
  std::vector<std::unique_ptr<TableProvider>> tables;
  // Derived (configured) critical path outputs; null without a KVM host.
  std::shared_ptr<CriticalPathOutputs> critical_paths;
  // The hosts' clock synchronisation (one of index->modules()); null with a
  // single host. Its clock_sync() is null until the pass completes it.
  const sync::SyncModule* sync = nullptr;
};

// What GET /experiments shows for one experiment: live if open, CLOSED with
// zeros otherwise (the reference server's behaviour after a restart).
struct ExperimentView {
  storage::ExperimentRecord record;
  std::vector<TraceInfo> traces;
  std::shared_ptr<Experiment> open;  // null when closed
};

class TraceService {
 public:
  static StatusOr<std::unique_ptr<TraceService>> Open(ServiceOptions options);
  ~TraceService();

  // NotFound "No trace at <path>"; Unimplemented when the path holds no
  // trace we read; AlreadyExists when `name` is taken by another path (then
  // *existing is set). Re-adding the same name and path returns the record.
  // InvalidArgument for a path with a NUL byte. With trace roots, a path
  // outside them is PermissionDenied with one message whether or not it
  // exists (it is not looked at).
  StatusOr<TraceInfo> AddTrace(const std::string& uri,
                               std::optional<std::string> name,
                               TraceInfo* existing);
  std::vector<TraceInfo> ListTraces() const;
  StatusOr<TraceInfo> GetTrace(const std::string& uuid) const;
  // FailedPrecondition if an experiment uses it.
  StatusOr<TraceInfo> DeleteTrace(const std::string& uuid);

  // NotFound "No trace found with UUID <uuid>"; AlreadyExists if the name
  // is taken with other traces (*existing set). Opens the experiment.
  StatusOr<ExperimentView> AddExperiment(const std::string& name,
                                         const std::vector<std::string>& traces,
                                         ExperimentView* existing);
  std::vector<ExperimentView> ListExperiments() const;
  // Opens a known but closed experiment (reloading a complete index or
  // re-indexing). NotFound if unknown.
  StatusOr<ExperimentView> GetExperiment(const std::string& uuid);
  // The open experiment, opening it if needed. NotFound if unknown.
  StatusOr<std::shared_ptr<Experiment>> OpenExperiment(const std::string& uuid);
  // Cancels indexing, deletes its stored index; the traces stay.
  StatusOr<ExperimentView> DeleteExperiment(const std::string& uuid);

  // Global configurations, persisted in the registry. Storing or deleting
  // one closes the open experiments, so their analyses are rebuilt with it
  // when next opened (requests in flight keep the old ones).
  std::vector<storage::ConfigRecord> ListConfigs(const std::string& type) const;
  std::optional<storage::ConfigRecord> GetConfig(const std::string& type,
                                                 const std::string& id) const;
  Status PutConfig(const storage::ConfigRecord& record);
  Status DeleteConfig(const std::string& type, const std::string& id);

  // Cancels every running pass (shutdown).
  void Shutdown();

 private:
  explicit TraceService(ServiceOptions options);
  TraceInfo Describe(const storage::TraceRecord& r) const;
  StatusOr<std::shared_ptr<Experiment>> OpenLocked(
      const storage::ExperimentRecord& rec);
  ExperimentView ViewLocked(const storage::ExperimentRecord& rec) const;
  std::string IndexDir(const std::string& uuid) const;
  // The canonical path of `uri` if it may be opened (inside a trace root).
  StatusOr<std::string> AllowedPath(const std::string& uri) const;
  void CloseAllLocked();

  ServiceOptions options_;
  std::unique_ptr<storage::Registry> registry_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Experiment>> open_;  // by uuid
  // Closed but maybe still used by requests in flight; their stores hold
  // LevelDB locks, so a reopen waits for them to be released.
  std::map<std::string, std::shared_ptr<Experiment>> closing_;
};

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_SERVICE_TRACE_SERVICE_H_
