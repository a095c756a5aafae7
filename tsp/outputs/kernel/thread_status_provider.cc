// Thread Status: one row per thread, grouped under its process, per host.
#include <algorithm>
#include <mutex>

#include "analyses/kernel/kernel_model.h"
#include "storage/state_queries.h"
#include "tsp/outputs/kernel/kernel_providers.h"
#include "tsp/outputs/state_rows.h"
#include "tsp/outputs/tree_cache.h"

namespace vmtrace::tsp {
namespace {

using storage::Quark;
using storage::StateHistory;
using storage::StateInterval;

class ThreadStatusProvider : public TimeGraphProvider {
 public:
  explicit ThreadStatusProvider(const kernel::KernelModule* k) : k_(k) {}

  OutputDescriptor descriptor() const override {
    return {kThreadStatusId, "Thread Status",
            "Every thread of every host over time: running in user mode or "
            "in a system call, interrupted, waiting for a CPU, blocked, or "
            "forked",
            "TIME_GRAPH"};
  }

  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    return cache_.Get(k_->history().complete(), start, end,
                      [this](int64_t s, int64_t e) { return Compute(s, e); });
  }

  StatusOr<RowsModel> States(const std::vector<int64_t>& times,
                             const std::vector<int64_t>& items) const override {
    const StateHistory& h = k_->history();
    return SampledRows(
        h, times, items,
        [&](int64_t id) {
          return id > 0 && id < int64_t(h.AttributeCount()) &&
                 IsThread(Quark(id));
        },
        [](Quark, int64_t v) { return std::to_string(v); });
  }

  StatusOr<std::map<std::string, std::string>> Tooltip(
      int64_t item, int64_t time) const override {
    const StateHistory& h = k_->history();
    std::map<std::string, std::string> out;
    if (item <= 0 || item >= int64_t(h.AttributeCount()) ||
        !IsThread(Quark(item))) {
      return out;
    }
    Quark q = Quark(item);
    auto at = [&h, time](std::optional<Quark> a) {
      return storage::ValueAt(h, a, time);
    };
    auto st = at(q);
    if (st.is_null()) return out;
    out["Status"] = kernel::ThreadStatusName(st.i);
    out["TID"] = h.Name(q);
    if (auto v = at(h.Child(q, "Exec_name")); !v.is_null())
      out["Process"] = v.s;
    if (auto v = at(h.Child(q, "PID")); !v.is_null()) {
      out["PID"] = std::to_string(v.i);
    }
    if (auto v = at(h.Child(q, "System_call")); !v.is_null()) {
      out["System call"] = v.s;
    }
    if (auto v = at(h.Child(q, "CPU")); !v.is_null()) {
      out["CPU"] = std::to_string(v.i);
    }
    if (auto v = at(h.Child(q, "Prio")); !v.is_null()) {
      out["Priority"] = std::to_string(v.i);
    }
    return out;
  }

  StyleMap Styles() const override {
    auto s = [](const char* name, const char* color, double height) {
      return nlohmann::json{{"style-name", name},
                            {"background-color", color},
                            {"height", height}};
    };
    // Trace Compass's thread colours, so users recognise the view.
    return {{"0", s("Unknown", "#C0C0C0", 0.5)},
            {"1", s("Wait blocked", "#C8C800", 0.5)},
            {"2", s("Running (user mode)", "#00C800", 1.0)},
            {"3", s("Running (system call)", "#0000C8", 1.0)},
            {"4", s("Interrupted", "#C80064", 1.0)},
            {"5", s("Wait for CPU", "#C86400", 0.5)},
            {"6", s("Wait (unknown)", "#A0A0A0", 0.5)},
            {"7", s("Wait fork", "#00C8C8", 0.5)}};
  }

 private:
  // Each thread entry spans its lifetime; a host without threads spans the
  // request.
  StatusOr<TreeModel> Compute(int64_t start, int64_t end) const {
    const StateHistory& h = k_->history();
    TreeModel m;
    m.headers = {"Process", "TID", "PID"};
    for (Quark host : h.Children(storage::kRootQuark)) {
      // Filled in once its threads' lifetimes are known.
      const size_t host_entry = m.entries.size();
      m.entries.push_back(
          {int64_t(host), -1, {h.Name(host), "", ""}, false, false, 0, 0});
      m.entries.back().host = h.Name(host);
      int64_t host_start = INT64_MAX, host_end = INT64_MIN;
      auto threads = h.Child(host, "Threads");
      if (!threads) {
        m.entries[host_entry].spans_request = true;
        continue;
      }
      struct Info {
        Quark q;
        int64_t tid, pid;
        std::string name;
        int64_t start = 0, end = 0;  // lifetime, end exclusive
      };
      std::vector<Info> infos;
      std::map<int64_t, Quark> process_of;  // pid -> quark of its main thread
      for (Quark t : h.Children(*threads)) {
        std::string n = h.Name(t);
        // Idle threads ("0_<cpu>") are the Resources view's IDLE state.
        if (n.rfind("0_", 0) == 0) continue;
        Info info{t, strtoll(n.c_str(), nullptr, 10), 0, ""};
        if (auto pq = h.Child(t, "PID")) {
          auto v = storage::LastValue(h, *pq);
          info.pid = v.kind == storage::StateValue::kInt ? v.i : info.tid;
        } else {
          info.pid = info.tid;
        }
        if (auto eq = h.Child(t, "Exec_name"))
          info.name = storage::LastValue(h, *eq).s;
        if (info.tid != 0 && info.pid == info.tid) process_of[info.pid] = t;
        // Each entry spans its thread's lifetime (the reference does the
        // same), exclusive end like a state's; a thread the history has no
        // status for yet spans the request.
        if (auto span = storage::NonNullSpan(h, t)) {
          info.start = span->first;
          info.end = span->second + 1;
        } else {
          info.start = start;
          info.end = end;
        }
        host_start = std::min(host_start, info.start);
        host_end = std::max(host_end, info.end);
        infos.push_back(std::move(info));
      }
      std::sort(infos.begin(), infos.end(), [](const Info& a, const Info& b) {
        return a.tid != b.tid ? a.tid < b.tid : a.q < b.q;
      });
      for (const Info& i : infos) {
        int64_t parent = int64_t(host);
        if (i.tid != 0 && i.pid != i.tid) {
          auto p = process_of.find(i.pid);
          if (p != process_of.end()) parent = int64_t(p->second);
        }
        m.entries.push_back(
            {int64_t(i.q),
             parent,
             {i.name, std::to_string(i.tid), std::to_string(i.pid)},
             true,
             false,
             i.start,
             i.end});
      }
      m.entries[host_entry].start = host_start;
      m.entries[host_entry].end = host_end;
      m.entries[host_entry].spans_request = infos.empty();
    }
    return m;
  }

  // Thread status attributes are the children of <host>/Threads.
  bool IsThread(Quark q) const {
    const StateHistory& h = k_->history();
    Quark p = h.Parent(q);
    return p != storage::kRootQuark && h.Name(p) == "Threads" &&
           h.Parent(h.Parent(p)) == storage::kRootQuark;
  }

  const kernel::KernelModule* k_;
  TreeCache cache_;
};

}  // namespace

std::unique_ptr<TimeGraphProvider> MakeThreadStatusProvider(
    const kernel::KernelModule* kernel) {
  return std::make_unique<ThreadStatusProvider>(kernel);
}

}  // namespace vmtrace::tsp
