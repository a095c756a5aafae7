#include "tsp/service/trace_service.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "analyses/ctf/reader.h"
#include "base/uuid.h"
#include "tsp/http/query.h"
#include "tsp/outputs/vm/vm_names_config.h"

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
  if (record.type_id == kVmNamesTypeId) {
    SetNamesOfAllLocked();
  } else {
    CloseAllLocked();
  }
  return Status::Ok();
}

Status TraceService::DeleteConfig(const std::string& type,
                                  const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  VMTRACE_RETURN_IF_ERROR(registry_->DeleteConfig(type, id));
  if (type == kVmNamesTypeId) {
    SetNamesOfAllLocked();
  } else {
    CloseAllLocked();
  }
  return Status::Ok();
}

// Names are applied when outputs are drawn: the experiments stay open, no
// store is touched, the next reply shows them.
void TraceService::SetNamesOfAllLocked() {
  for (auto& [uuid, exp] : open_) SetNamesLocked(exp.get());
}

void TraceService::SetNamesLocked(Experiment* exp) const {
  exp->names->SetHand(
      GuestNamesFromConfigs(registry_->ListConfigs(kVmNamesTypeId)));
}

void TraceService::CloseAllLocked() {
  // Passes are cancelled here; a reopen reuses the complete index and
  // rebuilds only the analyses whose configuration changed. Opens still
  // running read the configuration before this: they are not kept open.
  ++config_generation_;
  std::erase_if(closing_,
                [](const auto& kv) { return kv.second.use_count() == 1; });
  for (auto& [uuid, exp] : open_) {
    exp->index->Cancel();
    closing_[uuid] = exp;
  }
  open_.clear();
}

namespace {

// Size and modification time of `path` (lstat: a link is not followed), or
// "-" if it cannot be read.
std::string FileStamp(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
         "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_ino);
}

}  // namespace

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
  // Opening a trace parses its metadata and lists its streams: clients poll
  // the experiment list every few hundred milliseconds, and doing that work
  // on every poll slowed a running pass by a third.
  const std::string& dir = dirs->front();
  std::string stamp = FileStamp(dir + "/metadata") + "|" + FileStamp(dir);
  {
    std::lock_guard<std::mutex> lock(describe_mu_);
    auto it = described_.find(dir);
    if (it != described_.end() && it->second.stamp == stamp) {
      for (const auto& [k, v] : it->second.properties) info.properties[k] = v;
      return info;
    }
  }
  std::map<std::string, std::string> props;
  if (auto t = ctf::Trace::Open(dir); t.ok()) {
    for (const auto& [k, v] : (*t)->info().env) props[k] = v;
    // Stream files that cannot be read (FIFO, device, dangling link...).
    std::string unread;
    for (const auto& why : (*t)->info().unread_streams) {
      unread += (unread.empty() ? "" : "; ") + why;
    }
    if (!unread.empty()) props["ctf.unread_streams"] = unread;
  } else {
    props["error"] = t.status().message();
  }
  for (const auto& [k, v] : props) info.properties[k] = v;
  std::lock_guard<std::mutex> lock(describe_mu_);
  described_[dir] = Described_{std::move(stamp), std::move(props)};
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
  // Described (metadata read) without mu_.
  std::optional<storage::TraceRecord> same_name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& other : registry_->ListTraces()) {
      if (other.name == n) same_name = other;
      if (same_name) break;
    }
    if (!same_name) VMTRACE_RETURN_IF_ERROR(registry_->PutTrace(rec));
  }
  if (!same_name) return Describe(rec);
  if (same_name->path == path) return Describe(*same_name);
  if (existing) *existing = Describe(*same_name);
  return AlreadyExists("The trace (" + n + ") already exists and both differ");
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
  std::unique_lock<std::mutex> lock(mu_);
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
  VMTRACE_RETURN_IF_ERROR(registry_->DeleteTrace(uuid));
  lock.unlock();
  return Describe(*r);  // reads its metadata: without mu_
}

}  // namespace vmtrace::tsp
