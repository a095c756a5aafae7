// Critical Path / Critical Path Breakdown outputs (critical_path_outputs.h).
#include "tsp/outputs/critical_path/critical_path_outputs.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "analyses/graph/critical_path.h"
#include "analyses/vm/vm_layout.h"
#include "analyses/vm/vm_module.h"
#include "base/deadline.h"
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
    return r->stored->tree;
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
    VMTRACE_ASSIGN_OR_RETURN(auto rows,
                             SampledStates(*r->stored, {item}, {time}));
    if (rows.empty() || rows[0].states.empty()) return out;
    const TimeGraphState& s = rows[0].states[0];
    auto q = r->stored->rows.at(item);
    auto iv = r->stored->history->QuerySampled({q}, {time});
    if (!iv.ok() || iv->empty()) return out;
    out["Cause"] = s.style;
    out["Layer"] = graph::LayerName(PathLayer((*iv)[0].value.i));
    auto label = r->stored->labels.find(item);
    if (label != r->stored->labels.end()) out["Worker"] = label->second;
    out["Duration (ns)"] = std::to_string(s.end - s.start);
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

CriticalPathOutputs::CriticalPathOutputs(const graph::GraphModule* graph,
                                         const storage::StateHistory* vm,
                                         const sync::SyncModule* sync,
                                         ::vmtrace::vm::VmOptions vectors,
                                         std::string store_dir,
                                         std::string fingerprint)
    : graph_(graph),
      vm_(vm),
      sync_(sync),
      vectors_(std::move(vectors)),
      dir_(store_dir.empty() ? "" : store_dir + "/critical-paths"),
      fingerprint_(std::move(fingerprint)) {
  LoadConfigs();
  walker_ = std::jthread([this](std::stop_token st) { WalkLoop(st); });
}

void CriticalPathOutputs::WalkLoop(std::stop_token stop) {
  // The graph is complete once the pass is over; a cheap poll avoids a
  // callback from the index into the outputs.
  while (!stop.stop_requested() && !complete()) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, stop, std::chrono::milliseconds(50),
                 [] { return false; });
  }
  if (stop.stop_requested()) return;
  AutoCreate();
  while (!stop.stop_requested()) {
    std::shared_ptr<Path> next;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!cv_.wait(lock, stop, [this] { return !to_walk_.empty(); })) return;
      next = to_walk_.front();
      to_walk_.erase(to_walk_.begin());
    }
    next->Walk();
  }
}

void CriticalPathOutputs::Path::Walk() {
  // Done once for every later request: no request's deadline applies.
  ScopedDeadline unbounded(ScopedDeadline::Unbounded());
  auto r = std::make_unique<Result>();
  auto loaded = LoadPath(dir, fingerprint);
  if (loaded.ok()) {
    r->stored = std::move(loaded).value();
  } else {
    const graph::ExecGraph& g = graph->graph();
    WalkedPath w;
    w.start = start.value_or(g.begin);
    w.end = end.value_or(g.end + 1);
    const sync::ClockSync* clocks =
        sync != nullptr ? sync->clock_sync() : nullptr;
    auto cp = graph::ComputeCriticalPath(g, vm, worker, w.start, w.end,
                                         {clocks, vectors});
    if (!cp.ok()) {
      r->status = cp.status();
    } else {
      Rows rows = BuildRows(g, *cp, w.start, w.end);
      w.cp = &*cp;
      w.tree = std::move(rows.tree);
      w.id_of = std::move(rows.id_of);
      for (const auto& [wk, id] : w.id_of) {
        w.labels[id] = graph::WorkerLabel(g, wk);
      }
      w.preempters = Preempters(*this, *cp, clocks);
      auto stored = SavePath(dir, fingerprint, w);
      if (stored.ok()) {
        r->stored = std::move(stored).value();
      } else {
        r->status = stored.status();
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu);
  result = std::move(r);
}

Rows CriticalPathOutputs::Path::BuildRows(const graph::ExecGraph& g,
                                          const CriticalPath& cp, int64_t start,
                                          int64_t end) {
  Rows rows;
  rows.tree.headers = {"Worker"};
  std::map<std::string, int64_t> groups;
  auto add = [&](int64_t parent, std::string label, bool data) {
    TreeEntry e;
    e.id = static_cast<int64_t>(rows.tree.entries.size());
    e.parent_id = parent;
    e.labels = {std::move(label)};
    e.has_data = data;
    e.start = start;
    e.end = end;
    rows.tree.entries.push_back(e);
    return e.id;
  };
  auto group = [&](const std::string& key, int64_t parent,
                   const std::string& label) {
    auto it = groups.find(key);
    if (it != groups.end()) return it->second;
    return groups[key] = add(parent, label, false);
  };
  for (const auto& s : cp.segments) {
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
  return rows;
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
  path->time_graph = std::make_unique<PathProvider>(path);
  path->table = MakeBreakdownProvider(path);
  path->tree = MakeBreakdownTreeProvider(path);
}

void CriticalPathOutputs::AutoCreate() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto_done_ || vm_ == nullptr) {
      // Loaded with the configurations: only their walks remain.
      to_walk_ = paths_;
      if (first_ &&
          std::find(paths_.begin(), paths_.end(), first_) == paths_.end()) {
        to_walk_.insert(to_walk_.begin(), first_);
      }
      auto_done_ = true;
      cv_.notify_all();
      return;
    }
  }
  // In the background, once: no request waits for this scan.
  ScopedDeadline unbounded(ScopedDeadline::Unbounded());
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
        // The longest single wait (its path is the one worth explaining),
        // read in slices so that a long history is never held whole (an
        // interval across two slices is seen whole in both).
        int64_t ns = 0;
        const int64_t slice = std::max<int64_t>(1, (g.end - g.begin) / 64 + 1);
        for (int64_t a = g.begin; a <= g.end; a += slice) {
          auto ivs = vm_->QueryRange(pq, a, std::min(g.end, a + slice - 1));
          if (!ivs.ok()) break;
          for (const auto& iv : *ivs) {
            if (!iv.value.is_null() && iv.value.i >= vm::kWaitTimer &&
                iv.value.i <= vm::kWaitUnknown) {
              ns = std::max(ns, iv.end - iv.start + 1);
            }
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
  std::lock_guard<std::mutex> lock(mu_);
  auto_done_ = true;
  std::vector<std::shared_ptr<Path>> autos;
  for (const Waited& x : all) {
    if (paths_.size() >= kMaxDerived) break;
    auto path = std::make_shared<Path>();
    path->worker = {WorkerId::kGuest, x.host, x.pid, 0, 0};
    ParseCr3(json(x.cr3), &path->worker.cr3);
    const std::string label = graph::WorkerLabel(g, path->worker);
    path->name = "Critical path of " + label + " (waited longest)";
    path->description = "Created automatically: " + label + " waited up to " +
                        std::to_string(x.ns) + " ns at once";
    path->parameters = {
        {"host", g.hosts[x.host]}, {"vm_pid", x.pid}, {"cr3", x.cr3}};
    path->automatic = true;
    Attach(path.get());
    path->n = next_++;
    path->dir = PathDir(path->n);
    path->fingerprint = fingerprint_ + "|" + path->parameters.dump();
    paths_.push_back(path);
    autos.push_back(path);
    if (!first_) first_ = path;
  }
  // Before the paths configured while the pass ran: the parent shows one.
  to_walk_.insert(to_walk_.begin(), autos.begin(), autos.end());
  SaveConfigsLocked();
  cv_.notify_all();
}

std::string CriticalPathOutputs::PathDir(int n) const {
  return dir_.empty() ? "" : dir_ + "/" + std::to_string(n);
}

// The configurations file: {"fingerprint", "next", "first", "paths": [{n,
// automatic, listed, name, description, parameters}]}. A deleted first
// path stays (unlisted): the parent output still shows it.
void CriticalPathOutputs::SaveConfigsLocked() const {
  if (dir_.empty()) return;
  json paths = json::array();
  auto add = [&paths](const Path& p, bool listed) {
    paths.push_back({{"n", p.n},
                     {"automatic", p.automatic},
                     {"listed", listed},
                     {"name", p.name},
                     {"description", p.description},
                     {"parameters", p.parameters}});
  };
  for (const auto& p : paths_) add(*p, true);
  if (first_ &&
      std::find(paths_.begin(), paths_.end(), first_) == paths_.end()) {
    add(*first_, false);
  }
  const json j = {{"fingerprint", fingerprint_},
                  {"next", next_},
                  {"autoDone", auto_done_},
                  {"first", first_ ? first_->n : -1},
                  {"paths", paths}};
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  const std::string tmp = dir_ + "/paths.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump();
    if (!out.flush()) return;  // kept in memory; walked again next time
  }
  std::filesystem::rename(tmp, dir_ + "/paths.json", ec);
  // The stores of deleted paths (not the first's) go with them.
  for (const auto& d : deleted_) {
    if (d != first_ && d->Get() != nullptr) {
      std::filesystem::remove_all(PathDir(d->n), ec);
    }
  }
}

void CriticalPathOutputs::LoadConfigs() {
  if (dir_.empty()) return;
  std::ifstream in(dir_ + "/paths.json");
  if (!in) return;
  const json j = json::parse(in, nullptr, false);
  // Another trace's, or damaged: start afresh (stores are rebuilt).
  if (!j.is_object() || j.value("fingerprint", "") != fingerprint_) return;
  try {
    std::lock_guard<std::mutex> lock(mu_);
    next_ = j.at("next").get<int>();
    auto_done_ = j.at("autoDone").get<bool>();
    const int first = j.at("first").get<int>();
    for (const json& e : j.at("paths")) {
      auto path = std::make_shared<Path>();
      if (!ParseWorker(e.at("parameters"), path.get()).ok()) continue;
      path->n = e.at("n").get<int>();
      path->automatic = e.at("automatic").get<bool>();
      path->name = e.at("name").get<std::string>();
      path->description = e.at("description").get<std::string>();
      path->parameters = e.at("parameters");
      path->dir = PathDir(path->n);
      path->fingerprint = fingerprint_ + "|" + path->parameters.dump();
      Attach(path.get());
      if (e.at("listed").get<bool>()) paths_.push_back(path);
      if (path->n == first) first_ = path;
    }
  } catch (const json::exception&) {
    paths_.clear();
    first_.reset();
    next_ = 1;
    auto_done_ = false;
  }
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
        ctx.store_dir, ctx.fingerprint);
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
