#include "tsp/outputs/view_clock.h"

#include <algorithm>
#include <climits>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "analyses/events/event_decoder.h"
#include "analyses/sync/sync_module.h"
#include "tsp/outputs/output_family.h"

namespace vmtrace::tsp {

ViewClock::ViewClock(std::function<const sync::ClockSync*()> sync,
                     std::vector<std::string> ctf_hosts,
                     std::vector<size_t> trace_of_ctf)
    : sync_(std::move(sync)),
      ctf_hosts_(std::move(ctf_hosts)),
      trace_of_ctf_(std::move(trace_of_ctf)) {}

std::shared_ptr<const ViewClock> ViewClock::Of(
    const index::ExperimentIndex& index) {
  const auto* sync = FindModule<sync::SyncModule>(index);
  if (sync == nullptr) return std::make_shared<const ViewClock>();
  std::vector<std::string> hosts;
  std::vector<size_t> traces;
  for (size_t i = 0; i < index.ctf_traces().size(); ++i) {
    hosts.push_back(events::HostName(*index.ctf_traces()[i]));
    traces.push_back(index.ExperimentTraceOf(static_cast<uint32_t>(i)));
  }
  auto clock =
      std::make_shared<ViewClock>([sync] { return sync->clock_sync(); },
                                  std::move(hosts), std::move(traces));
  clock->index_ = &index;
  return clock;
}

int64_t ViewClock::ViewStart() const {
  if (index_ == nullptr || Active() == nullptr) return INT64_MIN;
  return InView(index_->Snapshot()).start;
}

const sync::ClockSync* ViewClock::Active() const {
  if (!sync_) return nullptr;
  const sync::ClockSync* c = sync_();
  return c != nullptr && !c->identity() ? c : nullptr;
}

int64_t ViewClock::ToView(const std::string& host, int64_t t) const {
  const sync::ClockSync* c = Active();
  return c != nullptr ? c->ToReference(host, t) : t;
}

int64_t ViewClock::FromView(const std::string& host, int64_t t) const {
  const sync::ClockSync* c = Active();
  return c != nullptr ? c->FromReference(host, t) : t;
}

const std::string& ViewClock::HostOfCtfTrace(size_t i) const {
  static const std::string kNone;
  return i < ctf_hosts_.size() ? ctf_hosts_[i] : kNone;
}

std::string ViewClock::HostOfTrace(size_t t) const {
  for (size_t i = 0; i < trace_of_ctf_.size(); ++i) {
    if (trace_of_ctf_[i] == t) return ctf_hosts_[i];
  }
  return "";
}

index::IndexSnapshot ViewClock::InView(index::IndexSnapshot s) const {
  const sync::ClockSync* c = Active();
  if (c == nullptr) return s;
  // An experiment trace is in the clock of its (first) CTF trace's host.
  std::vector<std::string> host(s.traces.size());
  for (size_t i = ctf_hosts_.size(); i-- > 0;) {
    if (trace_of_ctf_[i] < host.size()) host[trace_of_ctf_[i]] = ctf_hosts_[i];
  }
  // The experiment's range only widens: a viewer follows it while the
  // pass runs (in each host's own clock) and must not see it shrink when
  // the sync becomes known at the end.
  const int64_t raw_start = s.start, raw_end = s.end;
  bool any = false;
  for (size_t t = 0; t < s.traces.size(); ++t) {
    storage::TraceSummary& tr = s.traces[t];
    if (tr.nb_events == 0) continue;
    tr.start = c->ToReference(host[t], tr.start);
    tr.end = c->ToReference(host[t], tr.end);
    s.start = any ? std::min(s.start, tr.start) : tr.start;
    s.end = any ? std::max(s.end, tr.end) : tr.end;
    any = true;
  }
  if (any) {
    s.start = std::min(s.start, raw_start);
    s.end = std::max(s.end, raw_end);
  }
  return s;
}

namespace {

// The host of each entry of `m`: its own, else its nearest ancestor's; ""
// for none (the experiment's clock).
std::unordered_map<int64_t, std::string> HostsOf(const TreeModel& m) {
  std::unordered_map<int64_t, const TreeEntry*> by_id;
  for (const TreeEntry& e : m.entries) by_id.emplace(e.id, &e);
  std::unordered_map<int64_t, std::string> out;
  for (const TreeEntry& e : m.entries) {
    const TreeEntry* x = &e;
    // Bounded: a malformed tree with a parent cycle must not hang us.
    for (int hops = 0; x != nullptr && x->host.empty() && hops < 64; ++hops) {
      auto it = by_id.find(x->parent_id);
      x = it == by_id.end() || it->second == x ? nullptr : it->second;
    }
    out[e.id] = x != nullptr ? x->host : std::string();
  }
  return out;
}

// What the trees of one provider said about its entries' hosts, for the
// requests that name entries (states, tooltips, XY series). Thread-safe.
class EntryHosts {
 public:
  void Learn(const std::unordered_map<int64_t, std::string>& hosts) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, h] : hosts) hosts_[id] = h;
  }
  // False if one of `ids` was never seen in a tree.
  bool Group(const std::vector<int64_t>& ids,
             std::map<std::string, std::vector<int64_t>>* groups) const {
    std::lock_guard<std::mutex> lock(mu_);
    bool all = true;
    for (int64_t id : ids) {
      auto it = hosts_.find(id);
      all &= it != hosts_.end();
      (*groups)[it != hosts_.end() ? it->second : std::string()].push_back(id);
    }
    return all;
  }
  std::string Of(int64_t id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = hosts_.find(id);
    return it != hosts_.end() ? it->second : std::string();
  }
  std::set<std::string> Hosts() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> out;
    for (const auto& [id, h] : hosts_) {
      if (!h.empty()) out.insert(h);
    }
    return out;
  }
  bool empty() const {
    std::lock_guard<std::mutex> lock(mu_);
    return hosts_.empty();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<int64_t, std::string> hosts_;
};

std::vector<int64_t> FromReference(const sync::ClockSync& c,
                                   const std::string& host,
                                   const std::vector<int64_t>& times) {
  std::vector<int64_t> out;
  out.reserve(times.size());
  for (int64_t t : times) out.push_back(c.FromReference(host, t));
  return out;
}

// The tree over [start, end] (view clock): the entries of a host whose
// clock differs come from the tree asked over that range in the host's own
// clock (a tree may depend on its range: CPU Usage lists the threads that
// ran in it), in the place of that host's entries in the tree asked over
// [start, end], which gives the others. With `entry_times` (time graphs),
// entries' spans are brought to the view. Without `stable_ids` (data trees,
// whose ids are row numbers of one reply), the host's entries get fresh ids.
template <typename TreeFn>
StatusOr<TreeModel> TreeInView(const ViewClock& clock, EntryHosts* known,
                               int64_t start, int64_t end, bool entry_times,
                               bool stable_ids, TreeFn&& tree) {
  const sync::ClockSync* c = clock.Active();
  StatusOr<TreeModel> base = tree(start, end);
  if (!base.ok()) return base;
  std::unordered_map<int64_t, std::string> hosts = HostsOf(*base);
  if (c == nullptr) {
    known->Learn(hosts);
    return base;
  }
  std::set<std::string> shifted;
  int64_t next_id = 0;
  for (const auto& [id, h] : hosts) {
    next_id = std::max(next_id, id + 1);
    if (!h.empty() && (c->FromReference(h, start) != start ||
                       c->FromReference(h, end) != end)) {
      shifted.insert(h);
    }
  }
  TreeModel out;
  out.headers = base->headers;
  out.running = base->running;
  out.message = base->message;
  std::unordered_map<int64_t, std::string> learnt;
  const int64_t floor = entry_times ? clock.ViewStart() : INT64_MIN;
  auto add = [&](TreeEntry e, const std::string& h) {
    if (!learnt.emplace(e.id, h).second) return;
    if (entry_times && !h.empty()) {
      e.end = c->ToReference(h, e.end);
      e.start = std::min(e.end, std::max(floor, c->ToReference(h, e.start)));
    }
    out.entries.push_back(std::move(e));
  };
  std::set<std::string> done;
  for (const TreeEntry& e : base->entries) {
    const std::string& h = hosts[e.id];
    if (!shifted.count(h)) {
      add(e, h);
      continue;
    }
    if (!done.insert(h).second) continue;
    StatusOr<TreeModel> own =
        tree(c->FromReference(h, start), c->FromReference(h, end));
    if (!own.ok()) return own.status();
    out.running |= own->running;
    std::unordered_map<int64_t, std::string> own_hosts = HostsOf(*own);
    std::unordered_map<int64_t, int64_t> fresh;
    for (TreeEntry& x : own->entries) {
      if (own_hosts[x.id] != h) continue;
      if (!stable_ids) {
        fresh[x.id] = next_id++;
        x.id = fresh[x.id];
        auto p = fresh.find(x.parent_id);
        if (p != fresh.end()) x.parent_id = p->second;
      }
      add(std::move(x), h);
    }
  }
  known->Learn(learnt);
  return out;
}

// Owns or borrows the wrapped provider.
template <typename P>
class Wrapped {
 public:
  explicit Wrapped(std::unique_ptr<P> p) : owned_(std::move(p)) {
    inner_ = owned_.get();
  }
  explicit Wrapped(const P* p) : inner_(p) {}
  const P& operator*() const { return *inner_; }
  const P* operator->() const { return inner_; }

 private:
  std::unique_ptr<P> owned_;
  const P* inner_ = nullptr;
};

class ClockedTimeGraph : public TimeGraphProvider {
 public:
  ClockedTimeGraph(Wrapped<TimeGraphProvider> inner,
                   std::shared_ptr<const ViewClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}

  OutputDescriptor descriptor() const override { return inner_->descriptor(); }
  StyleMap Styles() const override { return inner_->Styles(); }

  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    return TreeInView(
        *clock_, &known_, start, end, true, true,
        [this](int64_t a, int64_t b) { return inner_->Tree(a, b); });
  }

  StatusOr<RowsModel> States(const std::vector<int64_t>& times,
                             const std::vector<int64_t>& items) const override {
    const sync::ClockSync* c = clock_->Active();
    if (c == nullptr || times.empty()) return inner_->States(times, items);
    std::map<std::string, std::vector<int64_t>> groups;
    if (!known_.Group(items, &groups)) {
      // A client that kept ids from an earlier session: learn them.
      VMTRACE_RETURN_IF_ERROR(Tree(times.front(), times.back()).status());
      groups.clear();
      (void)known_.Group(items, &groups);
    }
    RowsModel out;
    const int64_t floor = clock_->ViewStart();
    for (const auto& [h, ids] : groups) {
      VMTRACE_ASSIGN_OR_RETURN(
          RowsModel m,
          inner_->States(h.empty() ? times : FromReference(*c, h, times), ids));
      out.running |= m.running;
      for (TimeGraphRow& row : m.rows) {
        if (!h.empty()) {
          std::vector<TimeGraphState> kept;
          kept.reserve(row.states.size());
          for (TimeGraphState& s : row.states) {
            s.start = std::max(floor, c->ToReference(h, s.start));
            s.end = c->ToReference(h, s.end);
            if (s.end > s.start) kept.push_back(std::move(s));
          }
          row.states = std::move(kept);
        }
        out.rows.push_back(std::move(row));
      }
    }
    return out;
  }

  StatusOr<std::map<std::string, std::string>> Tooltip(
      int64_t item, int64_t time) const override {
    if (clock_->Active() == nullptr) return inner_->Tooltip(item, time);
    if (known_.empty()) {
      VMTRACE_RETURN_IF_ERROR(Tree(time, time).status());
    }
    return inner_->Tooltip(item, clock_->FromView(known_.Of(item), time));
  }

  StatusOr<std::vector<TimeGraphArrow>> Arrows(
      const std::vector<int64_t>& times) const override {
    const sync::ClockSync* c = clock_->Active();
    if (c == nullptr || times.empty()) return inner_->Arrows(times);
    if (known_.empty()) {
      VMTRACE_RETURN_IF_ERROR(Tree(times.front(), times.back()).status());
    }
    const std::set<std::string> hosts = known_.Hosts();
    if (hosts.size() == 1) {
      // Every row in one host's clock (a critical path: its owner's).
      const std::string& h = *hosts.begin();
      VMTRACE_ASSIGN_OR_RETURN(auto arrows,
                               inner_->Arrows(FromReference(*c, h, times)));
      for (TimeGraphArrow& a : arrows) {
        a.start = c->ToReference(h, a.start);
        a.end = c->ToReference(h, a.end);
      }
      return arrows;
    }
    VMTRACE_ASSIGN_OR_RETURN(auto arrows, inner_->Arrows(times));
    for (TimeGraphArrow& a : arrows) {
      a.start = c->ToReference(known_.Of(a.source_id), a.start);
      a.end = c->ToReference(known_.Of(a.target_id), a.end);
    }
    return arrows;
  }

 private:
  Wrapped<TimeGraphProvider> inner_;
  std::shared_ptr<const ViewClock> clock_;
  mutable EntryHosts known_;
};

class ClockedXy : public XyProvider {
 public:
  ClockedXy(Wrapped<XyProvider> inner, std::shared_ptr<const ViewClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}

  OutputDescriptor descriptor() const override { return inner_->descriptor(); }

  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    return TreeInView(
        *clock_, &known_, start, end, false, true,
        [this](int64_t a, int64_t b) { return inner_->Tree(a, b); });
  }

  // Each series sampled at the requested instants of the view clock, in its
  // host's clock.
  StatusOr<XyModel> Fetch(const std::vector<int64_t>& times,
                          const std::vector<int64_t>& items) const override {
    const sync::ClockSync* c = clock_->Active();
    if (c == nullptr || times.empty() || items.empty()) {
      return inner_->Fetch(times, items);
    }
    std::map<std::string, std::vector<int64_t>> groups;
    if (!known_.Group(items, &groups)) {
      VMTRACE_RETURN_IF_ERROR(Tree(times.front(), times.back()).status());
      groups.clear();
      (void)known_.Group(items, &groups);
    }
    XyModel out;
    bool first = true;
    for (const auto& [h, ids] : groups) {
      VMTRACE_ASSIGN_OR_RETURN(
          XyModel m,
          inner_->Fetch(h.empty() ? times : FromReference(*c, h, times), ids));
      if (first) {
        out.title = m.title;
        out.y_label = m.y_label;
        out.y_unit = m.y_unit;
        out.series_type = m.series_type;
        first = false;
      }
      out.running |= m.running;
      for (XySeries& s : m.series) out.series.push_back(std::move(s));
    }
    return out;
  }

 private:
  Wrapped<XyProvider> inner_;
  std::shared_ptr<const ViewClock> clock_;
  mutable EntryHosts known_;
};

class ClockedDataTree : public DataTreeProvider {
 public:
  ClockedDataTree(Wrapped<DataTreeProvider> inner,
                  std::shared_ptr<const ViewClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}

  OutputDescriptor descriptor() const override { return inner_->descriptor(); }

  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    return TreeInView(
        *clock_, &known_, start, end, false, false,
        [this](int64_t a, int64_t b) { return inner_->Tree(a, b); });
  }

 private:
  Wrapped<DataTreeProvider> inner_;
  std::shared_ptr<const ViewClock> clock_;
  mutable EntryHosts known_;
};

}  // namespace

std::unique_ptr<TimeGraphProvider> WithViewClock(
    std::unique_ptr<TimeGraphProvider> p,
    std::shared_ptr<const ViewClock> clock) {
  return std::make_unique<ClockedTimeGraph>(
      Wrapped<TimeGraphProvider>(std::move(p)), std::move(clock));
}
std::unique_ptr<TimeGraphProvider> WithViewClock(
    const TimeGraphProvider* p, std::shared_ptr<const ViewClock> clock) {
  return std::make_unique<ClockedTimeGraph>(Wrapped<TimeGraphProvider>(p),
                                            std::move(clock));
}
std::unique_ptr<XyProvider> WithViewClock(
    std::unique_ptr<XyProvider> p, std::shared_ptr<const ViewClock> clock) {
  return std::make_unique<ClockedXy>(Wrapped<XyProvider>(std::move(p)),
                                     std::move(clock));
}
std::unique_ptr<XyProvider> WithViewClock(
    const XyProvider* p, std::shared_ptr<const ViewClock> clock) {
  return std::make_unique<ClockedXy>(Wrapped<XyProvider>(p), std::move(clock));
}
std::unique_ptr<DataTreeProvider> WithViewClock(
    std::unique_ptr<DataTreeProvider> p,
    std::shared_ptr<const ViewClock> clock) {
  return std::make_unique<ClockedDataTree>(
      Wrapped<DataTreeProvider>(std::move(p)), std::move(clock));
}
std::unique_ptr<DataTreeProvider> WithViewClock(
    const DataTreeProvider* p, std::shared_ptr<const ViewClock> clock) {
  return std::make_unique<ClockedDataTree>(Wrapped<DataTreeProvider>(p),
                                           std::move(clock));
}

}  // namespace vmtrace::tsp
