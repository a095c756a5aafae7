// Packet matching in the pass, the host-pair fits and the links to the
// reference in Finish(), and sync.json.
#include "analyses/sync/sync_module.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

namespace vmtrace::sync {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kFormat[] = "vmtrace-sync";

// Shortest text that reads back to `v`; fixed notation for nanoseconds.
std::string Num(double v, bool fixed) {
  char buf[64];
  auto [end, ec] =
      fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
            : std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

}  // namespace

std::vector<std::string> SyncModule::HostNames(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces) {
  std::vector<std::string> names;
  for (const auto& t : traces) {
    std::string host = t->info().hostname;
    if (host.empty()) host = fs::path(t->info().path).filename().string();
    if (std::find(names.begin(), names.end(), host) == names.end()) {
      names.push_back(host);
    }
  }
  return names;
}

SyncModule::SyncModule(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
    SyncOptions options)
    : options_(std::move(options)), hosts_(HostNames(traces)) {
  options_.max_pending_keys = std::max<size_t>(1, options_.max_pending_keys);
  for (const auto& t : traces) {
    std::string host = t->info().hostname;
    if (host.empty()) host = fs::path(t->info().path).filename().string();
    host_of_trace_.push_back(static_cast<uint16_t>(
        std::find(hosts_.begin(), hosts_.end(), host) - hosts_.begin()));
  }
}

std::unique_ptr<SyncModule> SyncModule::Open(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
    const std::string& dir, const std::string& fingerprint,
    SyncOptions options) {
  std::unique_ptr<SyncModule> m(new SyncModule(traces, std::move(options)));
  m->path_ = dir.empty() ? std::string() : dir + "/sync.json";
  m->fingerprint_ = fingerprint;
  if (!m->path_.empty() && m->Load().ok()) m->complete_.store(true);
  return m;
}

void SyncModule::OnEvent(const events::TypedEvent& ev) {
  if (!seen_) {
    first_ts_ = ev.ts;
    seen_ = true;
  }
  if (ev.kind != events::Kind::kNetSend && ev.kind != events::Kind::kNetRecv) {
    return;
  }
  const TcpSide side =
      ev.kind == events::Kind::kNetSend ? TcpSide::kSend : TcpSide::kReceive;
  if (!ev.net.decoded) {
    ++counts_.undecodable;
    return;
  }
  const TcpKey key = ev.net.key;
  if (ev.trace_index >= host_of_trace_.size()) return;
  const uint16_t host = host_of_trace_[ev.trace_index];
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    if (ring_.size() < options_.max_pending_keys) {
      ring_.push_back(key);
    } else {
      auto old = keys_.find(ring_[head_]);
      if (!old->second.matched) counts_.unmatched += old->second.n;
      keys_.erase(old);
      ring_[head_] = key;
      head_ = (head_ + 1) % ring_.size();
    }
    it = keys_.emplace(key, KeyState{}).first;
  }
  KeyState& s = it->second;
  if (s.matched) {
    ++counts_.duplicates;
    return;
  }
  for (uint8_t i = 0; i < s.n; ++i) {
    const Pending& p = s.p[i];
    if (p.side == side || p.host == host) continue;
    if (side == TcpSide::kSend) {
      Message(host, ev.ts, p.host, p.ts);
    } else {
      Message(p.host, p.ts, host, ev.ts);
    }
    counts_.duplicates += s.n - 1u;
    s.n = 0;
    s.matched = true;
    return;
  }
  if (s.n == 3) {  // a fourth unmatched event: forget the oldest
    ++counts_.unmatched;
    std::copy(s.p + 1, s.p + 3, s.p);
    s.n = 2;
  }
  s.p[s.n++] = {ev.ts, host, side};
}

void SyncModule::Message(uint16_t from, int64_t sent, uint16_t to,
                         int64_t received) {
  ++counts_.matched;
  const uint16_t lo = std::min(from, to), hi = std::max(from, to);
  ConstraintHulls& h = pairs_[{lo, hi}];
  // Points in hi's clock: x = hi's event, d = lo's event - x.
  if (from == hi) {
    h.AddAbove({sent, received - sent});
  } else {
    h.AddBelow({received, sent - received});
  }
}

Status SyncModule::Finish(int64_t end_time) {
  for (const auto& [key, s] : keys_) {
    if (!s.matched) counts_.unmatched += s.n;
  }
  keys_.clear();
  ring_.clear();
  middle_ = seen_ ? first_ts_ + (end_time - first_ts_) / 2 : end_time;

  Fits fits;
  for (const auto& [pair, hulls] : pairs_) {
    fits[pair] = FitClock(hulls, middle_, options_.fit);
  }
  pairs_.clear();
  SetClocks(fits, LinkHosts(fits));
  complete_.store(true);
  return Save();
}

// Links hosts to the reference (host 0) one at a time: the best edge from
// a linked host to an unlinked one, accurate chains first, then the pair
// with most messages.
SyncModule::Links SyncModule::LinkHosts(const Fits& fits) const {
  const size_t n = hosts_.size();
  Links l;
  l.linked.assign(n, false);
  l.accurate.assign(n, false);
  l.to_ref.assign(n, LinearMap{});
  l.accuracy.assign(n, 0);
  l.messages.assign(n, 0);
  l.via.assign(n, -1);
  l.own.assign(n, nullptr);
  if (n > 0) l.linked[0] = l.accurate[0] = true;
  for (;;) {
    const Fits::value_type* best = nullptr;
    std::tuple<bool, uint64_t> best_rank{false, 0};
    for (const auto& e : fits) {
      const auto [lo, hi] = e.first;
      if (e.second.kind == ClockFit::kNone || l.linked[lo] == l.linked[hi]) {
        continue;
      }
      const int parent = l.linked[lo] ? lo : hi;
      std::tuple<bool, uint64_t> rank{l.accurate[parent] && e.second.accurate(),
                                      e.second.above + e.second.below};
      if (best == nullptr || rank > best_rank) {
        best = &e;
        best_rank = rank;
      }
    }
    if (best == nullptr) break;
    const auto [lo, hi] = best->first;
    const ClockFit& fit = best->second;
    const int parent = l.linked[lo] ? lo : hi, child = l.linked[lo] ? hi : lo;
    // fit.map: hi's time -> lo's time.
    l.to_ref[child] = child == hi ? Compose(l.to_ref[lo], fit.map)
                                  : Compose(l.to_ref[hi], Invert(fit.map));
    l.linked[child] = true;
    l.accurate[child] = l.accurate[parent] && fit.accurate();
    l.accuracy[child] =
        l.accurate[child] ? l.accuracy[parent] + fit.accuracy_ns : 0;
    l.messages[child] = fit.above + fit.below;
    l.own[child] = &fit;
    if (parent != 0) l.via[child] = parent;
  }
  return l;
}

void SyncModule::SetClocks(const Fits& fits, const Links& l) {
  const size_t n = hosts_.size();
  std::vector<HostClock> clocks(n);
  info_.assign(n, HostInfo{});
  for (size_t i = 0; i < n; ++i) {
    HostClock& c = clocks[i];
    c.host = hosts_[i];
    if (i == 0) {
      c.quality = "reference";
      for (const auto& [pair, fit] : fits) {
        if (pair.first == 0) c.pairs += fit.above + fit.below;
      }
      continue;
    }
    if (!l.linked[i]) {
      c.quality = "absent";
      continue;
    }
    ToSlopeOffset(l.to_ref[i], middle_, &c.slope, &c.offset_ns);
    // A pure offset in whole ns (far below the accuracy) keeps To/From
    // exact inverses.
    if (c.slope == 1.0) c.offset_ns = std::round(c.offset_ns);
    c.accuracy_ns = l.accuracy[i];
    c.quality = l.accurate[i] ? "accurate" : "approximate";
    c.pairs = l.messages[i];
    if (l.via[i] >= 0) info_[i].via = hosts_[l.via[i]];
    info_[i].fit = FitKindName(l.own[i]->kind);
    info_[i].offset_at_middle = l.to_ref[i].offset;
  }
  clocks_ = ClockSync(std::move(clocks));
}

std::vector<std::pair<std::string, std::string>> SyncModule::Stats() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!complete_.load()) return out;
  const auto& hosts = clocks_.hosts();
  if (!hosts.empty()) out.emplace_back("reference", hosts[0].host);
  out.emplace_back("method", kMethod);
  out.emplace_back("matched_packets", std::to_string(counts_.matched));
  out.emplace_back("unmatched_packets", std::to_string(counts_.unmatched));
  out.emplace_back("duplicate_packets", std::to_string(counts_.duplicates));
  out.emplace_back("undecodable_packets", std::to_string(counts_.undecodable));
  for (size_t i = 1; i < hosts.size(); ++i) {
    const HostClock& c = hosts[i];
    const std::string k = c.host + ".";
    out.emplace_back(k + "quality", c.quality);
    if (c.quality == "absent") continue;
    out.emplace_back(k + "offset_ns", Num(c.offset_ns, true));
    out.emplace_back(k + "slope", Num(c.slope, false));
    out.emplace_back(k + "accuracy_ns", Num(c.accuracy_ns, true));
    out.emplace_back(k + "pairs", std::to_string(c.pairs));
    if (i < info_.size()) {
      const HostInfo& in = info_[i];
      if (!in.fit.empty()) out.emplace_back(k + "fit", in.fit);
      if (!in.via.empty()) out.emplace_back(k + "via", in.via);
      if (c.slope != 1.0) {
        out.emplace_back(k + "offset_at_middle_ns",
                         Num(in.offset_at_middle, true));
      }
    }
  }
  return out;
}

Status SyncModule::Save() const {
  if (path_.empty()) return Status::Ok();
  Json hosts = Json::array();
  const auto& clocks = clocks_.hosts();
  for (size_t i = 0; i < clocks.size(); ++i) {
    const HostClock& c = clocks[i];
    Json h{{"host", c.host},           {"slope", c.slope},
           {"offset_ns", c.offset_ns}, {"accuracy_ns", c.accuracy_ns},
           {"quality", c.quality},     {"pairs", c.pairs}};
    if (i < info_.size()) {
      h["via"] = info_[i].via;
      h["fit"] = info_[i].fit;
      h["offset_at_middle_ns"] = info_[i].offset_at_middle;
    }
    hosts.push_back(std::move(h));
  }
  Json j{{"format", kFormat},
         {"version", kVersion},
         {"fingerprint", fingerprint_},
         {"method", kMethod},
         {"middle", middle_},
         {"counts",
          {{"matched", counts_.matched},
           {"unmatched", counts_.unmatched},
           {"duplicates", counts_.duplicates},
           {"undecodable", counts_.undecodable}}},
         {"hosts", hosts}};
  std::error_code ec;
  fs::create_directories(fs::path(path_).parent_path(), ec);
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << j.dump(1) << "\n";
    f.flush();
    if (!f) return IoError("cannot write " + tmp);
  }
  fs::rename(tmp, path_, ec);
  if (ec) return IoError("cannot rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

Status SyncModule::Load() {
  std::ifstream f(path_);
  if (!f) return NotFound("no " + path_);
  Json j = Json::parse(f, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != kFormat ||
      j.value("version", 0) != kVersion ||
      j.value("fingerprint", "") != fingerprint_ || !j["hosts"].is_array() ||
      j["hosts"].size() != hosts_.size()) {
    return DataLoss(path_ + " is not a current clock synchronisation");
  }
  std::vector<HostClock> clocks;
  std::vector<HostInfo> info;
  SyncCounts counts;
  try {
    for (size_t i = 0; i < hosts_.size(); ++i) {
      const Json& h = j["hosts"][i];
      HostClock c;
      c.host = h.at("host").get<std::string>();
      if (c.host != hosts_[i]) return DataLoss(path_ + ": other hosts");
      c.slope = h.at("slope").get<double>();
      c.offset_ns = h.at("offset_ns").get<double>();
      c.accuracy_ns = h.at("accuracy_ns").get<double>();
      c.quality = h.at("quality").get<std::string>();
      c.pairs = h.at("pairs").get<uint64_t>();
      HostInfo in;
      in.via = h.value("via", "");
      in.fit = h.value("fit", "");
      in.offset_at_middle = h.value("offset_at_middle_ns", 0.0);
      clocks.push_back(std::move(c));
      info.push_back(std::move(in));
    }
    const Json& n = j.at("counts");
    counts.matched = n.at("matched").get<uint64_t>();
    counts.unmatched = n.at("unmatched").get<uint64_t>();
    counts.duplicates = n.at("duplicates").get<uint64_t>();
    counts.undecodable = n.at("undecodable").get<uint64_t>();
    middle_ = j.at("middle").get<int64_t>();
  } catch (const Json::exception& e) {
    return DataLoss(path_ + ": " + e.what());
  }
  clocks_ = ClockSync(std::move(clocks));
  info_ = std::move(info);
  counts_ = counts;
  return Status::Ok();
}

}  // namespace vmtrace::sync
