// Internal to the critical path outputs: a derived output (Path) and the
// helpers its providers share (critical_path_outputs.cc,
// critical_path_breakdown.cc).
#ifndef VMTRACE_TSP_OUTPUTS_CRITICAL_PATH_CRITICAL_PATH_INTERNAL_H_
#define VMTRACE_TSP_OUTPUTS_CRITICAL_PATH_CRITICAL_PATH_INTERNAL_H_

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "analyses/graph/critical_path.h"
#include "analyses/vm/guest_names.h"
#include "base/deadline.h"
#include "tsp/outputs/critical_path/critical_path_outputs.h"
#include "tsp/outputs/critical_path/path_store.h"

namespace vmtrace::tsp {
namespace cp_internal {

using graph::Cause;
using graph::CriticalPath;
using graph::Layer;
using graph::WorkerId;
using nlohmann::json;

inline constexpr Cause kCauses[] = {Cause::kRunning,     Cause::kHypervisor,
                                    Cause::kPreempted,   Cause::kTimer,
                                    Cause::kBlockDevice, Cause::kNetwork,
                                    Cause::kIpi,         Cause::kInterrupted,
                                    Cause::kBlocked,     Cause::kUnknown};

inline std::string Share(int64_t part, int64_t total) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%",
                total > 0 ? 100.0 * double(part) / double(total) : 0.0);
  return buf;
}

inline bool ParseCr3(const json& v, uint64_t* out) {
  if (!v.is_string()) return false;
  const std::string s = v.get<std::string>();
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
    return false;
  }
  char* end = nullptr;
  *out = std::strtoull(s.c_str() + 2, &end, 16);
  return end && *end == '\0';
}

// The path's worker rows: host > VM > nested VM groups, then workers.
struct Rows {
  TreeModel tree;
  std::map<WorkerId, int64_t> id_of;
};

}  // namespace cp_internal

using cp_internal::Rows;
using nlohmann::json;

struct CriticalPathOutputs::Path {
  using WorkerId = graph::WorkerId;
  using CriticalPath = graph::CriticalPath;
  int n = 0;
  bool automatic = false;
  std::string name, description;
  json parameters;
  WorkerId worker;
  std::optional<int64_t> start, end;
  const graph::GraphModule* graph = nullptr;
  const storage::StateHistory* vm = nullptr;
  const sync::SyncModule* sync = nullptr;  // several hosts only
  const vm::VmOptions* vectors = nullptr;  // the outputs' vector maps
  // The experiment's guest names, applied when a reply is drawn (never
  // stored with the path); never null once attached.
  std::shared_ptr<vm::GuestNamesSource> names;
  std::string dir;          // its store; empty: kept in memory
  std::string fingerprint;  // the traces' and the parameters'
  std::unique_ptr<TimeGraphProvider> time_graph;
  std::unique_ptr<TableProvider> table;
  std::unique_ptr<DataTreeProvider> tree;

  std::string id() const {
    return std::string(kCriticalPathId) + "$" + std::to_string(n);
  }
  // The host whose clock the path's times are in (its worker's); set as the
  // host of the roots of its trees (view_clock.h). Needs the complete graph.
  std::string OwnerHost() const {
    const auto& hosts = graph->graph().hosts;
    return worker.host < hosts.size() ? hosts[worker.host] : std::string();
  }
  std::string table_id() const {
    return std::string(kCriticalPathBreakdownId) + "$" + std::to_string(n);
  }
  std::string tree_id() const {
    return std::string(kCriticalPathBreakdownTreeId) + "$" + std::to_string(n);
  }

  struct Result {
    Status status;
    std::unique_ptr<StoredPath> stored;  // set when status is ok
  };
  // Null until the background walk (CriticalPathOutputs) has stored the
  // path or found it stored: requests never walk.
  const Result* Get() const {
    std::lock_guard<std::mutex> lock(mu);
    return result.get();
  }
  // Loads the stored path, or walks and stores it; then Get() returns it.
  // Called by the walker thread only, once the graph is complete.
  void Walk();
  // The walk's rows (groups and workers).
  static Rows BuildRows(const graph::ExecGraph& g, const CriticalPath& cp,
                        int64_t start, int64_t end);

  mutable std::mutex mu;
  std::unique_ptr<Result> result;
};

// For segment `i` of `cp`, who had the host CPU while the path's guest
// worker was preempted ("" if it is not an L0 PREEMPTED segment of a guest
// worker; WalkedPath::preempter_of).
std::string PreempterOf(const CriticalPathOutputs::Path& p,
                        const graph::CriticalPath& cp,
                        const sync::ClockSync* clocks, size_t i);

// One row of the breakdown: category "cause", "layer", "worker" or
// "preempted by", in that order, each sorted by name (NamedBreakdown adds
// "container" rows after the workers).
struct BreakdownRow {
  std::string category, name, layer;
  int64_t ns = 0;
  std::string share;  // of the path's time in the range
};
// The breakdown of the stored path over [start, end] (ns, inclusive): two
// lookups per row, whatever the length of the path; empty if end < start.
StatusOr<std::vector<BreakdownRow>> StoredBreakdown(const StoredPath& p,
                                                    int64_t start, int64_t end);

// Guest names on a stored path, applied when a reply is drawn
// (critical_path_names.cc): the store keeps the raw worker labels
// ("host/pid/0xcr3", graph::WorkerLabel) and its tree the raw row labels.

// The tree of `s` with its VMs, nested VMs and processes named ("name
// (pid)" of a CR3's latest holder), and a container row between a (nested)
// VM and its processes that have a container. Container rows get ids past
// the stored ones.
TreeModel NamedPathTree(const StoredPath& s, const vm::GuestNames& names);
// Tooltip lines of row `item` at `time` (the path's clock): the worker's VM
// name, and its process and container at that time.
void AddPathNames(const CriticalPathOutputs::Path& p, const StoredPath& s,
                  int64_t item, int64_t time, const vm::GuestNames& names,
                  std::map<std::string, std::string>* out);
// `rows` (StoredBreakdown's) with workers and preempting VMs named, workers
// of one name merged, and one "container" row per container of the path's
// guest workers ("<container> (<VM>)"), after the workers.
std::vector<BreakdownRow> NamedBreakdown(const CriticalPathOutputs::Path& p,
                                         std::vector<BreakdownRow> rows,
                                         const vm::GuestNames& names);

// The Critical Path Breakdown table of one derived output, and the same
// for the viewer's selection.
std::unique_ptr<TableProvider> MakeBreakdownProvider(
    const CriticalPathOutputs::Path* p);
std::unique_ptr<DataTreeProvider> MakeBreakdownTreeProvider(
    const CriticalPathOutputs::Path* p);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_CRITICAL_PATH_CRITICAL_PATH_INTERNAL_H_
