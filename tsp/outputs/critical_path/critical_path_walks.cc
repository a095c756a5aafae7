// The background side of the critical path outputs
// (critical_path_outputs.h): the walker thread that makes the automatic
// paths and walks every path once into its store (path_store.h), and the
// derived outputs' configurations kept across restarts.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "analyses/graph/critical_path.h"
#include "analyses/vm/vm_layout.h"
#include "base/deadline.h"
#include "tsp/outputs/critical_path/critical_path_internal.h"

namespace vmtrace::tsp {

using graph::WorkerId;
using nlohmann::json;
using Path = CriticalPathOutputs::Path;
using cp_internal::ParseCr3;

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
      w.preempter_of = [this, &path = *cp, clocks](size_t i) {
        return PreempterOf(*this, path, clocks, i);
      };
      auto stored = SavePath(dir, fingerprint, w);
      if (stored.ok()) {
        r->stored = std::move(stored).value();
      } else {
        r->status = stored.status();
      }
    }
    // The walk read the mapped graph where it went: give those pages back
    // (peak RSS must not grow with the trace, graph_store.h).
    g.ReleasePages();
  }
  // The walked path (and the scratch of its store's writer) were freed:
  // hand the pages back now rather than at the next heavy request.
  malloc_trim(0);
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
      // Ids stay unique even if the file's "next" was damaged.
      next_ = std::max(next_, path->n + 1);
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

}  // namespace vmtrace::tsp
