// The critical path outputs (issue 6): `Critical Path` (TIME_GRAPH with
// arrows) chosen through TSP output configuration, and one `Critical Path
// Breakdown` (TABLE) per configured path.
//
// - The parent output (kCriticalPathId) has one configuration source type
//   (kCriticalPathConfigTypeId) whose JSON schema takes: host (string,
//   required); vm_pid (integer) with cr3 (string "0x..") for a guest process,
//   plus hypervisor_cr3 for an L2 process; or tid (integer) for a host
//   thread; optional start / end (ns, the experiment's clock).
// - Create() (POST .../outputs/{outputId}) validates a configuration
//   {name, description, sourceTypeId, parameters} and adds a derived
//   TIME_GRAPH "<parent>$<n>" (parentId = the parent) and its breakdown
//   TABLE "vmtrace.critical-path.breakdown$<n>" and the same breakdown of
//   the viewer's selection, DATA_TREE
//   "vmtrace.critical-path.breakdown-selection$<n>" (parentId = the derived
//   path). InvalidArgument names the bad parameter; NotFound once the pass
//   is over for a worker the graph / VM model does not know; at most
//   kMaxDerived paths. Delete() removes all three.
// - Derived outputs are also created automatically, once the pass is over,
//   for the guest processes that waited longest (the longest single WAIT_*
//   interval in the VM model), kAutoPaths of them.
// - The breakdown has rows per (cause, layer), per layer, per worker on the
//   path, per container of its guest workers (when the guest names give
//   one), and for the guest's L0 preemptions per preempter ("VM <pid>
//   (thread <tid>)" or "thread <tid>", from the VM model's Preempter).
// - VMs, processes and containers are named (rows, tooltips, breakdown)
//   from the experiment's guest names when a reply is drawn; the stored
//   path keeps the raw ids.
// - A path is walked once, in the background after the pass
//   (graph::ComputeCriticalPath), and stored (path_store.h); until then its
//   outputs answer RUNNING, empty.
// Providers of deleted outputs are kept until the experiment closes, since
// a request in flight may still use them. All methods are thread-safe.
#ifndef VMTRACE_TSP_OUTPUTS_CRITICAL_PATH_CRITICAL_PATH_OUTPUTS_H_
#define VMTRACE_TSP_OUTPUTS_CRITICAL_PATH_CRITICAL_PATH_OUTPUTS_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "analyses/graph/graph_module.h"
#include "analyses/sync/sync_module.h"
#include "analyses/vm/guest_names.h"
#include "analyses/vm/vm_model.h"
#include "base/status.h"
#include "storage/state_history.h"
#include "tsp/outputs/configurable_outputs.h"
#include "tsp/outputs/output_family.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

inline constexpr char kCriticalPathId[] = "vmtrace.critical-path";
inline constexpr char kCriticalPathBreakdownId[] =
    "vmtrace.critical-path.breakdown";
inline constexpr char kCriticalPathBreakdownTreeId[] =
    "vmtrace.critical-path.breakdown-selection";
inline constexpr char kCriticalPathConfigTypeId[] =
    "vmtrace.critical-path.worker";

class CriticalPathOutputs : public ConfigurableOutputs {
 public:
  static constexpr int kAutoPaths = 3;
  // Derived paths per experiment (the automatic ones included): Create()
  // beyond is InvalidArgument. Each path is walked once, in the background
  // once the pass is over (replies are RUNNING until then), and stored.
  static constexpr size_t kMaxDerived = 64;

  // `graph`, `vm` (may be null: host threads only) and `sync` (null for a
  // single-host experiment) must outlive this. With `sync`, a path that
  // crosses hosts has every time in its owner host's clock.
  // `vectors`: the vector maps the VM model was built with (timer vectors
  // decide some causes on the path).
  // `store_dir`: where the walked paths and the derived outputs'
  // configurations are kept (they survive a restart and are not walked
  // again); empty keeps them in memory. `fingerprint` identifies the
  // traces (a store made for others is rebuilt). `names` (null: none) are
  // the experiment's guest names: rows, tooltips and breakdowns name VMs,
  // processes and containers when drawn (never stored).
  CriticalPathOutputs(
      const graph::GraphModule* graph, const storage::StateHistory* vm,
      const sync::SyncModule* sync = nullptr,
      ::vmtrace::vm::VmOptions vectors = {}, std::string store_dir = "",
      std::string fingerprint = "",
      std::shared_ptr<::vmtrace::vm::GuestNamesSource> names = nullptr);
  ~CriticalPathOutputs() override;

  // The parent output's provider: it shows First() (no rows without one).
  // The provider must not outlive this.
  std::unique_ptr<TimeGraphProvider> MakeParent();
  // The ConfigurationSourceType JSON of the parent output.
  static nlohmann::json ConfigType();

  // ConfigurableOutputs: parent kCriticalPathId, one config type.
  std::string parent_id() const override;
  std::vector<nlohmann::json> ConfigTypes() const override;
  StatusOr<OutputDescriptor> Create(const nlohmann::json& config) override;
  Status Delete(const std::string& derived_id) override;
  // Descriptors of the derived outputs (paths then breakdowns).
  std::vector<OutputDescriptor> Derived() override;
  // Null if `id` names no derived output.
  const TimeGraphProvider* TimeGraph(const std::string& id) override;
  const TableProvider* Table(const std::string& id) override;
  const DataTreeProvider* DataTree(const std::string& id) override;

  struct Path;  // one derived output (defined in the .cc)
  // The first automatic path (kept even if its derived output is deleted);
  // null until the background job made the automatic paths, or without
  // guest processes.
  const Path* First();
  // True once the pass that builds the graph (and the clock sync) is over.
  bool complete() const;
  // True once the background job has made the automatic paths (First() is
  // then final).
  bool autos_done();

 private:
  Status ParseWorker(const nlohmann::json& parameters, Path* path) const;
  void Attach(Path* path) const;
  // The background job: once the pass is over, the automatic paths, then
  // every path not walked yet, as they are created.
  void WalkLoop(std::stop_token stop);
  void AutoCreate();
  // The derived outputs' configurations, kept in dir_ (no-op without).
  void LoadConfigs();
  void SaveConfigsLocked() const;
  std::string PathDir(int n) const;

  const graph::GraphModule* graph_;
  const storage::StateHistory* vm_;
  const sync::SyncModule* sync_;
  const ::vmtrace::vm::VmOptions vectors_;
  const std::string dir_;
  const std::string fingerprint_;
  const std::shared_ptr<::vmtrace::vm::GuestNamesSource> names_;
  std::mutex mu_;
  std::condition_variable_any cv_;  // a path to walk was added
  int next_ = 1;
  bool auto_done_ = false;
  std::vector<std::shared_ptr<Path>> paths_;
  std::vector<std::shared_ptr<Path>> deleted_;
  std::vector<std::shared_ptr<Path>> to_walk_;
  std::shared_ptr<Path> first_;
  std::jthread walker_;  // last: stopped and joined first
};

// The critical path family: needs the execution graph (module "graph");
// uses the VM model and the clock sync when the experiment has them.
std::unique_ptr<OutputFamily> CriticalPathOutputFamily();

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_CRITICAL_PATH_CRITICAL_PATH_OUTPUTS_H_
