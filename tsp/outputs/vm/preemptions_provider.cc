// Preemptions: how often, and for how long, a VM's work is displaced, at
// each level: host -> VM, VM <-> VM, process <-> process inside the VM and
// thread <-> thread inside a guest process (vm-analyses.md d.5).
#include <algorithm>
#include <array>
#include <limits>

#include "analyses/stats/event_stats.h"
#include "analyses/stats/preemptions.h"
#include "tsp/outputs/vm/vm_stats_common.h"
#include "tsp/outputs/vm/vm_stats_providers.h"

namespace vmtrace::tsp {
namespace {

using namespace vmstats;  // NOLINT: internal helpers of this output family

constexpr int kKinds = 4;
constexpr std::array<const char*, kKinds> kKindNames = {
    "Host -> VM", "VM <-> VM", "Process <-> process", "Thread <-> thread"};

using Stats = stats::PreemptionStats;
static_assert(kKinds == stats::kPreemptionKinds);

std::vector<TableColumnModel> PreemptionColumns() {
  return {
      Column(0, "Host", "The trace's hostname", false),
      Column(1, "VM", "QEMU process name; All VMs for the totals", false),
      Column(2, "PID", "QEMU process id", true),
      Column(3, "Kind",
             "Host -> VM, VM <-> VM, Process <-> process, Thread <-> "
             "thread",
             false),
      Column(4, "Count", "Number of preemptions", true),
      Column(5, "Total (ns)",
             "Time the preempted vCPUs, processes or threads stayed "
             "off, ns",
             true),
      Column(6, "Mean (ns)", "Total / count, rounded down", true),
      Column(7, "Max (ns)", "Longest preemption, ns", true),
      Column(8, "Share",
             "Total over the VM's vCPU time (observed time x vCPUs)", false)};
}

void AddRows(const std::string& host, const std::string& vm,
             const std::string& pid, const Stats& s, double vcpu_time,
             TableModel* m) {
  for (int k = 0; k < kKinds; ++k) {
    const stats::DurationStat& st = s[k];
    m->rows.push_back({host, vm, pid, kKindNames[k], std::to_string(st.count),
                       Ns(st.total), Ns(st.count ? st.total / st.count : 0),
                       Ns(st.max), Share(double(st.total), vcpu_time)});
  }
}

class PreemptionsProvider : public TableProvider {
 public:
  explicit PreemptionsProvider(std::shared_ptr<const stats::EventStats> s)
      : s_(std::move(s)) {}

  OutputDescriptor descriptor() const override {
    return {kPreemptionsId, "Preemptions",
            "Preemption counts and times by kind: host -> VM, VM <-> VM, "
            "process <-> process and thread <-> thread inside a VM",
            "TABLE"};
  }
  std::vector<TableColumnModel> Columns() const override {
    return PreemptionColumns();
  }
  StatusOr<TableModel> Table() const override {
    return cache_.Get(s_->history(), [this] {
      return PreemptionsTable(*s_, std::numeric_limits<int64_t>::min(),
                              std::numeric_limits<int64_t>::max());
    });
  }

 private:
  std::shared_ptr<const stats::EventStats> s_;
  TableCache cache_;
};

}  // namespace

StatusOr<TableModel> PreemptionsTable(const stats::EventStats& es,
                                      int64_t start, int64_t end) {
  const StateHistory& h = es.history();
  const Window w = ObservedWindow(h);
  TableModel m;
  m.columns = PreemptionColumns();
  m.running = !h.complete();
  // The observed part of [start, end]: the vCPU time the shares are of.
  const int64_t lo = std::max(start, w.start);
  const int64_t hi = end < w.end ? end + 1 : w.end;
  const double length = hi > lo ? double(hi - lo) : 0.0;
  VMTRACE_ASSIGN_OR_RETURN(auto tallies,
                           es.Range(start, end, stats::kPreemptions));
  Stats all{};
  size_t all_vcpus = 0;
  for (const VmRef& vm : ListVms(h)) {
    Stats s{};
    for (int k = 0; k < kKinds; ++k) {
      auto it = tallies.find(stats::PreemptionKey(vm.q, k));
      if (it == tallies.end()) continue;
      s[k] = {it->second.count, it->second.total, it->second.max};
    }
    AddRows(vm.host_name, vm.name, vm.pid, s, length * double(vm.vcpus.size()),
            &m);
    for (int k = 0; k < kKinds; ++k) all[k].Merge(s[k]);
    all_vcpus += vm.vcpus.size();
  }
  AddRows("", "All VMs", "", all, length * double(all_vcpus), &m);
  return m;
}

std::unique_ptr<TableProvider> MakePreemptionsProvider(
    std::shared_ptr<const stats::EventStats> s) {
  return std::make_unique<PreemptionsProvider>(std::move(s));
}

std::unique_ptr<TableProvider> MakePreemptionsProvider(const StateHistory* h) {
  return MakePreemptionsProvider(ScanOnlyEventStats(h));
}

}  // namespace vmtrace::tsp
