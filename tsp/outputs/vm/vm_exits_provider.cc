// VM Exits: counts and hypervisor time per exit reason, and the exit rate.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "analyses/stats/buckets.h"
#include "analyses/stats/event_stats.h"
#include "analyses/stats/vm_exits.h"
#include "analyses/vm/vm_names.h"
#include "tsp/outputs/vm/vm_stats_common.h"
#include "tsp/outputs/vm/vm_stats_providers.h"

namespace vmtrace::tsp {
namespace {

using namespace vmstats;  // NOLINT: internal helpers of this output family

// The VM model's Intel VMX names; a reason it does not name shows its number.
std::string ExitName(int64_t reason) {
  if (reason < 0) return "(reason not recorded)";
  std::string_view n = vm::ExitReasonName(reason);
  return n.empty() ? "UNKNOWN_" + std::to_string(reason) : std::string(n);
}

std::vector<TableColumnModel> ExitColumns() {
  return {
      Column(0, "Host", "The trace's hostname", false),
      Column(1, "VM", "QEMU process name", false),
      Column(2, "PID", "QEMU process id", true),
      Column(3, "Reason", "VMX basic exit reason", true),
      Column(4, "Name", "Intel VMX name of the exit reason", false),
      Column(5, "Count", "Number of exits", true),
      Column(6, "From L2", "Exits taken while a nested (L2) guest ran", true),
      Column(7, "Total (ns)",
             "Time in the hypervisor until the next guest entry, ns", true),
      Column(8, "Mean (ns)", "Total / count, rounded down", true),
      Column(9, "Max (ns)", "Longest exit, ns", true),
      Column(10, "Share", "Share of the VM's time in exits", false)};
}

class VmExitsTableProvider : public TableProvider {
 public:
  explicit VmExitsTableProvider(std::shared_ptr<const stats::EventStats> s)
      : s_(std::move(s)) {}

  OutputDescriptor descriptor() const override {
    return {kVmExitsTableId, "VM Exits",
            "VM exits per VM and exit reason: count and time spent in the "
            "hypervisor (total, mean, max)",
            "TABLE"};
  }
  std::vector<TableColumnModel> Columns() const override {
    return ExitColumns();
  }
  StatusOr<TableModel> Table() const override {
    return cache_.Get(s_->history(), [this] {
      return VmExitsTable(*s_, std::numeric_limits<int64_t>::min(),
                          std::numeric_limits<int64_t>::max());
    });
  }

 private:
  std::shared_ptr<const stats::EventStats> s_;
  TableCache cache_;
};

class VmExitRateProvider : public XyProvider {
 public:
  explicit VmExitRateProvider(std::shared_ptr<const stats::EventStats> s)
      : s_(std::move(s)), h_(&s_->history()) {}

  OutputDescriptor descriptor() const override {
    return {kVmExitRateId, "VM Exits (rate)",
            "VM exits per second, per VM and per vCPU", "TREE_TIME_XY"};
  }

  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    const StateHistory& h = *h_;
    TreeModel m;
    m.headers = {"Name"};
    m.running = !h.complete();
    int64_t last_host = -1;
    for (const VmRef& vm : ListVms(h)) {
      if (int64_t(vm.host) != last_host) {
        last_host = vm.host;
        m.entries.push_back({NodeId(vm.host), -1, {vm.host_name}});
        m.entries.back().host = vm.host_name;
      }
      m.entries.push_back({NodeId(vm.q),
                           NodeId(vm.host),
                           {vm.name + " (" + vm.pid + ")"},
                           true,
                           true});
      for (const auto& v : vm.vcpus) {
        m.entries.push_back(
            {NodeId(v.q), NodeId(vm.q), {"vCPU " + v.id}, true, false});
      }
    }
    return m;
  }

  StatusOr<XyModel> Fetch(const std::vector<int64_t>& times,
                          const std::vector<int64_t>& items) const override {
    const StateHistory& h = *h_;
    XyModel m;
    m.title = "VM Exits";
    m.y_label = "Exit rate";
    m.y_unit = "exits/s";
    m.running = !h.complete();
    if (times.empty()) return m;
    struct Series {
      int64_t id;
      std::string name;
      std::vector<VcpuRef> vcpus;
    };
    std::vector<Series> series;
    std::vector<VcpuRef> all;  // every vCPU asked, once
    std::set<Quark> seen;
    for (int64_t id : items) {
      if (id <= 0 || id % 8 != 0) continue;
      Quark q = IdQuark(id);
      Series se{id, "", {}};
      if (auto vm = FindVm(h, q)) {
        se.vcpus = vm->vcpus;
        se.name = vm->name;
      } else if (q < h.AttributeCount() && h.Name(h.Parent(q)) == "vCPUs") {
        auto owner = FindVm(h, h.Parent(h.Parent(q)));
        if (!owner) continue;  // a nested vCPU: its exits are its L1's
        se.vcpus.push_back({q, h.Name(q)});
        se.name = owner->name + " vCPU " + h.Name(q);
      } else {
        continue;
      }
      for (const VcpuRef& v : se.vcpus) {
        if (seen.insert(v.q).second) all.push_back(v);
      }
      series.push_back(std::move(se));
    }
    // One pass over the samples for every vCPU asked.
    VMTRACE_ASSIGN_OR_RETURN(auto counts, s_->ExitCountsByVcpu(all, times));
    for (const Series& se : series) {
      std::vector<double> acc(times.size(), 0.0);
      for (const VcpuRef& v : se.vcpus) {
        const auto& c = counts[v.q];
        for (size_t k = 0; k < acc.size(); ++k) acc[k] += c[k];
      }
      m.series.push_back(
          {se.id, se.name, stats::BucketDensity(acc, times, 1e9)});
    }
    return m;
  }

 private:
  std::shared_ptr<const stats::EventStats> s_;
  const StateHistory* h_;
};

}  // namespace

StatusOr<TableModel> VmExitsTable(const stats::EventStats& s, int64_t start,
                                  int64_t end) {
  const StateHistory& h = s.history();
  TableModel m;
  m.columns = ExitColumns();
  m.running = !h.complete();
  if (ObservedWindow(h).length() == 0) return m;
  VMTRACE_ASSIGN_OR_RETURN(auto tallies, s.Range(start, end, stats::kExits));
  for (const VmRef& vm : ListVms(h)) {
    std::map<int64_t, stats::ExitStat> by_reason;
    int64_t vm_total = 0;
    for (const auto& v : vm.vcpus) {
      // Keys are ordered by vCPU quark first.
      for (auto it = tallies.lower_bound(uint64_t(v.q) << 32);
           it != tallies.end() && stats::KeyQuark(it->first) == v.q; ++it) {
        stats::ExitStat& e = by_reason[stats::KeyReason(it->first)];
        const stats::Tally& t = it->second;
        e.count += t.count;
        e.from_l2 += stats::KeyFromL2(it->first) ? t.count : 0;
        e.total += t.total;
        e.max = std::max(e.max, t.max);
        vm_total += t.total;
      }
    }
    for (const auto& [reason, e] : by_reason) {
      m.rows.push_back({vm.host_name, vm.name, vm.pid,
                        reason < 0 ? "" : std::to_string(reason),
                        ExitName(reason), std::to_string(e.count),
                        std::to_string(e.from_l2), Ns(e.total),
                        Ns(e.count ? e.total / e.count : 0), Ns(e.max),
                        Share(double(e.total), double(vm_total))});
    }
  }
  return m;
}

std::unique_ptr<TableProvider> MakeVmExitsTableProvider(
    std::shared_ptr<const stats::EventStats> s) {
  return std::make_unique<VmExitsTableProvider>(std::move(s));
}

std::unique_ptr<XyProvider> MakeVmExitRateProvider(
    std::shared_ptr<const stats::EventStats> s) {
  return std::make_unique<VmExitRateProvider>(std::move(s));
}

std::unique_ptr<TableProvider> MakeVmExitsTableProvider(const StateHistory* h) {
  return MakeVmExitsTableProvider(ScanOnlyEventStats(h));
}

std::unique_ptr<XyProvider> MakeVmExitRateProvider(const StateHistory* h) {
  return MakeVmExitRateProvider(ScanOnlyEventStats(h));
}

}  // namespace vmtrace::tsp
