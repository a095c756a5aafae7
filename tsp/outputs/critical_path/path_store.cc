// The stored critical path (path_store.h).
#include "tsp/outputs/critical_path/path_store.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "storage/leveldb_state_history.h"
#include "storage/memory_state_history.h"

namespace vmtrace::tsp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kPathStoreVersion = 1;
constexpr char kSideFile[] = "path.json";

storage::StateStoreOptions StoreOptions(const std::string& dir,
                                        const std::string& fingerprint) {
  storage::StateStoreOptions o;
  o.dir = dir;
  o.analysis_id = "critical-path";
  o.analysis_version = kPathStoreVersion;
  o.fingerprint = fingerprint;
  return o;
}

json SideJson(const WalkedPath& w) {
  json entries = json::array();
  for (const TreeEntry& e : w.tree.entries) {
    entries.push_back({e.id, e.parent_id, e.labels, e.has_data});
  }
  json labels = json::array();
  for (const auto& [id, l] : w.labels) labels.push_back({id, l});
  return {{"headers", w.tree.headers},
          {"entries", entries},
          {"labels", labels},
          {"start", w.start},
          {"end", w.end}};
}

// The side file into `p` (rows and arrows are found in the history).
Status ReadSide(const std::string& dir, StoredPath* p) {
  std::ifstream in(fs::path(dir) / kSideFile);
  if (!in) return NotFound("no path.json");
  json j = json::parse(in, nullptr, false);
  if (!j.is_object()) return DataLoss("unreadable path.json");
  try {
    p->tree.headers = j.at("headers").get<std::vector<std::string>>();
    p->start = j.at("start").get<int64_t>();
    p->end = j.at("end").get<int64_t>();
    for (const json& e : j.at("entries")) {
      TreeEntry t;
      t.id = e.at(0).get<int64_t>();
      t.parent_id = e.at(1).get<int64_t>();
      t.labels = e.at(2).get<std::vector<std::string>>();
      t.has_data = e.at(3).get<bool>();
      t.start = p->start;
      t.end = p->end;
      p->tree.entries.push_back(std::move(t));
    }
    for (const json& l : j.at("labels")) {
      p->labels[l.at(0).get<int64_t>()] = l.at(1).get<std::string>();
    }
  } catch (const json::exception&) {
    return DataLoss("malformed path.json");
  }
  return Status::Ok();
}

Status WriteSide(const std::string& dir, const WalkedPath& w) {
  const fs::path path = fs::path(dir) / kSideFile;
  const fs::path tmp = fs::path(dir) / "path.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << SideJson(w).dump();
    if (!out.flush()) return IoError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return IoError("cannot write " + path.string());
  return Status::Ok();
}

// An entry id written by Write(); false for anything else (a damaged
// store answers without that row rather than throwing).
bool ParseId(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  char* end = nullptr;
  *out = std::strtoll(s.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

// Rows and arrow pairs from the history's attribute tree.
void IndexQuarks(StoredPath* p) {
  const storage::StateHistory& h = *p->history;
  if (auto rows = h.Find({"Rows"})) {
    for (storage::Quark q : h.Children(*rows)) {
      int64_t id;
      if (ParseId(h.Name(q), &id)) p->rows[id] = q;
    }
  }
  if (auto pre = h.Find({"Preempters"})) {
    for (storage::Quark q : h.Children(*pre)) p->preempters[h.Name(q)] = q;
  }
  if (auto arrows = h.Find({"Arrows"})) {
    for (storage::Quark f : h.Children(*arrows)) {
      for (storage::Quark t : h.Children(f)) {
        int64_t from, to;
        if (ParseId(h.Name(f), &from) && ParseId(h.Name(t), &to)) {
          p->arrows.push_back({from, to, t});
        }
      }
    }
  }
}

void Write(const WalkedPath& w, storage::StateWriter* out) {
  const graph::CriticalPath& cp = *w.cp;
  std::map<int64_t, storage::Quark> rows;
  auto row = [&](int64_t id) {
    auto it = rows.find(id);
    if (it != rows.end()) return it->second;
    return rows[id] = out->GetOrAddPath({"Rows", std::to_string(id)});
  };
  // Segments are contiguous and in time order: a row's segment ends where
  // the next one starts, unless the same row continues it.
  std::map<std::string, storage::Quark> pre;
  for (size_t i = 0; i < cp.segments.size(); ++i) {
    const graph::PathSegment& s = cp.segments[i];
    const storage::Quark q = row(w.id_of.at(s.worker));
    out->Set(s.start, q, storage::StateValue::Int(PathValue(s.cause, s.layer)));
    out->Set(s.end, q, storage::StateValue::Null());
    const std::string by = i < w.preempters.size() ? w.preempters[i]
                           : w.preempter_of        ? w.preempter_of(i)
                                                   : std::string();
    if (!by.empty()) {
      auto it = pre.find(by);
      if (it == pre.end()) {
        it = pre.emplace(by, out->GetOrAddPath({"Preempters", by})).first;
      }
      out->Set(s.start, it->second, storage::StateValue::Int(1));
      out->Set(s.end, it->second, storage::StateValue::Null());
    }
  }
  std::vector<const graph::PathArrow*> arrows;
  for (const auto& a : cp.arrows) {
    if (w.id_of.count(a.from) && w.id_of.count(a.to)) arrows.push_back(&a);
  }
  std::stable_sort(arrows.begin(), arrows.end(),
                   [](const auto* a, const auto* b) { return a->ts < b->ts; });
  int64_t last = w.end;
  for (const graph::PathArrow* a : arrows) {
    const storage::Quark q =
        out->GetOrAddPath({"Arrows", std::to_string(w.id_of.at(a->from)),
                           std::to_string(w.id_of.at(a->to))});
    // A repeated value would merge two arrows into one interval: alternate
    // the sign so that every arrow starts an interval of its own.
    const int64_t v = int64_t(a->cause) + 1;
    out->Set(a->ts, q,
             storage::StateValue::Int(out->Current(q).i == v ? -v : v));
    last = std::max(last, a->ts);
  }
  for (const auto& s : cp.segments) last = std::max(last, s.end);
  (void)out->Close(last);
}

}  // namespace

StatusOr<std::vector<TimeGraphRow>> SampledStates(
    const StoredPath& p, const std::vector<int64_t>& items,
    const std::vector<int64_t>& times) {
  std::vector<storage::Quark> quarks;
  std::map<storage::Quark, int64_t> id_of;
  for (int64_t id : items) {
    auto it = p.rows.find(id);
    if (it == p.rows.end() || id_of.count(it->second)) continue;
    quarks.push_back(it->second);
    id_of[it->second] = id;
  }
  std::sort(quarks.begin(), quarks.end(),
            [&](auto a, auto b) { return id_of[a] < id_of[b]; });
  std::vector<TimeGraphRow> out;
  for (storage::Quark q : quarks) out.push_back({id_of[q], {}});
  if (times.empty() || quarks.empty()) return out;
  VMTRACE_ASSIGN_OR_RETURN(auto ivs, p.history->QuerySampled(quarks, times));
  std::map<int64_t, size_t> row_of;
  for (size_t i = 0; i < out.size(); ++i) row_of[out[i].entry_id] = i;
  for (const storage::StateInterval& iv : ivs) {
    if (iv.value.kind != storage::StateValue::kInt) continue;
    // The protocol's end is one past the history's inclusive end.
    out[row_of[id_of[iv.quark]]].states.push_back(
        {iv.start, iv.end + 1, graph::CauseName(PathCause(iv.value.i)), ""});
  }
  return out;
}

StatusOr<std::vector<TimeGraphArrow>> SampledArrows(
    const StoredPath& p, const std::vector<int64_t>& times) {
  std::vector<TimeGraphArrow> out;
  if (times.empty() || p.arrows.empty()) return out;
  // Probing each sample interval [t_k, t_k+1) at its last instant finds the
  // interval of the pair's last arrow before t_k+1; it is in the sample
  // interval when it starts at or after t_k.
  std::vector<int64_t> probes;
  for (size_t k = 0; k + 1 < times.size(); ++k) {
    probes.push_back(std::max(times[k], times[k + 1] - 1));
  }
  probes.push_back(times.back());
  // The history ends with the path: the last arrow of each pair holds until
  // there, so a probe beyond reads it there (it is the last in its sample
  // interval, whichever that is).
  const int64_t last = p.history->flushed_until();
  for (int64_t& t : probes) t = std::min(t, last);
  probes.erase(std::unique(probes.begin(), probes.end()), probes.end());
  std::vector<storage::Quark> quarks;
  std::map<storage::Quark, const StoredPath::Pair*> pair_of;
  for (const auto& pr : p.arrows) {
    quarks.push_back(pr.q);
    pair_of[pr.q] = &pr;
  }
  VMTRACE_ASSIGN_OR_RETURN(auto ivs, p.history->QuerySampled(quarks, probes));
  for (const storage::StateInterval& iv : ivs) {
    if (iv.value.kind != storage::StateValue::kInt) continue;
    if (iv.start < times.front() || iv.start > times.back()) continue;
    const auto* pr = pair_of[iv.quark];
    const auto cause = graph::Cause(std::abs(iv.value.i) - 1);
    out.push_back(
        {pr->from, pr->to, iv.start, iv.start, graph::CauseName(cause)});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.start < b.start;
  });
  return out;
}

StatusOr<std::unique_ptr<StoredPath>> LoadPath(const std::string& dir,
                                               const std::string& fingerprint) {
  if (dir.empty()) return NotFound("in memory");
  VMTRACE_ASSIGN_OR_RETURN(auto h, storage::LevelDbStateHistory::Open(
                                       StoreOptions(dir, fingerprint)));
  if (h->needs_build()) return NotFound("no complete stored path");
  auto p = std::make_unique<StoredPath>();
  Status s = ReadSide(dir, p.get());
  if (!s.ok()) return NotFound("stored path without its rows: " + s.message());
  p->history = std::move(h);
  IndexQuarks(p.get());
  return p;
}

StatusOr<std::unique_ptr<StoredPath>> SavePath(const std::string& dir,
                                               const std::string& fingerprint,
                                               const WalkedPath& w) {
  auto p = std::make_unique<StoredPath>();
  if (dir.empty()) {
    auto h = std::make_unique<storage::MemoryStateHistory>();
    Write(w, h.get());
    p->history = std::move(h);
  } else {
    VMTRACE_ASSIGN_OR_RETURN(auto h, storage::LevelDbStateHistory::Open(
                                         StoreOptions(dir, fingerprint)));
    if (!h->needs_build()) {
      // Complete but not loadable (its rows file is gone): start afresh.
      h.reset();
      std::error_code ec;
      fs::remove_all(dir, ec);
      VMTRACE_ASSIGN_OR_RETURN(h, storage::LevelDbStateHistory::Open(
                                      StoreOptions(dir, fingerprint)));
    }
    // The side file first: a history closed complete always has it.
    VMTRACE_RETURN_IF_ERROR(WriteSide(dir, w));
    Write(w, h.get());
    if (!h->complete()) return IoError("cannot store the critical path");
    p->history = std::move(h);
  }
  // What the side file holds is what was just written: no need to read it.
  p->tree = w.tree;
  for (TreeEntry& e : p->tree.entries) {
    e.start = w.start;
    e.end = w.end;
  }
  p->labels = w.labels;
  p->start = w.start;
  p->end = w.end;
  IndexQuarks(p.get());
  return p;
}

}  // namespace vmtrace::tsp
