// TraceService: traces and experiments as the protocol sees them.
//
// Owns the registry and the open experiments. Every method is thread-safe.
// Experiments are shared_ptr so a request that holds one keeps it alive
// while another request deletes it. No HTTP here: errors are Status codes
// that the route layer maps (NotFound 404, AlreadyExists 409, ...).
//
// Opening an experiment (reading the traces' metadata, opening the index
// and the analyses' LevelDB stores, loading the execution graph) runs
// outside the service lock, so other requests proceed meanwhile; opens and
// deletes of one experiment are serialized by a lock of that experiment.
// The modules and outputs an experiment gets come from the registries
// (module_registry.h, output_registry.h).
#ifndef VMTRACE_TSP_SERVICE_TRACE_SERVICE_H_
#define VMTRACE_TSP_SERVICE_TRACE_SERVICE_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "analyses/index/experiment_index.h"
#include "analyses/vm/guest_names.h"
#include "base/status.h"
#include "storage/registry.h"
#include "tsp/outputs/output_set.h"
#include "tsp/service/guest_traces.h"

namespace vmtrace::tsp {

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
  // Called by every experiment open with the experiment's uuid, outside
  // the service lock, before the traces are read (tests pause an open
  // here to show that other requests are served meanwhile).
  std::function<void(const std::string& uuid)> on_open;
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
  // The clock its replies are in (view_clock.h): with several hosts, the
  // reference host's once the clock sync is known.
  std::shared_ptr<const ViewClock> clock = std::make_shared<ViewClock>();
  // The index's snapshot with its times in that clock: what routes show.
  index::IndexSnapshot Snapshot() const {
    return clock->InView(index->Snapshot());
  }
  // Names of its VMs, guest processes and containers (shared with its
  // outputs through OutputContext::names).
  std::shared_ptr<vm::GuestNamesSource> names =
      std::make_shared<vm::GuestNamesSource>();
  // Every output (events table, histogram, the analyses' outputs and the
  // configurable ones), made by the registered families; destroyed before
  // the index whose modules they read.
  OutputSet outputs;
  // Its providers by kind (views of `outputs`, derived outputs excluded).
  const std::vector<std::unique_ptr<TimeGraphProvider>>& time_graphs =
      outputs.time_graphs();
  const std::vector<std::unique_ptr<XyProvider>>& xys = outputs.xys();
  const std::vector<std::unique_ptr<TableProvider>>& tables = outputs.tables();
  // Its guest traces' reports (guest_traces.h), and the job that maps them
  // once the pass is over; declared last so the job stops first.
  std::shared_ptr<vm::GuestTraceReports> guest_reports =
      std::make_shared<vm::GuestTraceReports>();
  std::jthread guest_job;
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
  // when next opened (requests in flight keep the old ones); except the VM
  // names (vm_names_config.h), which are handed to every open experiment
  // (Experiment::names) and rebuild nothing.
  std::vector<storage::ConfigRecord> ListConfigs(const std::string& type) const;
  std::optional<storage::ConfigRecord> GetConfig(const std::string& type,
                                                 const std::string& id) const;
  Status PutConfig(const storage::ConfigRecord& record);
  Status DeleteConfig(const std::string& type, const std::string& id);

  // Cancels every running pass (shutdown).
  void Shutdown();

 private:
  explicit TraceService(ServiceOptions options);
  // r's properties (the CTF env, anomalies) from its metadata. Cached by the
  // metadata's and the trace directory's size and modification time, so
  // the lists clients poll do not re-read every trace (a change of either
  // file describes it again).
  TraceInfo Describe(const storage::TraceRecord& r) const;
  // The open experiment `uuid`, opening it (without mu_) if needed.
  // NotFound if its record is gone.
  StatusOr<std::shared_ptr<Experiment>> Acquire(const std::string& uuid);
  // Waits (without mu_) for the requests still using a closed instance of
  // the experiment; Unavailable if they do not finish in time.
  Status WaitClosed(const std::string& uuid,
                    std::shared_ptr<Experiment> closing);
  // Reads the traces, opens the index (and the modules' stores) and makes
  // the outputs. Slow: called without mu_.
  StatusOr<std::shared_ptr<Experiment>> Build(
      const storage::ExperimentRecord& rec);
  StatusOr<std::unique_ptr<index::ExperimentIndex>> OpenIndex(
      const storage::ExperimentRecord& rec,
      const std::vector<std::vector<std::string>>& dirs);
  // The lock that serializes opens and deletes of experiment `uuid`.
  std::shared_ptr<std::mutex> ExperimentLockLocked(const std::string& uuid);
  // The record and, if open, the experiment and its traces (under mu_).
  ExperimentView ViewLocked(const storage::ExperimentRecord& rec) const;
  // A closed experiment's traces described (their metadata read) from the
  // registry; called without mu_.
  ExperimentView Described(ExperimentView v) const;
  std::string IndexDir(const std::string& uuid) const;
  // The canonical path of `uri` if it may be opened (inside a trace root).
  StatusOr<std::string> AllowedPath(const std::string& uri) const;
  void CloseAllLocked();
  // Hands the stored VM names to `exp` (at open) or to every open
  // experiment (when they change).
  void SetNamesLocked(Experiment* exp) const;
  void SetNamesOfAllLocked();

  ServiceOptions options_;
  std::unique_ptr<storage::Registry> registry_;
  struct Described_ {
    std::string stamp;  // what the cached properties were read from
    std::map<std::string, std::string> properties;
  };
  mutable std::mutex describe_mu_;  // guards described_ only
  mutable std::map<std::string, Described_> described_;  // by trace dir
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Experiment>> open_;  // by uuid
  // Closed but maybe still used by requests in flight; their stores hold
  // LevelDB locks, so a reopen waits for them to be released.
  std::map<std::string, std::shared_ptr<Experiment>> closing_;
  // Per-experiment open/delete locks (entries of finished ones expire).
  std::map<std::string, std::weak_ptr<std::mutex>> experiment_locks_;
  // Bumped by every configuration change: an open that started before one
  // is not kept open (its analyses used the old configuration).
  uint64_t config_generation_ = 0;
};

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_SERVICE_TRACE_SERVICE_H_
