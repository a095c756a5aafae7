// Critical Path / Critical Path Breakdown outputs (critical_path_outputs.h).
#include "tsp/critical_path_outputs.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include "analyses/graph/critical_path.h"
#include "analyses/vm/vm_layout.h"
#include "tsp/query.h"

namespace vmtrace::tsp {
namespace {

using graph::Cause;
using graph::CriticalPath;
using graph::Layer;
using graph::WorkerId;
using nlohmann::json;

constexpr Cause kCauses[] = {Cause::kRunning,     Cause::kHypervisor,
                             Cause::kPreempted,   Cause::kTimer,
                             Cause::kBlockDevice, Cause::kNetwork,
                             Cause::kIpi,         Cause::kInterrupted,
                             Cause::kBlocked,     Cause::kUnknown};

std::string Share(int64_t part, int64_t total) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%",
                total > 0 ? 100.0 * double(part) / double(total) : 0.0);
  return buf;
}

bool ParseCr3(const json& v, uint64_t* out) {
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

}  // namespace

struct CriticalPathOutputs::Path {
  int n = 0;
  std::string name, description;
  json parameters;
  WorkerId worker;
  std::optional<int64_t> start, end;
  const graph::GraphModule* graph = nullptr;
  const storage::StateHistory* vm = nullptr;
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
  };
  // Null while the pass runs; computed once after it.
  const Result* Get() const {
    if (!graph->complete()) return nullptr;
    std::lock_guard<std::mutex> lock(mu);
    if (result) return result.get();
    auto r = std::make_unique<Result>();
    const graph::ExecGraph& g = graph->graph();
    r->start = start.value_or(g.begin);
    r->end = end.value_or(g.end + 1);
    auto cp = graph::ComputeCriticalPath(g, vm, worker, r->start, r->end);
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
  }

  mutable std::mutex mu;
  mutable std::unique_ptr<Result> result;
};

namespace {

using Path = CriticalPathOutputs::Path;

StyleMap CauseStyles() {
  StyleMap m;
  for (Cause c : kCauses) {
    m[graph::CauseName(c)] = json{{"style-name", graph::CauseName(c)},
                                  {"background-color", graph::CauseColor(c)},
                                  {"height", 1.0}};
  }
  return m;
}

class PathProvider : public TimeGraphProvider {
 public:
  explicit PathProvider(const Path* p) : p_(p) {}
  OutputDescriptor descriptor() const override {
    return {p_->id(), p_->name, p_->description, "TIME_GRAPH", kCriticalPathId};
  }
  StatusOr<TreeModel> Tree(int64_t, int64_t) const override {
    const Path::Result* r = p_->Get();
    if (r == nullptr) {
      TreeModel m;
      m.running = true;
      return m;
    }
    if (!r->status.ok()) return r->status;
    return r->rows.tree;
  }
  StatusOr<RowsModel> States(const std::vector<int64_t>& times,
                             const std::vector<int64_t>& items) const override {
    RowsModel m;
    const Path::Result* r = p_->Get();
    if (r == nullptr) {
      m.running = true;
      return m;
    }
    if (!r->status.ok()) return r->status;
    const int64_t t0 = times.empty() ? r->start : times.front();
    const int64_t t1 = times.empty() ? r->end : times.back();
    std::map<int64_t, TimeGraphRow> rows;
    for (const auto& [w, id] : r->rows.id_of) {
      if (std::find(items.begin(), items.end(), id) == items.end()) continue;
      rows[id].entry_id = id;
    }
    for (const auto& s : r->cp.segments) {
      if (s.end <= t0 || s.start > t1) continue;
      auto it = rows.find(r->rows.id_of.at(s.worker));
      if (it == rows.end()) continue;
      it->second.states.push_back(
          {s.start, s.end, graph::CauseName(s.cause), ""});
    }
    for (auto& [id, row] : rows) m.rows.push_back(std::move(row));
    return m;
  }
  StatusOr<std::map<std::string, std::string>> Tooltip(
      int64_t item, int64_t time) const override {
    std::map<std::string, std::string> out;
    const Path::Result* r = p_->Get();
    if (r == nullptr || !r->status.ok()) return out;
    const graph::ExecGraph& g = p_->graph->graph();
    for (const auto& s : r->cp.segments) {
      if (s.start > time || time >= s.end) continue;
      if (r->rows.id_of.at(s.worker) != item) continue;
      out["Cause"] = graph::CauseName(s.cause);
      out["Layer"] = graph::LayerName(s.layer);
      out["Worker"] = graph::WorkerLabel(g, s.worker);
      out["Duration (ns)"] = std::to_string(s.end - s.start);
    }
    return out;
  }
  StyleMap Styles() const override { return CauseStyles(); }
  StatusOr<std::vector<TimeGraphArrow>> Arrows(
      const std::vector<int64_t>& times) const override {
    std::vector<TimeGraphArrow> out;
    const Path::Result* r = p_->Get();
    if (r == nullptr || !r->status.ok()) return out;
    const int64_t t0 = times.empty() ? r->start : times.front();
    const int64_t t1 = times.empty() ? r->end : times.back();
    for (const auto& a : r->cp.arrows) {
      if (a.ts < t0 || a.ts > t1) continue;
      auto from = r->rows.id_of.find(a.from), to = r->rows.id_of.find(a.to);
      if (from == r->rows.id_of.end() || to == r->rows.id_of.end()) continue;
      out.push_back(
          {from->second, to->second, a.ts, a.ts, graph::CauseName(a.cause)});
    }
    return out;
  }

 private:
  const Path* p_;
};

// The parent output shows the first derived path (the guest process that
// waited longest) until the user configures others; nothing without one.
class ParentProvider : public TimeGraphProvider {
 public:
  explicit ParentProvider(CriticalPathOutputs* outputs) : outputs_(outputs) {}
  OutputDescriptor descriptor() const override {
    return {kCriticalPathId, "Critical Path",
            "Critical path of a host thread, guest process (VM + CR3) or L2 "
            "process across the virtualization layers. Shows the guest "
            "process that waited longest; configure it (configTypes) to "
            "choose another worker",
            "TIME_GRAPH", ""};
  }
  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    const Path* p = outputs_->First();
    if (p == nullptr) {
      TreeModel m;
      m.headers = {"Worker"};
      m.running = !outputs_->complete();
      return m;
    }
    return PathProvider(p).Tree(start, end);
  }
  StatusOr<RowsModel> States(const std::vector<int64_t>& times,
                             const std::vector<int64_t>& items) const override {
    const Path* p = outputs_->First();
    if (p == nullptr) {
      RowsModel m;
      m.running = !outputs_->complete();
      return m;
    }
    return PathProvider(p).States(times, items);
  }
  StatusOr<std::map<std::string, std::string>> Tooltip(
      int64_t item, int64_t time) const override {
    const Path* p = outputs_->First();
    if (p == nullptr) return std::map<std::string, std::string>{};
    return PathProvider(p).Tooltip(item, time);
  }
  StyleMap Styles() const override { return CauseStyles(); }
  StatusOr<std::vector<TimeGraphArrow>> Arrows(
      const std::vector<int64_t>& times) const override {
    const Path* p = outputs_->First();
    if (p == nullptr) return std::vector<TimeGraphArrow>{};
    return PathProvider(p).Arrows(times);
  }

 private:
  CriticalPathOutputs* outputs_;
};

class BreakdownProvider : public TableProvider {
 public:
  explicit BreakdownProvider(const Path* p) : p_(p) {}
  OutputDescriptor descriptor() const override {
    return {p_->table_id(), "Critical Path Breakdown: " + p_->name,
            "Time and share of the critical path per cause, per layer and "
            "per worker",
            "TABLE", p_->id()};
  }
  std::vector<TableColumnModel> Columns() const override {
    return {{0, "Category", "cause, layer, worker or preempted by", "STRING"},
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
    std::map<std::pair<std::string, std::string>, int64_t> by_cause;
    std::map<std::string, int64_t> by_layer, by_worker, by_preempter;
    int64_t total = 0;
    const graph::ExecGraph& g = p_->graph->graph();
    for (const auto& s : r->cp.segments) {
      const int64_t d = s.end - s.start;
      total += d;
      by_cause[{graph::CauseName(s.cause), graph::LayerName(s.layer)}] += d;
      by_layer[graph::LayerName(s.layer)] += d;
      by_worker[graph::WorkerLabel(g, s.worker)] += d;
      if (s.cause == Cause::kPreempted && s.layer == Layer::kL0 &&
          s.worker.kind == WorkerId::kGuest) {
        by_preempter[Preempter(s.worker, s.start)] += d;
      }
    }
    for (const auto& [k, d] : by_cause) {
      m.rows.push_back(
          {"cause", k.first, k.second, std::to_string(d), Share(d, total)});
    }
    for (const auto& [k, d] : by_layer) {
      m.rows.push_back({"layer", k, k, std::to_string(d), Share(d, total)});
    }
    for (const auto& [k, d] : by_worker) {
      m.rows.push_back({"worker", k, "", std::to_string(d), Share(d, total)});
    }
    for (const auto& [k, d] : by_preempter) {
      m.rows.push_back(
          {"preempted by", k, "L0", std::to_string(d), Share(d, total)});
    }
    return m;
  }

 private:
  // Who had the host CPU while the vCPU of `w` was preempted at `t`: "VM
  // <pid> (thread <tid>)" for another vCPU thread, "thread <tid>" for a
  // host thread, "unknown" if the VM model does not say.
  std::string Preempter(const WorkerId& w, int64_t t) const {
    const storage::StateHistory* vm = p_->vm;
    if (vm == nullptr) return "unknown";
    const std::string host = p_->graph->graph().hosts[w.host];
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

 public:
 private:
  const Path* p_;
};

}  // namespace

CriticalPathOutputs::CriticalPathOutputs(const graph::GraphModule* graph,
                                         const storage::StateHistory* vm)
    : graph_(graph), vm_(vm) {}

CriticalPathOutputs::~CriticalPathOutputs() = default;

std::unique_ptr<TimeGraphProvider> CriticalPathOutputs::MakeParent() {
  return std::make_unique<ParentProvider>(this);
}

const CriticalPathOutputs::Path* CriticalPathOutputs::First() {
  std::lock_guard<std::mutex> lock(mu_);
  AutoCreateLocked();
  return first_.get();
}

json CriticalPathOutputs::ConfigType() {
  json schema = {
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"title", "Critical path worker"},
      {"type", "object"},
      {"required", {"host"}},
      {"additionalProperties", false},
      {"properties",
       {{"host", {{"type", "string"}, {"description", "the trace's hostname"}}},
        {"vm_pid",
         {{"type", "integer"}, {"description", "QEMU pid of the guest's VM"}}},
        {"cr3",
         {{"type", "string"},
          {"pattern", "^0[xX][0-9a-fA-F]+$"},
          {"description", "guest process CR3 (with vm_pid)"}}},
        {"hypervisor_cr3",
         {{"type", "string"},
          {"pattern", "^0[xX][0-9a-fA-F]+$"},
          {"description", "L1 hypervisor CR3, for an L2 process"}}},
        {"tid", {{"type", "integer"}, {"description", "host thread id"}}},
        {"start", {{"type", "integer"}, {"description", "range start, ns"}}},
        {"end", {{"type", "integer"}, {"description", "range end, ns"}}}}},
      {"oneOf", json::array({json{{"required", {"vm_pid", "cr3"}}},
                             json{{"required", {"tid"}}}})}};
  return json{{"id", kCriticalPathConfigTypeId},
              {"name", "Critical path worker"},
              {"description",
               "Whose critical path: a host thread (tid) or a guest process "
               "(vm_pid + cr3, plus hypervisor_cr3 for an L2 process), "
               "optionally over [start, end)"},
              {"schema", schema}};
}

StatusOr<OutputDescriptor> CriticalPathOutputs::Create(const json& config) {
  if (!config.is_object()) return Invalid("configuration");
  auto type = config.find("sourceTypeId");
  if (type != config.end() &&
      (!type->is_string() || *type != kCriticalPathConfigTypeId)) {
    return Invalid("sourceTypeId");
  }
  auto pit = config.find("parameters");
  if (pit == config.end() || pit->is_null()) return Missing("parameters");
  const json& p = *pit;
  if (!p.is_object()) return Invalid("parameters");
  static const char* kKeys[] = {"host", "vm_pid", "cr3", "hypervisor_cr3",
                                "tid",  "start",  "end"};
  for (const auto& [k, v] : p.items()) {
    if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* x) {
          return k == x;
        }) == std::end(kKeys)) {
      return Invalid(k);
    }
  }
  auto path = std::make_shared<Path>();
  auto host = p.find("host");
  if (host == p.end()) return Missing("host");
  const graph::ExecGraph& g = graph_->graph();  // hosts are set before pass
  const int hi = host->is_string() ? g.HostIndex(*host) : -1;
  if (hi < 0) return Invalid("host");
  WorkerId& w = path->worker;
  w.host = static_cast<uint32_t>(hi);
  auto get_int = [&](const char* key, std::optional<int64_t>* out) -> Status {
    auto it = p.find(key);
    if (it == p.end() || it->is_null()) return Status::Ok();
    int64_t v;
    if (!AsInt64(*it, &v)) return Invalid(key);
    *out = v;
    return Status::Ok();
  };
  std::optional<int64_t> pid, tid;
  if (Status s = get_int("vm_pid", &pid); !s.ok()) return s;
  if (Status s = get_int("tid", &tid); !s.ok()) return s;
  if (Status s = get_int("start", &path->start); !s.ok()) return s;
  if (Status s = get_int("end", &path->end); !s.ok()) return s;
  if (tid) {
    if (pid || p.contains("cr3")) return Invalid("tid");
    w.kind = WorkerId::kHostThread;
    w.id = *tid;
  } else {
    if (!pid) return Missing("vm_pid");
    if (!p.contains("cr3")) return Missing("cr3");
    if (!ParseCr3(p["cr3"], &w.cr3)) return Invalid("cr3");
    w.kind = WorkerId::kGuest;
    w.id = *pid;
    if (p.contains("hypervisor_cr3")) {
      if (!ParseCr3(p["hypervisor_cr3"], &w.hcr3)) {
        return Invalid("hypervisor_cr3");
      }
      w.kind = WorkerId::kL2;
    }
    if (vm_ == nullptr) return Invalid("vm_pid");
  }
  if (path->start && path->end && *path->start >= *path->end) {
    return Invalid("end");
  }
  auto name = config.find("name");
  if (name != config.end() && !name->is_string()) return Invalid("name");
  auto desc = config.find("description");
  if (desc != config.end() && !desc->is_string()) return Invalid("description");
  path->name = name != config.end()
                   ? name->get<std::string>()
                   : "Critical path of " + graph::WorkerLabel(g, w);
  path->description = desc != config.end()
                          ? desc->get<std::string>()
                          : "Critical path of " + graph::WorkerLabel(g, w);
  path->parameters = p;
  path->graph = graph_;
  path->vm = vm_;
  path->time_graph = std::make_unique<PathProvider>(path.get());
  path->table = std::make_unique<BreakdownProvider>(path.get());
  std::lock_guard<std::mutex> lock(mu_);
  path->n = next_++;
  paths_.push_back(path);
  return path->time_graph->descriptor();
}

Status CriticalPathOutputs::Delete(const std::string& derived_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = paths_.begin(); it != paths_.end(); ++it) {
    if ((*it)->id() == derived_id || (*it)->table_id() == derived_id) {
      deleted_.push_back(*it);
      paths_.erase(it);
      return Status::Ok();
    }
  }
  return NotFound("No such derived output: " + derived_id);
}

void CriticalPathOutputs::AutoCreateLocked() {
  if (auto_done_ || !graph_->complete() || vm_ == nullptr) return;
  auto_done_ = true;
  const graph::ExecGraph& g = graph_->graph();
  struct Waited {
    int64_t ns;
    uint32_t host;
    int64_t pid;
    std::string cr3;
  };
  std::vector<Waited> all;
  for (uint32_t h = 0; h < g.hosts.size(); ++h) {
    auto vms = vm_->Find({g.hosts[h], "VMs"});
    if (!vms) continue;
    for (storage::Quark vq : vm_->Children(*vms)) {
      const std::string pid = vm_->Name(vq);
      auto procs = vm_->Child(vq, "Processes");
      if (!procs) continue;
      for (storage::Quark pq : vm_->Children(*procs)) {
        auto ivs = vm_->QueryRange(pq, g.begin, g.end);
        if (!ivs.ok()) continue;
        // The longest single wait (its path is the one worth explaining).
        int64_t ns = 0;
        for (const auto& iv : *ivs) {
          if (!iv.value.is_null() && iv.value.i >= vm::kWaitTimer &&
              iv.value.i <= vm::kWaitUnknown) {
            ns = std::max(ns, iv.end - iv.start + 1);
          }
        }
        all.push_back(
            {ns, h, std::strtoll(pid.c_str(), nullptr, 10), vm_->Name(pq)});
      }
    }
  }
  std::sort(all.begin(), all.end(),
            [](const Waited& a, const Waited& b) { return a.ns > b.ns; });
  if (all.size() > kAutoPaths) all.resize(kAutoPaths);
  for (const Waited& x : all) {
    auto path = std::make_shared<Path>();
    path->worker = {WorkerId::kGuest, x.host, x.pid, 0, 0};
    ParseCr3(json(x.cr3), &path->worker.cr3);
    const std::string label = graph::WorkerLabel(g, path->worker);
    path->name = "Critical path of " + label + " (waited longest)";
    path->description = "Created automatically: " + label + " waited up to " +
                        std::to_string(x.ns) + " ns at once";
    path->parameters = {
        {"host", g.hosts[x.host]}, {"vm_pid", x.pid}, {"cr3", x.cr3}};
    path->graph = graph_;
    path->vm = vm_;
    path->time_graph = std::make_unique<PathProvider>(path.get());
    path->table = std::make_unique<BreakdownProvider>(path.get());
    path->n = next_++;
    paths_.push_back(path);
    if (!first_) first_ = path;
  }
}

std::vector<OutputDescriptor> CriticalPathOutputs::Derived() {
  std::lock_guard<std::mutex> lock(mu_);
  AutoCreateLocked();
  std::vector<OutputDescriptor> out;
  for (const auto& p : paths_) out.push_back(p->time_graph->descriptor());
  for (const auto& p : paths_) out.push_back(p->table->descriptor());
  return out;
}

const TimeGraphProvider* CriticalPathOutputs::TimeGraph(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  AutoCreateLocked();
  for (const auto& p : paths_) {
    if (p->id() == id) return p->time_graph.get();
  }
  return nullptr;
}

const TableProvider* CriticalPathOutputs::Table(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  AutoCreateLocked();
  for (const auto& p : paths_) {
    if (p->table_id() == id) return p->table.get();
  }
  return nullptr;
}

}  // namespace vmtrace::tsp
