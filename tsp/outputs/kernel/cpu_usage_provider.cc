// CPU Usage: total and per-thread CPU time in percent of the host's CPUs.
#include <algorithm>
#include <mutex>

#include "analyses/kernel/kernel_model.h"
#include "analyses/stats/buckets.h"
#include "analyses/stats/usage.h"
#include "tsp/outputs/kernel/kernel_providers.h"
#include "tsp/outputs/tree_cache.h"

namespace vmtrace::tsp {
namespace {

using storage::Quark;
using storage::StateHistory;

class CpuUsageProvider : public XyProvider {
 public:
  explicit CpuUsageProvider(const kernel::KernelModule* k) : k_(k) {}

  OutputDescriptor descriptor() const override {
    return {kCpuUsageId, "CPU Usage",
            "CPU time over time in percent of each host's CPUs: total and "
            "per thread",
            "TREE_TIME_XY"};
  }

  // Lists the threads that ran in the range: kept per range.
  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    return cache_.Get(k_->history().complete(), start, end,
                      [this](int64_t s, int64_t e) { return Compute(s, e); });
  }

  StatusOr<TreeModel> Compute(int64_t start, int64_t end) const {
    const StateHistory& h = k_->history();
    TreeModel m;
    m.headers = {"Process", "TID", "%"};
    for (Quark host : h.Children(storage::kRootQuark)) {
      m.entries.push_back({int64_t(host),
                           -1,
                           {h.Name(host), "", ""},
                           false,
                           false,
                           start,
                           end});
      m.entries.back().host = h.Name(host);
      auto cpus = h.Child(host, "CPUs");
      auto threads = h.Child(host, "Threads");
      if (!cpus || !threads) continue;
      // "Total" uses the CPUs attribute's id.
      m.entries.push_back({int64_t(*cpus),
                           int64_t(host),
                           {"Total", "", ""},
                           true,
                           true,
                           start,
                           end});
      for (Quark t : h.Children(*threads)) {
        if (h.Name(t).rfind("0_", 0) == 0) continue;  // idle threads
        // Two seeks per thread (cumulative totals), not a scan of its
        // intervals in the range.
        VMTRACE_ASSIGN_OR_RETURN(bool ran,
                                 stats::ThreadRanIn(h, t, start, end));
        if (!ran) continue;
        std::string name;
        if (auto eq = h.Child(t, "Exec_name")) {
          auto v = h.QueryRange(*eq, start, end);
          if (v.ok() && !v->empty()) name = v->back().value.s;
        }
        m.entries.push_back({int64_t(t),
                             int64_t(*cpus),
                             {name, h.Name(t), ""},
                             true,
                             false,
                             start,
                             end});
      }
    }
    TreeCache::SpanRequest(&m);
    return m;
  }

  StatusOr<XyModel> Fetch(const std::vector<int64_t>& times,
                          const std::vector<int64_t>& items) const override {
    const StateHistory& h = k_->history();
    XyModel m;
    m.title = "CPU Usage";
    m.y_label = "CPU usage";
    m.y_unit = "%";
    m.running = !h.complete();
    if (times.empty()) return m;
    for (int64_t id : items) {
      if (id <= 0 || id >= int64_t(h.AttributeCount())) continue;
      Quark q = Quark(id);
      Quark parent = h.Parent(q);
      bool total =
          h.Name(q) == "CPUs" && h.Parent(parent) == storage::kRootQuark;
      bool thread = h.Name(parent) == "Threads" &&
                    h.Parent(h.Parent(parent)) == storage::kRootQuark;
      if (!total && !thread) continue;
      Quark host = total ? parent : h.Parent(parent);
      auto cpus = h.Child(host, "CPUs");
      size_t ncpu = cpus ? std::max<size_t>(1, h.Children(*cpus).size()) : 1;
      VMTRACE_ASSIGN_OR_RETURN(
          std::vector<double> acc,
          total ? stats::CpuBusyBuckets(h, h.Children(q), times)
                : stats::ThreadRunBuckets(h, q, times));
      XySeries s;
      s.id = id;
      s.name = total ? h.Name(host) + " total" : h.Name(q);
      s.y = stats::BucketDensity(acc, times, 100.0, double(ncpu));
      m.series.push_back(std::move(s));
    }
    return m;
  }

 private:
  const kernel::KernelModule* k_;
  TreeCache cache_{TreeCache::Scope::kPerRange};
};

}  // namespace

std::unique_ptr<XyProvider> MakeCpuUsageProvider(
    const kernel::KernelModule* kernel) {
  return std::make_unique<CpuUsageProvider>(kernel);
}

}  // namespace vmtrace::tsp
