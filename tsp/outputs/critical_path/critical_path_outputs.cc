// Critical Path / Critical Path Breakdown outputs (critical_path_outputs.h).
#include "tsp/outputs/critical_path/critical_path_outputs.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include "analyses/graph/critical_path.h"
#include "analyses/vm/vm_module.h"
#include "tsp/http/query.h"
#include "tsp/outputs/critical_path/critical_path_internal.h"
#include "tsp/outputs/vm/vm_vectors_config.h"

namespace vmtrace::tsp {
namespace {

using cp_internal::kCauses;
using cp_internal::ParseCr3;
using graph::Cause;
using graph::CriticalPath;
using graph::Layer;
using graph::WorkerId;
using nlohmann::json;

}  // namespace

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
      m.headers = {"Worker"};
      m.running = true;
      return m;
    }
    if (!r->status.ok()) return r->status;
    // Named when drawn: the stored tree has the raw labels.
    TreeModel m = NamedPathTree(*r->stored, *p_->names->Current());
    const std::string owner = p_->OwnerHost();
    for (TreeEntry& e : m.entries) {
      if (e.parent_id < 0) e.host = owner;
    }
    return m;
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
    // Read from the path's store like any state history: bounded by rows x
    // samples however long the path is.
    VMTRACE_ASSIGN_OR_RETURN(m.rows, SampledStates(*r->stored, items, times));
    return m;
  }
  StatusOr<std::map<std::string, std::string>> Tooltip(
      int64_t item, int64_t time) const override {
    std::map<std::string, std::string> out;
    const Path::Result* r = p_->Get();
    if (r == nullptr || !r->status.ok()) return out;
    auto q = r->stored->rows.find(item);
    if (q == r->stored->rows.end()) return out;
    VMTRACE_ASSIGN_OR_RETURN(
        auto ivs, r->stored->history->QuerySampled({q->second}, {time}));
    if (ivs.empty() || ivs[0].value.kind != storage::StateValue::kInt) {
      return out;
    }
    const storage::StateInterval& iv = ivs[0];
    out["Cause"] = graph::CauseName(PathCause(iv.value.i));
    out["Layer"] = graph::LayerName(PathLayer(iv.value.i));
    auto label = r->stored->labels.find(item);
    if (label != r->stored->labels.end()) out["Worker"] = label->second;
    AddPathNames(*p_, *r->stored, item, time, *p_->names->Current(), &out);
    out["Duration (ns)"] = std::to_string(iv.end + 1 - iv.start);
    return out;
  }
  StyleMap Styles() const override { return CauseStyles(); }
  StatusOr<std::vector<TimeGraphArrow>> Arrows(
      const std::vector<int64_t>& times) const override {
    const Path::Result* r = p_->Get();
    if (r == nullptr || !r->status.ok()) return std::vector<TimeGraphArrow>{};
    const std::vector<int64_t> whole = {r->stored->start, r->stored->end};
    return SampledArrows(*r->stored, times.empty() ? whole : times);
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
      m.running = !outputs_->autos_done();
      return m;
    }
    return PathProvider(p).Tree(start, end);
  }
  StatusOr<RowsModel> States(const std::vector<int64_t>& times,
                             const std::vector<int64_t>& items) const override {
    const Path* p = outputs_->First();
    if (p == nullptr) {
      RowsModel m;
      m.running = !outputs_->autos_done();
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

}  // namespace

CriticalPathOutputs::CriticalPathOutputs(
    const graph::GraphModule* graph, const storage::StateHistory* vm,
    const sync::SyncModule* sync, ::vmtrace::vm::VmOptions vectors,
    std::string store_dir, std::string fingerprint,
    std::shared_ptr<vm::GuestNamesSource> names)
    : graph_(graph),
      vm_(vm),
      sync_(sync),
      vectors_(std::move(vectors)),
      dir_(store_dir.empty() ? "" : store_dir + "/critical-paths"),
      fingerprint_(std::move(fingerprint)),
      names_(names ? std::move(names)
                   : std::make_shared<vm::GuestNamesSource>()) {
  LoadConfigs();
  walker_ = std::jthread([this](std::stop_token st) { WalkLoop(st); });
}

bool CriticalPathOutputs::complete() const {
  return graph_->complete() && (sync_ == nullptr || sync_->complete());
}

CriticalPathOutputs::~CriticalPathOutputs() {
  walker_.request_stop();
  if (walker_.joinable()) walker_.join();
}

std::unique_ptr<TimeGraphProvider> CriticalPathOutputs::MakeParent() {
  return std::make_unique<ParentProvider>(this);
}

bool CriticalPathOutputs::autos_done() {
  std::lock_guard<std::mutex> lock(mu_);
  return auto_done_;
}

const CriticalPathOutputs::Path* CriticalPathOutputs::First() {
  std::lock_guard<std::mutex> lock(mu_);
  return first_.get();
}

std::string CriticalPathOutputs::parent_id() const { return kCriticalPathId; }

std::vector<json> CriticalPathOutputs::ConfigTypes() const {
  return {ConfigType()};
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

// The worker and range of a configuration's parameters (keys checked).
Status CriticalPathOutputs::ParseWorker(const json& p, Path* path) const {
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
  // Once the pass is over the graph and the VM model are complete, so a
  // worker they do not know has no path (before, it may still appear and
  // the path reports it when computed).
  if (complete()) {
    if (Status st = graph::FindWorker(g, vm_, w); !st.ok()) {
      return NotFound("No such worker: " + st.message());
    }
  }
  return Status::Ok();
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
  VMTRACE_RETURN_IF_ERROR(ParseWorker(p, path.get()));
  const graph::ExecGraph& g = graph_->graph();
  const WorkerId& w = path->worker;
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
  Attach(path.get());
  std::lock_guard<std::mutex> lock(mu_);
  if (paths_.size() >= kMaxDerived) {
    return InvalidArgument(
        "Invalid query parameters: too many derived outputs (at most " +
        std::to_string(kMaxDerived) +
        " critical paths per experiment); delete one first");
  }
  path->n = next_++;
  path->dir = PathDir(path->n);
  path->fingerprint = fingerprint_ + "|" + p.dump();
  paths_.push_back(path);
  to_walk_.push_back(path);
  SaveConfigsLocked();
  cv_.notify_all();
  return path->time_graph->descriptor();
}

Status CriticalPathOutputs::Delete(const std::string& derived_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = paths_.begin(); it != paths_.end(); ++it) {
    if ((*it)->id() == derived_id || (*it)->table_id() == derived_id ||
        (*it)->tree_id() == derived_id) {
      // Requests in flight may still read it: kept until the outputs go.
      deleted_.push_back(*it);
      paths_.erase(it);
      SaveConfigsLocked();
      return Status::Ok();
    }
  }
  return NotFound("No such derived output: " + derived_id);
}

// What every path reads (the models) and serves (its two providers).
void CriticalPathOutputs::Attach(Path* path) const {
  path->graph = graph_;
  path->vm = vm_;
  path->sync = sync_;
  path->vectors = &vectors_;
  path->names = names_;
  path->time_graph = std::make_unique<PathProvider>(path);
  path->table = MakeBreakdownProvider(path);
  path->tree = MakeBreakdownTreeProvider(path);
}

std::vector<OutputDescriptor> CriticalPathOutputs::Derived() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<OutputDescriptor> out;
  for (const auto& p : paths_) out.push_back(p->time_graph->descriptor());
  for (const auto& p : paths_) out.push_back(p->table->descriptor());
  for (const auto& p : paths_) out.push_back(p->tree->descriptor());
  return out;
}

const TimeGraphProvider* CriticalPathOutputs::TimeGraph(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : paths_) {
    if (p->id() == id) return p->time_graph.get();
  }
  return nullptr;
}

const DataTreeProvider* CriticalPathOutputs::DataTree(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : paths_) {
    if (p->tree_id() == id) return p->tree.get();
  }
  return nullptr;
}

const TableProvider* CriticalPathOutputs::Table(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : paths_) {
    if (p->table_id() == id) return p->table.get();
  }
  return nullptr;
}

namespace {

class CriticalPathFamily : public OutputFamily {
 public:
  std::vector<std::string> modules() const override {
    return {graph::GraphModule::kId};
  }
  Status Make(const OutputContext& ctx, OutputSet* out) const override {
    const auto* vm = FindModule<::vmtrace::vm::VmModule>(*ctx.index);
    auto paths = std::make_shared<CriticalPathOutputs>(
        FindModule<graph::GraphModule>(*ctx.index),
        vm ? &vm->history() : nullptr, FindModule<sync::SyncModule>(*ctx.index),
        VmOptionsFromConfigs(ctx.registry->ListConfigs(kVmVectorsTypeId)),
        ctx.store_dir, ctx.fingerprint, ctx.names);
    out->Add(paths->MakeParent());
    out->Add(std::shared_ptr<ConfigurableOutputs>(paths));
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<OutputFamily> CriticalPathOutputFamily() {
  return std::make_unique<CriticalPathFamily>();
}

}  // namespace vmtrace::tsp
