// TraceService's experiments: open, view, delete. The slow part of an open
// (Build) runs without the service lock; a per-experiment lock serializes
// the opens and deletes of one experiment.
#include <algorithm>
#include <chrono>
#include <thread>

#include "analyses/ctf/reader.h"
#include "base/log.h"
#include "base/uuid.h"
#include "storage/data_dir.h"
#include "tsp/service/module_registry.h"
#include "tsp/service/output_registry.h"
#include "tsp/service/trace_service.h"

namespace vmtrace::tsp {

std::string TraceService::IndexDir(const std::string& uuid) const {
  return options_.data_dir + "/experiments/" + uuid + "/index";
}

std::shared_ptr<std::mutex> TraceService::ExperimentLockLocked(
    const std::string& uuid) {
  std::erase_if(experiment_locks_,
                [](const auto& kv) { return kv.second.expired(); });
  auto& weak = experiment_locks_[uuid];
  std::shared_ptr<std::mutex> lock = weak.lock();
  if (!lock) {
    lock = std::make_shared<std::mutex>();
    weak = lock;
  }
  return lock;
}

StatusOr<std::shared_ptr<Experiment>> TraceService::Acquire(
    const std::string& uuid) {
  std::shared_ptr<std::mutex> experiment_lock;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = open_.find(uuid); it != open_.end()) return it->second;
    experiment_lock = ExperimentLockLocked(uuid);
  }
  std::lock_guard<std::mutex> opening(*experiment_lock);
  std::optional<storage::ExperimentRecord> rec;
  std::shared_ptr<Experiment> closing;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Opened by the request we waited for.
    if (auto it = open_.find(uuid); it != open_.end()) return it->second;
    rec = registry_->GetExperiment(uuid);
    if (!rec) return NotFound("No experiment found with uuid " + uuid);
    if (auto it = closing_.find(uuid); it != closing_.end()) {
      closing = std::move(it->second);
      closing_.erase(it);
    }
    generation = config_generation_;
  }
  VMTRACE_RETURN_IF_ERROR(WaitClosed(uuid, std::move(closing)));
  if (options_.on_open) options_.on_open(uuid);
  VMTRACE_ASSIGN_OR_RETURN(std::shared_ptr<Experiment> exp, Build(*rec));
  std::lock_guard<std::mutex> lock(mu_);
  // Under mu_, like a names change: none is missed between the two.
  SetNamesLocked(exp.get());
  if (generation == config_generation_) {
    open_[uuid] = exp;
  } else {
    // Configured while it opened: this request uses it, the next one
    // reopens it with the new configuration.
    exp->index->Cancel();
    closing_[uuid] = exp;
  }
  return exp;
}

Status TraceService::WaitClosed(const std::string& uuid,
                                std::shared_ptr<Experiment> closing) {
  if (!closing) return Status::Ok();
  // Requests hold an experiment for the duration of one reply, so its
  // last users are gone within milliseconds; then its stores close.
  const auto until = std::chrono::steady_clock::now() + options_.close_wait;
  while (closing.use_count() > 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (closing.use_count() > 1) {
    std::lock_guard<std::mutex> lock(mu_);
    closing_.emplace(uuid, std::move(closing));
    return Unavailable("the experiment is still in use; retry");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<index::ExperimentIndex>> TraceService::OpenIndex(
    const storage::ExperimentRecord& rec,
    const std::vector<std::vector<std::string>>& dirs) {
  std::vector<std::string> all_dirs;
  for (const auto& d : dirs)
    all_dirs.insert(all_dirs.end(), d.begin(), d.end());
  // The stores below are rebuilt (wiped) at will: never through a link.
  VMTRACE_RETURN_IF_ERROR(
      storage::PrepareDataPath(options_.data_dir, "experiments/" + rec.uuid));
  // Every analysis is fed by the experiment's one pass; each keeps its own
  // store beside the index so it can be dropped and rebuilt alone.
  index::IndexOptions iopt = options_.index;
  iopt.modules =
      MakeModuleFactory({options_.data_dir + "/experiments/" + rec.uuid,
                         index::FingerprintTraces(all_dirs), registry_.get()});
  // Guest traces are never analysed as hosts (module_registry.h).
  iopt.module_traces = ModuleTraces;
  return index::ExperimentIndex::Open(dirs, IndexDir(rec.uuid), iopt);
}

StatusOr<std::shared_ptr<Experiment>> TraceService::Build(
    const storage::ExperimentRecord& rec) {
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
  VMTRACE_ASSIGN_OR_RETURN(exp->index, OpenIndex(rec, dirs));
  std::vector<std::string> all_dirs;
  for (const auto& d : dirs)
    all_dirs.insert(all_dirs.end(), d.begin(), d.end());
  exp->clock = ViewClock::Of(*exp->index);
  if (exp->clock->multi_host()) exp->outputs.SetClock(exp->clock);
  OutputContext ctx{exp->index.get(),
                    rec.name,
                    names,
                    registry_.get(),
                    options_.data_dir + "/experiments/" + rec.uuid,
                    index::FingerprintTraces(all_dirs),
                    exp->names,
                    exp->guest_reports,
                    exp->clock};
  VMTRACE_RETURN_IF_ERROR(MakeOutputs(ctx, &exp->outputs));
  exp->guest_job =
      StartGuestTraces(exp->index.get(), exp->names, exp->guest_reports);
  VMTRACE_LOG(kInfo, "experiment %s (%s): %s", rec.name.c_str(),
              rec.uuid.c_str(),
              exp->index->loaded_from_store() ? "index loaded from store"
                                              : "indexing started");
  return exp;
}

ExperimentView TraceService::ViewLocked(
    const storage::ExperimentRecord& rec) const {
  ExperimentView v;
  v.record = rec;
  if (auto it = open_.find(rec.uuid); it != open_.end()) {
    v.open = it->second;
    v.traces = it->second->traces;
  }
  return v;
}

ExperimentView TraceService::Described(ExperimentView v) const {
  // Reads each trace's metadata: done without mu_.
  if (v.open) return v;
  for (const auto& tu : v.record.trace_uuids) {
    if (auto tr = registry_->GetTrace(tu)) v.traces.push_back(Describe(*tr));
  }
  return v;
}

StatusOr<ExperimentView> TraceService::AddExperiment(
    const std::string& name, const std::vector<std::string>& traces,
    ExperimentView* existing) {
  storage::ExperimentRecord rec{NameUuidFromBytes(name), name, traces};
  std::optional<ExperimentView> conflict;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& tu : traces) {
      if (!registry_->GetTrace(tu)) {
        return NotFound("No trace found with UUID " + tu);
      }
    }
    if (auto old = registry_->GetExperiment(rec.uuid)) {
      auto a = old->trace_uuids, b = traces;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a != b) {
        conflict = ViewLocked(*old);
      } else {
        rec = *old;
      }
    } else {
      VMTRACE_RETURN_IF_ERROR(registry_->PutExperiment(rec));
    }
  }
  if (conflict) {
    if (existing) *existing = Described(std::move(*conflict));
    return AlreadyExists("The experiment (" + name +
                         ") already exists and both differ.");
  }
  auto opened = Acquire(rec.uuid);
  ExperimentView view;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!opened.ok()) {
      // Nothing half-made stays behind: a failed first open forgets the
      // record.
      if (!registry_->GetExperiment(rec.uuid) || rec.trace_uuids == traces) {
        (void)registry_->DeleteExperiment(rec.uuid);
      }
      return opened.status();
    }
    view = ViewLocked(rec);
  }
  return Described(std::move(view));
}

std::vector<ExperimentView> TraceService::ListExperiments() const {
  std::vector<ExperimentView> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& r : registry_->ListExperiments()) {
      out.push_back(ViewLocked(r));
    }
  }
  for (auto& v : out) v = Described(std::move(v));
  return out;
}

StatusOr<ExperimentView> TraceService::GetExperiment(const std::string& uuid) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!registry_->GetExperiment(uuid)) {
      return NotFound("No experiment found with uuid " + uuid);
    }
  }
  auto opened = Acquire(uuid);
  ExperimentView v;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto rec = registry_->GetExperiment(uuid);
    if (!rec) return NotFound("No experiment found with uuid " + uuid);
    v = ViewLocked(*rec);
  }
  v = Described(std::move(v));
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = open_.find(uuid); it != open_.end()) return it->second;
    if (!registry_->GetExperiment(uuid)) return NotFound("No such trace");
  }
  auto exp = Acquire(uuid);
  if (!exp.ok() && exp.status().code() == StatusCode::kNotFound) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!registry_->GetExperiment(uuid)) return NotFound("No such trace");
  }
  return exp;
}

StatusOr<ExperimentView> TraceService::DeleteExperiment(
    const std::string& uuid) {
  std::shared_ptr<std::mutex> experiment_lock;
  {
    std::lock_guard<std::mutex> lock(mu_);
    experiment_lock = ExperimentLockLocked(uuid);
  }
  // After an open in progress: its stores are open before they are removed.
  std::lock_guard<std::mutex> deleting(*experiment_lock);
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
  return Described(std::move(view));
}

}  // namespace vmtrace::tsp
