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
#include "base/deadline.h"
#include "tsp/outputs/critical_path/critical_path_outputs.h"

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
  // Per row id, its segments' indices in the path (in time order), and the
  // path's arrows' indices by time: what a sampled reply searches.
  std::map<int64_t, std::vector<uint32_t>> segments_of;
  std::vector<uint32_t> arrows_by_time;
};

// The states of one row that a sampled reply shows: the segments holding
// one of `times` (ascending), plus the row's first and last segment
// intersecting [times.front(), times.back()]; in time order, each once.
// At most times.size() + 2, whatever the length of the path.
std::vector<uint32_t> SampledSegments(const CriticalPath& cp,
                                      const std::vector<uint32_t>& row,
                                      const std::vector<int64_t>& times);

// The arrows a sampled reply shows: at most one per sample interval
// [times[k], times[k+1]) and (from, to) row pair (the first in time), the
// last sample counting as an interval of its own; in time order.
std::vector<uint32_t> SampledArrows(const CriticalPath& cp, const Rows& rows,
                                    const std::vector<int64_t>& times);

}  // namespace cp_internal

using cp_internal::Rows;
using nlohmann::json;

struct CriticalPathOutputs::Path {
  using WorkerId = graph::WorkerId;
  using CriticalPath = graph::CriticalPath;
  int n = 0;
  std::string name, description;
  json parameters;
  WorkerId worker;
  std::optional<int64_t> start, end;
  const graph::GraphModule* graph = nullptr;
  const storage::StateHistory* vm = nullptr;
  const sync::SyncModule* sync = nullptr;  // several hosts only
  const vm::VmOptions* vectors = nullptr;  // the outputs' vector maps
  std::unique_ptr<TimeGraphProvider> time_graph;
  std::unique_ptr<TableProvider> table;

  std::string id() const {
    return std::string(kCriticalPathId) + "$" + std::to_string(n);
  }
  std::string table_id() const {
    return std::string(kCriticalPathBreakdownId) + "$" + std::to_string(n);
  }

  struct Result {
    Status status;
    CriticalPath cp;
    Rows rows;
    int64_t start = 0, end = 0;
    const sync::ClockSync* clocks = nullptr;  // null: one clock
  };
  // Null while the pass runs; computed once after it.
  const Result* Get() const {
    if (!graph->complete() || (sync != nullptr && !sync->complete())) {
      return nullptr;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (result) return result.get();
    auto r = std::make_unique<Result>();
    const graph::ExecGraph& g = graph->graph();
    r->start = start.value_or(g.begin);
    r->end = end.value_or(g.end + 1);
    r->clocks = sync != nullptr ? sync->clock_sync() : nullptr;
    // Computed once and kept for every later request: no request's
    // deadline may cut it short and leave an error in the cache.
    ScopedDeadline unbounded(ScopedDeadline::Unbounded());
    auto cp = graph::ComputeCriticalPath(g, vm, worker, r->start, r->end,
                                         {r->clocks, vectors});
    if (!cp.ok()) {
      r->status = cp.status();
    } else {
      r->cp = std::move(cp).value();
    }
    BuildRows(g, r.get());
    result = std::move(r);
    return result.get();
  }

  static void BuildRows(const graph::ExecGraph& g, Result* r) {
    Rows& rows = r->rows;
    rows.tree.headers = {"Worker"};
    std::map<std::string, int64_t> groups;
    auto add = [&](int64_t parent, std::string label, bool data) {
      TreeEntry e;
      e.id = static_cast<int64_t>(rows.tree.entries.size());
      e.parent_id = parent;
      e.labels = {std::move(label)};
      e.has_data = data;
      e.start = r->start;
      e.end = r->end;
      rows.tree.entries.push_back(e);
      return e.id;
    };
    auto group = [&](const std::string& key, int64_t parent,
                     const std::string& label) {
      auto it = groups.find(key);
      if (it != groups.end()) return it->second;
      return groups[key] = add(parent, label, false);
    };
    for (const auto& s : r->cp.segments) {
      const WorkerId& w = s.worker;
      if (rows.id_of.count(w)) continue;
      if (w.kind == WorkerId::kNetwork) {
        // Between hosts / VMs: a row of its own under "Network".
        const int64_t ng = group("\nnetwork", -1, "Network");
        rows.id_of[w] = add(ng, graph::WorkerLabel(g, w), true);
        continue;
      }
      const std::string host = g.hosts[w.host];
      const int64_t hg = group(host, -1, "Host " + host);
      if (w.kind == WorkerId::kHostThread) {
        rows.id_of[w] = add(hg, "Thread " + std::to_string(w.id), true);
        continue;
      }
      const std::string vm_key = host + "/" + std::to_string(w.id);
      const int64_t vg = group(vm_key, hg, "VM " + std::to_string(w.id));
      if (w.kind == WorkerId::kGuest) {
        rows.id_of[w] = add(vg, "Process " + graph::Cr3Text(w.cr3), true);
        continue;
      }
      const int64_t ng = group(vm_key + "/" + graph::Cr3Text(w.hcr3), vg,
                               "Nested VM " + graph::Cr3Text(w.hcr3));
      rows.id_of[w] = add(ng, "L2 process " + graph::Cr3Text(w.cr3), true);
    }
    for (uint32_t i = 0; i < r->cp.segments.size(); ++i) {
      rows.segments_of[rows.id_of.at(r->cp.segments[i].worker)].push_back(i);
    }
    rows.arrows_by_time.resize(r->cp.arrows.size());
    for (uint32_t i = 0; i < rows.arrows_by_time.size(); ++i) {
      rows.arrows_by_time[i] = i;
    }
    std::stable_sort(rows.arrows_by_time.begin(), rows.arrows_by_time.end(),
                     [&](uint32_t a, uint32_t b) {
                       return r->cp.arrows[a].ts < r->cp.arrows[b].ts;
                     });
  }

  mutable std::mutex mu;
  mutable std::unique_ptr<Result> result;
};

// The Critical Path Breakdown table of one derived output.
std::unique_ptr<TableProvider> MakeBreakdownProvider(
    const CriticalPathOutputs::Path* p);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_CRITICAL_PATH_CRITICAL_PATH_INTERNAL_H_
