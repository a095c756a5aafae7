#include "tsp/service/trace_service.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "analyses/ctf/reader.h"
#include "analyses/graph/graph_module.h"
#include "analyses/kernel/kernel_module.h"
#include "analyses/sync/sync_module.h"
#include "analyses/vm/vm_module.h"
#include "base/log.h"
#include "base/uuid.h"
#include "storage/data_dir.h"
#include "tsp/outputs/critical_path/critical_path_outputs.h"
#include "tsp/outputs/kernel/kernel_providers.h"
#include "tsp/http/query.h"
#include "tsp/outputs/vm/vm_providers.h"
#include "tsp/outputs/vm/vm_stats_providers.h"
#include "tsp/outputs/vm/vm_vectors_config.h"

namespace vmtrace::tsp {
namespace fs = std::filesystem;

TraceService::TraceService(ServiceOptions options)
    : options_(std::move(options)) {}

TraceService::~TraceService() { Shutdown(); }

StatusOr<std::unique_ptr<TraceService>> TraceService::Open(
    ServiceOptions options) {
  std::unique_ptr<TraceService> s(new TraceService(std::move(options)));
  // Each root as given (absolute) and canonical: a path through a symlinked
  // root is inside it lexically, and its canonical form inside the target.
  std::vector<std::string> roots;
  for (const std::string& root : s->options_.trace_roots) {
    std::error_code ec;
    fs::path canon = fs::canonical(root, ec);
    if (ec || !fs::is_directory(canon, ec)) {
      return InvalidArgument("trace root " + root + " is not a directory");
    }
    roots.push_back(fs::absolute(root, ec).lexically_normal().string());
    roots.push_back(canon.string());
  }
  s->options_.trace_roots = std::move(roots);
  VMTRACE_ASSIGN_OR_RETURN(
      s->registry_,
      storage::Registry::Open(s->options_.data_dir + "/registry"));
  return s;
}

void TraceService::Shutdown() {
  std::map<std::string, std::shared_ptr<Experiment>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    open = open_;
  }
  for (auto& [uuid, exp] : open) exp->index->Cancel();
}

std::vector<storage::ConfigRecord> TraceService::ListConfigs(
    const std::string& type) const {
  return registry_->ListConfigs(type);
}

std::optional<storage::ConfigRecord> TraceService::GetConfig(
    const std::string& type, const std::string& id) const {
  return registry_->GetConfig(type, id);
}

Status TraceService::PutConfig(const storage::ConfigRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  VMTRACE_RETURN_IF_ERROR(registry_->PutConfig(record));
  CloseAllLocked();
  return Status::Ok();
}

Status TraceService::DeleteConfig(const std::string& type,
                                  const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  VMTRACE_RETURN_IF_ERROR(registry_->DeleteConfig(type, id));
  CloseAllLocked();
  return Status::Ok();
}

void TraceService::CloseAllLocked() {
  // Passes are cancelled here; a reopen reuses the complete index and
  // rebuilds only the analyses whose configuration changed.
  std::erase_if(closing_,
                [](const auto& kv) { return kv.second.use_count() == 1; });
  for (auto& [uuid, exp] : open_) {
    exp->index->Cancel();
    closing_[uuid] = exp;
  }
  open_.clear();
}

std::string TraceService::IndexDir(const std::string& uuid) const {
  return options_.data_dir + "/experiments/" + uuid + "/index";
}

TraceInfo TraceService::Describe(const storage::TraceRecord& r) const {
  TraceInfo info{r, {}};
  auto dirs = ctf::FindTraces(r.path);
  if (!dirs.ok()) {
    info.properties["error"] = dirs.status().message();
    return info;
  }
  if (dirs->size() > 1) {
    info.properties["ctf.traces"] = std::to_string(dirs->size());
  }
  if (auto t = ctf::Trace::Open(dirs->front()); t.ok()) {
    for (const auto& [k, v] : (*t)->info().env) info.properties[k] = v;
    // Stream files that cannot be read (FIFO, device, dangling link...).
    std::string unread;
    for (const auto& why : (*t)->info().unread_streams) {
      unread += (unread.empty() ? "" : "; ") + why;
    }
    if (!unread.empty()) info.properties["ctf.unread_streams"] = unread;
  } else {
    info.properties["error"] = t.status().message();
  }
  return info;
}

namespace {

// True if `path` is `root` or below it (both absolute and normal).
bool Within(const fs::path& path, const fs::path& root) {
  auto [r, p] =
      std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return r == root.end() || (std::next(r) == root.end() && r->empty());
}

}  // namespace

StatusOr<std::string> TraceService::AllowedPath(const std::string& uri) const {
  // A NUL byte would cut the path short in every system call.
  if (uri.find('\0') != std::string::npos) return Invalid("uri");
  std::error_code ec;
  if (uri.empty()) return NotFound("No trace at " + uri);
  fs::path lexical = fs::absolute(uri, ec).lexically_normal();
  if (ec) return NotFound("No trace at " + uri);
  const auto& roots = options_.trace_roots;
  if (!roots.empty()) {
    // Outside every root: one answer, decided before the file system is
    // touched, so it tells nothing about what exists there. Inside, `..`
    // is gone (lexical) and the symlinks are resolved, which must not lead
    // out either; that target is not looked at any further.
    const Status outside =
        PermissionDenied("The path is outside the server's trace roots");
    auto in_roots = [&roots](const fs::path& p) {
      return std::any_of(roots.begin(), roots.end(), [&p](const auto& r) {
        return Within(p, fs::path(r));
      });
    };
    if (!in_roots(lexical)) return outside;
    fs::path canon = fs::weakly_canonical(lexical, ec);
    if (ec || !in_roots(canon.lexically_normal())) return outside;
    lexical = canon.lexically_normal();
  }
  if (!fs::exists(lexical, ec)) return NotFound("No trace at " + uri);
  return fs::weakly_canonical(lexical, ec).string();
}

StatusOr<TraceInfo> TraceService::AddTrace(const std::string& uri,
                                           std::optional<std::string> name,
                                           TraceInfo* existing) {
  VMTRACE_ASSIGN_OR_RETURN(std::string path, AllowedPath(uri));
  VMTRACE_ASSIGN_OR_RETURN(auto dirs, ctf::FindTraces(path));
  for (const auto& d : dirs) {
    // Parse the metadata now so an unreadable trace is refused at once
    // rather than failing later during indexing.
    auto t = ctf::Trace::Open(d);
    if (!t.ok()) return t.status();
  }
  std::string n =
      name && !name->empty() ? *name : fs::path(path).filename().string();
  storage::TraceRecord rec{NameUuidFromBytes(path + "/" + n), n, path};
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& other : registry_->ListTraces()) {
    if (other.name != n) continue;
    if (other.path == path) return Describe(other);
    if (existing) *existing = Describe(other);
    return AlreadyExists("The trace (" + n +
                         ") already exists and both differ");
  }
  VMTRACE_RETURN_IF_ERROR(registry_->PutTrace(rec));
  return Describe(rec);
}

std::vector<TraceInfo> TraceService::ListTraces() const {
  std::vector<TraceInfo> out;
  for (const auto& r : registry_->ListTraces()) out.push_back(Describe(r));
  return out;
}

StatusOr<TraceInfo> TraceService::GetTrace(const std::string& uuid) const {
  auto r = registry_->GetTrace(uuid);
  if (!r) return NotFound("No trace found with uuid " + uuid);
  return Describe(*r);
}

StatusOr<TraceInfo> TraceService::DeleteTrace(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto r = registry_->GetTrace(uuid);
  if (!r) return NotFound("No trace found with uuid " + uuid);
  for (const auto& e : registry_->ListExperiments()) {
    if (std::find(e.trace_uuids.begin(), e.trace_uuids.end(), uuid) !=
        e.trace_uuids.end()) {
      return FailedPrecondition(
          "The trace is in use by at least one experiment thus cannot be "
          "deleted.");
    }
  }
  TraceInfo info = Describe(*r);
  VMTRACE_RETURN_IF_ERROR(registry_->DeleteTrace(uuid));
  return info;
}

StatusOr<std::shared_ptr<Experiment>> TraceService::OpenLocked(
    const storage::ExperimentRecord& rec) {
  if (auto it = open_.find(rec.uuid); it != open_.end()) return it->second;
  if (auto it = closing_.find(rec.uuid); it != closing_.end()) {
    // Requests hold an experiment for the duration of one reply, so its
    // last users are gone within milliseconds; then its stores close.
    const auto until = std::chrono::steady_clock::now() + options_.close_wait;
    while (it->second.use_count() > 1 &&
           std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (it->second.use_count() > 1) {
      return Unavailable("the experiment is still in use; retry");
    }
    closing_.erase(it);
  }
  auto exp = std::make_shared<Experiment>();
  exp->record = rec;
  std::vector<std::vector<std::string>> dirs;
  std::vector<std::string> names;
  for (const auto& tu : rec.trace_uuids) {
    auto tr = registry_->GetTrace(tu);
    if (!tr) return NotFound("No trace found with UUID " + tu);
    VMTRACE_ASSIGN_OR_RETURN(auto d, ctf::FindTraces(tr->path));
    dirs.push_back(std::move(d));
    names.push_back(tr->name);
    exp->traces.push_back(Describe(*tr));
  }
  // Every analysis is fed by the experiment's one pass; each keeps its own
  // store beside the index so it can be dropped and rebuilt alone.
  index::IndexOptions iopt = options_.index;
  std::vector<std::string> all_dirs;
  for (const auto& d : dirs)
    all_dirs.insert(all_dirs.end(), d.begin(), d.end());
  const std::string exp_dir = options_.data_dir + "/experiments/" + rec.uuid;
  // The stores below are rebuilt (wiped) at will: never through a link.
  VMTRACE_RETURN_IF_ERROR(
      storage::PrepareDataPath(options_.data_dir, "experiments/" + rec.uuid));
  const std::string fingerprint = index::FingerprintTraces(all_dirs);
  // The VM interrupt-vector configurations apply to every experiment; they
  // are part of the VM store's fingerprint, so a change rebuilds it.
  vm::VmOptions vm_options;
  for (const auto& c : registry_->ListConfigs(kVmVectorsTypeId)) {
    auto rule = ParseVectorRule(
        nlohmann::json::parse(c.parameters_json, nullptr, false));
    if (!rule.ok()) continue;  // validated when stored; skip if damaged
    std::string key = (rule->host.empty() ? "*" : rule->host) + "/" +
                      (rule->pid ? std::to_string(*rule->pid) : "*");
    vm::VectorMap& m = vm_options.vectors[key];
    m.timer.insert(m.timer.end(), rule->timer.begin(), rule->timer.end());
    m.task.insert(m.task.end(), rule->task.begin(), rule->task.end());
    m.disk.insert(m.disk.end(), rule->disk.begin(), rule->disk.end());
    m.net.insert(m.net.end(), rule->net.begin(), rule->net.end());
  }
  iopt.modules = [exp_dir, fingerprint, vm_options](
                     const std::vector<std::shared_ptr<const ctf::Trace>>& t)
      -> StatusOr<std::vector<std::unique_ptr<index::AnalysisModule>>> {
    std::vector<std::unique_ptr<index::AnalysisModule>> mods;
    VMTRACE_ASSIGN_OR_RETURN(auto k, kernel::KernelModule::Open(
                                         t, exp_dir + "/kernel", fingerprint));
    mods.push_back(std::move(k));
    // Several hosts: their clocks, fitted from matched TCP packets.
    if (sync::SyncModule::HostNames(t).size() >= 2) {
      mods.push_back(sync::SyncModule::Open(t, exp_dir + "/sync", fingerprint));
    }
    // The VM analyses (and their outputs) exist only for traces of a KVM
    // host: without entry/exit events they would show empty views.
    bool kvm = false;
    for (const auto& trace : t) {
      for (const ctf::EventClass* cls : trace->event_classes()) {
        const std::string& n = cls->name();
        kvm |= n == "kvm_entry" || n == "kvm_x86_entry" ||
               n == "addons_vcpu_enter_guest";
      }
    }
    if (kvm) {
      VMTRACE_ASSIGN_OR_RETURN(
          auto vm,
          vm::VmModule::Open(t, exp_dir + "/vm", fingerprint, vm_options));
      mods.push_back(std::move(vm));
      // The execution graph (critical paths), same pass, saved beside the
      // other stores so a reopen does not read the trace again.
      mods.push_back(graph::GraphModule::Open(t, exp_dir + "/graph",
                                              fingerprint, vm_options));
    }
    return mods;
  };
  VMTRACE_ASSIGN_OR_RETURN(
      exp->index, index::ExperimentIndex::Open(dirs, IndexDir(rec.uuid), iopt));
  for (const auto& m : exp->index->modules()) {
    if (auto* k = dynamic_cast<const kernel::KernelModule*>(m.get())) {
      exp->time_graphs.push_back(MakeThreadStatusProvider(k));
      exp->time_graphs.push_back(MakeResourcesProvider(k));
      exp->xys.push_back(MakeCpuUsageProvider(k));
    }
  }
  const kernel::KernelModule* kernel_module = nullptr;
  for (const auto& m : exp->index->modules()) {
    if (auto* k = dynamic_cast<const kernel::KernelModule*>(m.get())) {
      kernel_module = k;
    }
  }
  for (const auto& m : exp->index->modules()) {
    if (auto* v = dynamic_cast<const vm::VmModule*>(m.get())) {
      exp->time_graphs.push_back(MakeVirtualCpusProvider(v, kernel_module));
      exp->time_graphs.push_back(MakeVirtualProcessesProvider(v));
    }
  }
  // The VM statistics are computed from the same VM state history.
  for (const auto& m : exp->index->modules()) {
    if (auto* v = dynamic_cast<const vm::VmModule*>(m.get())) {
      const storage::StateHistory* h = &v->history();
      exp->tables.push_back(MakeVmWaitTableProvider(h));
      exp->xys.push_back(MakeVmWaitXyProvider(h));
      exp->tables.push_back(MakeVmExitsTableProvider(h));
      exp->xys.push_back(MakeVmExitRateProvider(h));
      exp->xys.push_back(MakeVcpuUsageProvider(h));
      exp->tables.push_back(MakePreemptionsProvider(h));
    }
  }
  for (const auto& m : exp->index->modules()) {
    if (auto* s = dynamic_cast<const sync::SyncModule*>(m.get())) exp->sync = s;
  }
  // The critical path outputs, over the execution graph and the VM model.
  for (const auto& m : exp->index->modules()) {
    auto* gm = dynamic_cast<const graph::GraphModule*>(m.get());
    if (gm == nullptr) continue;
    const storage::StateHistory* vh = nullptr;
    for (const auto& m2 : exp->index->modules()) {
      if (auto* v = dynamic_cast<const vm::VmModule*>(m2.get())) {
        vh = &v->history();
      }
    }
    exp->critical_paths =
        std::make_shared<CriticalPathOutputs>(gm, vh, exp->sync, vm_options);
    exp->time_graphs.push_back(exp->critical_paths->MakeParent());
  }
  exp->table = std::make_unique<index::EventsTable>(exp->index.get(), names);
  exp->histogram =
      std::make_unique<index::Histogram>(exp->index.get(), rec.name, names);
  VMTRACE_LOG(kInfo, "experiment %s (%s): %s", rec.name.c_str(),
              rec.uuid.c_str(),
              exp->index->loaded_from_store() ? "index loaded from store"
                                              : "indexing started");
  open_[rec.uuid] = exp;
  return exp;
}

ExperimentView TraceService::ViewLocked(
    const storage::ExperimentRecord& rec) const {
  ExperimentView v;
  v.record = rec;
  if (auto it = open_.find(rec.uuid); it != open_.end()) {
    v.open = it->second;
    v.traces = it->second->traces;
    return v;
  }
  for (const auto& tu : rec.trace_uuids) {
    if (auto tr = registry_->GetTrace(tu)) v.traces.push_back(Describe(*tr));
  }
  return v;
}

StatusOr<ExperimentView> TraceService::AddExperiment(
    const std::string& name, const std::vector<std::string>& traces,
    ExperimentView* existing) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& tu : traces) {
    if (!registry_->GetTrace(tu)) {
      return NotFound("No trace found with UUID " + tu);
    }
  }
  storage::ExperimentRecord rec{NameUuidFromBytes(name), name, traces};
  if (auto old = registry_->GetExperiment(rec.uuid)) {
    auto a = old->trace_uuids, b = traces;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) {
      if (existing) *existing = ViewLocked(*old);
      return AlreadyExists("The experiment (" + name +
                           ") already exists and both differ.");
    }
    rec = *old;
  } else {
    VMTRACE_RETURN_IF_ERROR(registry_->PutExperiment(rec));
  }
  auto opened = OpenLocked(rec);
  if (!opened.ok()) {
    // Nothing half-made stays behind: a failed first open forgets the record.
    if (!registry_->GetExperiment(rec.uuid) || rec.trace_uuids == traces) {
      (void)registry_->DeleteExperiment(rec.uuid);
    }
    return opened.status();
  }
  return ViewLocked(rec);
}

std::vector<ExperimentView> TraceService::ListExperiments() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ExperimentView> out;
  for (const auto& r : registry_->ListExperiments()) {
    out.push_back(ViewLocked(r));
  }
  return out;
}

StatusOr<ExperimentView> TraceService::GetExperiment(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto rec = registry_->GetExperiment(uuid);
  if (!rec) return NotFound("No experiment found with uuid " + uuid);
  auto opened = OpenLocked(*rec);
  ExperimentView v = ViewLocked(*rec);
  if (!opened.ok()) {
    // Known but unreadable now (files moved, metadata damaged): say why
    // instead of pretending it is closed.
    for (auto& t : v.traces)
      t.properties["indexing.error"] = opened.status().message();
  }
  return v;
}

StatusOr<std::shared_ptr<Experiment>> TraceService::OpenExperiment(
    const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto rec = registry_->GetExperiment(uuid);
  if (!rec) return NotFound("No such trace");
  return OpenLocked(*rec);
}

StatusOr<ExperimentView> TraceService::DeleteExperiment(
    const std::string& uuid) {
  std::shared_ptr<Experiment> exp;
  ExperimentView view;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto rec = registry_->GetExperiment(uuid);
    if (!rec) return NotFound("No experiment found with uuid " + uuid);
    view = ViewLocked(*rec);
    VMTRACE_RETURN_IF_ERROR(registry_->DeleteExperiment(uuid));
    if (auto it = open_.find(uuid); it != open_.end()) {
      exp = it->second;
      open_.erase(it);
    }
  }
  if (exp) exp->index->Cancel();
  // Requests still holding `exp` keep its store open; LevelDB tolerates
  // the directory being unlinked underneath on Linux. Links inside the data
  // dir are removed as links, never followed (storage/data_dir.h).
  (void)storage::RemoveDataPath(options_.data_dir, "experiments/" + uuid);
  return view;
}

}  // namespace vmtrace::tsp
