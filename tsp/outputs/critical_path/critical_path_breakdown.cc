// The Critical Path Breakdown table: time and share per cause, per layer,
// per worker, per container and per preempter along one derived output's path
// (VMs, processes and containers named when drawn).
#include <algorithm>
#include <map>

#include "analyses/vm/vm_layout.h"
#include "tsp/outputs/critical_path/critical_path_internal.h"

namespace vmtrace::tsp {
namespace {

using cp_internal::kCauses;
using cp_internal::Share;
using graph::Cause;
using graph::Layer;
using graph::WorkerId;
using Path = CriticalPathOutputs::Path;

class BreakdownProvider : public TableProvider {
 public:
  explicit BreakdownProvider(const Path* p) : p_(p) {}
  OutputDescriptor descriptor() const override {
    return {p_->table_id(), "Critical Path Breakdown: " + p_->name,
            "Time and share of the critical path per cause, per layer, per "
            "worker and per container",
            "TABLE", p_->id()};
  }
  std::vector<TableColumnModel> Columns() const override {
    return {{0, "Category", "cause, layer, worker, container or preempted by",
             "STRING"},
            {1, "Name",
             "cause (e.g. PREEMPTED), layer, worker, or who had the host CPU "
             "while the guest's vCPU was preempted",
             "STRING"},
            {2, "Layer", "L0 host, L1 guest, L2 nested guest", "STRING"},
            {3, "Time (ns)", "time on the path, ns", "NUMBER"},
            {4, "Share", "share of the path's time", "STRING"}};
  }
  StatusOr<TableModel> Table() const override {
    TableModel m;
    m.columns = Columns();
    const Path::Result* r = p_->Get();
    if (r == nullptr) {
      m.running = true;
      return m;
    }
    if (!r->status.ok()) return r->status;
    VMTRACE_ASSIGN_OR_RETURN(
        auto rows,
        StoredBreakdown(*r->stored, r->stored->start, r->stored->end - 1));
    rows = NamedBreakdown(*p_, std::move(rows), *p_->names->Current());
    for (auto& row : rows) {
      m.rows.push_back({std::move(row.category), std::move(row.name),
                        std::move(row.layer), std::to_string(row.ns),
                        std::move(row.share)});
    }
    return m;
  }

 private:
  const Path* p_;
};

// The same breakdown for the viewer's selection, as a tree: one group per
// category, its rows below.
class BreakdownTreeProvider : public DataTreeProvider {
 public:
  explicit BreakdownTreeProvider(const Path* p) : p_(p) {}
  OutputDescriptor descriptor() const override {
    return {p_->tree_id(), "Critical Path Breakdown (selection): " + p_->name,
            "Time and share of the critical path per cause, per layer, per "
            "worker and per preempter, over the selected time range",
            "DATA_TREE", p_->id()};
  }
  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    TreeModel m;
    m.headers = {"Name", "Layer", "Time (ns)", "Share"};
    const Path::Result* r = p_->Get();
    if (r == nullptr) {
      m.running = true;
      return m;
    }
    if (!r->status.ok()) return r->status;
    VMTRACE_ASSIGN_OR_RETURN(auto rows,
                             StoredBreakdown(*r->stored, start, end));
    rows = NamedBreakdown(*p_, std::move(rows), *p_->names->Current());
    const std::string owner = p_->OwnerHost();  // the path's clock
    std::map<std::string, int64_t> group_id;
    for (auto& row : rows) {
      auto g = group_id.find(row.category);
      if (g == group_id.end()) {
        const int64_t id = int64_t(m.entries.size());
        g = group_id.emplace(row.category, id).first;
        m.entries.push_back({id, -1, {row.category, "", "", ""}});
        m.entries.back().host = owner;
      }
      m.entries.push_back(
          {int64_t(m.entries.size()),
           g->second,
           {row.name, row.layer, std::to_string(row.ns), row.share},
           true});
    }
    return m;
  }

 private:
  const Path* p_;
};

// Path times are in the owner host's clock; the VM store of another host
// is in that host's.
int64_t LocalTime(const Path& p, const sync::ClockSync* clocks,
                  const WorkerId& w, int64_t t) {
  const graph::ExecGraph& g = p.graph->graph();
  const uint32_t owner = p.worker.host;
  if (clocks == nullptr || w.host == owner) return t;
  return clocks->FromReference(g.hosts[w.host],
                               clocks->ToReference(g.hosts[owner], t));
}

// Who had the host CPU while the vCPU of `w` was preempted at `t`: "VM
// <pid> (thread <tid>)" for another vCPU thread, "thread <tid>" for a host
// thread, "unknown" if the VM model does not say.
std::string Preempter(const Path& p, const WorkerId& w, int64_t t) {
  const storage::StateHistory* vm = p.vm;
  if (vm == nullptr) return "unknown";
  const std::string host = p.graph->graph().hosts[w.host];
  const std::string pid = std::to_string(w.id);
  auto at = [&](std::vector<std::string> path) -> std::optional<int64_t> {
    auto q = vm->Find(path);
    if (!q) return std::nullopt;
    auto iv = vm->QuerySampled({*q}, {t});
    if (!iv.ok() || iv->empty() || (*iv)[0].value.is_null()) {
      return std::nullopt;
    }
    return (*iv)[0].value.i;
  };
  auto vcpu =
      at({host, "VMs", pid, "Processes", graph::Cr3Text(w.cr3), "vCPU"});
  if (!vcpu) return "unknown";
  auto tid =
      at({host, "VMs", pid, "vCPUs", std::to_string(*vcpu), "Preempter"});
  if (!tid) return "unknown";
  // A vCPU thread of some VM of this host?
  if (auto vms = vm->Find({host, "VMs"})) {
    for (storage::Quark vq : vm->Children(*vms)) {
      auto vcpus = vm->Child(vq, "vCPUs");
      if (!vcpus) continue;
      for (storage::Quark cq : vm->Children(*vcpus)) {
        auto th = vm->Child(cq, "Thread");
        if (!th) continue;
        auto iv = vm->QuerySampled({*th}, {t});
        if (iv.ok() && !iv->empty() && (*iv)[0].value.i == *tid) {
          return "VM " + vm->Name(vq) + " (thread " + std::to_string(*tid) +
                 ")";
        }
      }
    }
  }
  return "thread " + std::to_string(*tid);
}

}  // namespace

std::unique_ptr<TableProvider> MakeBreakdownProvider(const Path* p) {
  return std::make_unique<BreakdownProvider>(p);
}

std::unique_ptr<DataTreeProvider> MakeBreakdownTreeProvider(const Path* p) {
  return std::make_unique<BreakdownTreeProvider>(p);
}

std::string PreempterOf(const Path& p, const graph::CriticalPath& cp,
                        const sync::ClockSync* clocks, size_t i) {
  const graph::PathSegment& s = cp.segments[i];
  if (s.cause == Cause::kPreempted && s.layer == Layer::kL0 &&
      s.worker.kind == WorkerId::kGuest) {
    return Preempter(p, s.worker, LocalTime(p, clocks, s.worker, s.start));
  }
  return "";
}

StatusOr<std::vector<BreakdownRow>> StoredBreakdown(const StoredPath& p,
                                                    int64_t start,
                                                    int64_t end) {
  std::vector<BreakdownRow> rows;
  if (end < start) return rows;
  const std::vector<int64_t> edges = {start, end + 1};
  // ns per value of q in [start, end], from its totals at the two edges.
  auto totals = [&](storage::Quark q) -> StatusOr<storage::ValueTotals> {
    VMTRACE_ASSIGN_OR_RETURN(auto t, p.history->QueryTotals(q, edges));
    storage::ValueTotals d = t[1];
    for (const auto& before : t[0]) {
      storage::AddTotal(&d, before.value, -before.ns, -before.count);
    }
    return d;
  };
  std::map<std::pair<std::string, std::string>, int64_t> by_cause;
  std::map<std::string, int64_t> by_layer, by_worker, by_preempter;
  int64_t total = 0;
  for (const auto& [id, q] : p.rows) {
    VMTRACE_ASSIGN_OR_RETURN(auto d, totals(q));
    auto label = p.labels.find(id);
    for (const auto& v : d) {
      if (v.ns <= 0) continue;
      const char* layer = graph::LayerName(PathLayer(v.value));
      total += v.ns;
      by_cause[{graph::CauseName(PathCause(v.value)), layer}] += v.ns;
      by_layer[layer] += v.ns;
      by_worker[label != p.labels.end() ? label->second : ""] += v.ns;
    }
  }
  for (const auto& [name, q] : p.preempters) {
    VMTRACE_ASSIGN_OR_RETURN(auto d, totals(q));
    for (const auto& v : d) {
      if (v.ns > 0) by_preempter[name] += v.ns;
    }
  }
  for (const auto& [k, d] : by_cause) {
    rows.push_back({"cause", k.first, k.second, d, Share(d, total)});
  }
  for (const auto& [k, d] : by_layer) {
    rows.push_back({"layer", k, k, d, Share(d, total)});
  }
  for (const auto& [k, d] : by_worker) {
    rows.push_back({"worker", k, "", d, Share(d, total)});
  }
  for (const auto& [k, d] : by_preempter) {
    rows.push_back({"preempted by", k, "L0", d, Share(d, total)});
  }
  return rows;
}

}  // namespace vmtrace::tsp
