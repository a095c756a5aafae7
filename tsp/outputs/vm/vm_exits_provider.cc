// VM Exits: counts and hypervisor time per exit reason, and the exit rate.
#include <algorithm>
#include <map>

#include "analyses/stats/buckets.h"
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
  explicit VmExitsTableProvider(const StateHistory* h) : h_(h) {}

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
    return cache_.Get(*h_, [this] { return Compute(); });
  }

 private:
  StatusOr<TableModel> Compute() const {
    const StateHistory& h = *h_;
    const Window w = ObservedWindow(h);
    TableModel m;
    m.columns = ExitColumns();
    if (w.length() == 0) return m;
    for (const VmRef& vm : ListVms(h)) {
      int64_t vm_total = 0;
      VMTRACE_ASSIGN_OR_RETURN(auto by_reason,
                               stats::ExitsByReason(h, vm, w, &vm_total));
      for (const auto& [reason, s] : by_reason) {
        m.rows.push_back({vm.host_name, vm.name, vm.pid,
                          reason < 0 ? "" : std::to_string(reason),
                          ExitName(reason), std::to_string(s.count),
                          std::to_string(s.from_l2), Ns(s.total),
                          Ns(s.count ? s.total / s.count : 0), Ns(s.max),
                          Share(double(s.total), double(vm_total))});
      }
    }
    return m;
  }

  const StateHistory* h_;
  TableCache cache_;
};

class VmExitRateProvider : public XyProvider {
 public:
  explicit VmExitRateProvider(const StateHistory* h) : h_(h) {}

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
    for (int64_t id : items) {
      if (id <= 0 || id % 8 != 0) continue;
      Quark q = IdQuark(id);
      std::vector<VcpuRef> vcpus;
      std::string name;
      if (auto vm = FindVm(h, q)) {
        vcpus = vm->vcpus;
        name = vm->name;
      } else if (q < h.AttributeCount() && h.Name(h.Parent(q)) == "vCPUs") {
        auto owner = FindVm(h, h.Parent(h.Parent(q)));
        if (!owner) continue;  // a nested vCPU: its exits are its L1's
        vcpus.push_back({q, h.Name(q)});
        name = owner->name + " vCPU " + h.Name(q);
      } else {
        continue;
      }
      VMTRACE_ASSIGN_OR_RETURN(auto acc, stats::ExitCounts(h, vcpus, times));
      m.series.push_back({id, name, stats::BucketDensity(acc, times, 1e9)});
    }
    return m;
  }

 private:
  const StateHistory* h_;
};

}  // namespace

std::unique_ptr<TableProvider> MakeVmExitsTableProvider(const StateHistory* h) {
  return std::make_unique<VmExitsTableProvider>(h);
}

std::unique_ptr<XyProvider> MakeVmExitRateProvider(const StateHistory* h) {
  return std::make_unique<VmExitRateProvider>(h);
}

}  // namespace vmtrace::tsp
