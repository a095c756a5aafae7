// VM Exits: counts and hypervisor time per exit reason, and the exit rate.
#include <algorithm>
#include <map>

#include "analyses/vm/vm_names.h"
#include "tsp/outputs/vm/vm_stats_common.h"
#include "tsp/outputs/vm/vm_stats_providers.h"
#include "analyses/stats/buckets.h"

namespace vmtrace::tsp {
namespace {

using namespace vmstats;  // NOLINT: internal helpers of this output family

// The VM model's Intel VMX names; a reason it does not name shows its number.
std::string ExitName(int64_t reason) {
  if (reason < 0) return "(reason not recorded)";
  std::string_view n = vm::ExitReasonName(reason);
  return n.empty() ? "UNKNOWN_" + std::to_string(reason) : std::string(n);
}

struct Exit {
  int64_t start = 0;
  int64_t reason = -1;  // -1: no Exit value at that instant
  bool from_l2 = false;
  int64_t ns = 0;  // hypervisor time until the next guest entry
};

// The exits of one L1 vCPU whose first HYPERVISOR interval lies in
// [t1, t2] (see vm_stats_providers.h for what an exit is).
StatusOr<std::vector<Exit>> CollectExits(const StateHistory& h,
                                         const VcpuRef& v, int64_t t1,
                                         int64_t t2, const Window& w) {
  std::vector<Exit> out;
  VMTRACE_ASSIGN_OR_RETURN(auto states, h.QueryRange(v.q, t1, t2));
  std::vector<StateInterval> reasons;
  if (auto eq = h.Child(v.q, "Exit")) {
    VMTRACE_ASSIGN_OR_RETURN(reasons, h.QueryRange(*eq, t1, t2));
  }
  size_t j = 0;
  std::optional<Exit> open;
  const StateInterval* prev = nullptr;
  for (const auto& iv : states) {
    if (IsInt(iv, vm::kHypervisor)) {
      // The state before an exit is the guest's, with no gap: the history
      // partitions time per attribute.
      if (prev && IsGuest(prev->value) && prev->end + 1 == iv.start) {
        if (open) out.push_back(*open);
        open = Exit{iv.start, -1, IsInt(*prev, vm::kGuestL2), 0};
        while (j < reasons.size() && reasons[j].end < iv.start) ++j;
        if (j < reasons.size() && reasons[j].Contains(iv.start) &&
            reasons[j].value.kind == storage::StateValue::kInt) {
          open->reason = reasons[j].value.i;
        }
      }
      if (open) open->ns += Clipped(iv, w);
    } else if (IsGuest(iv.value)) {
      if (open) out.push_back(*open);
      open.reset();
    }
    prev = &iv;
  }
  if (open) out.push_back(*open);
  return out;
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
  struct Stat {
    int64_t count = 0, from_l2 = 0, total = 0, max = 0;
  };

  StatusOr<TableModel> Compute() const {
    const StateHistory& h = *h_;
    const Window w = ObservedWindow(h);
    TableModel m;
    m.columns = ExitColumns();
    if (w.length() == 0) return m;
    for (const VmRef& vm : ListVms(h)) {
      std::map<int64_t, Stat> by_reason;
      int64_t vm_total = 0;
      for (const auto& v : vm.vcpus) {
        VMTRACE_ASSIGN_OR_RETURN(auto exits,
                                 CollectExits(h, v, w.start, w.end, w));
        for (const Exit& e : exits) {
          Stat& s = by_reason[e.reason];
          ++s.count;
          s.from_l2 += e.from_l2 ? 1 : 0;
          s.total += e.ns;
          s.max = std::max(s.max, e.ns);
          vm_total += e.ns;
        }
      }
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
    // Unclipped: the buckets bound what is counted.
    const Window all{std::numeric_limits<int64_t>::min(),
                     std::numeric_limits<int64_t>::max()};
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
      std::vector<double> acc(times.size(), 0.0);
      for (const auto& v : vcpus) {
        // From one ns early, so an exit at times.front() sees the guest
        // interval before it.
        VMTRACE_ASSIGN_OR_RETURN(
            auto exits,
            CollectExits(h, v, times.front() - 1, times.back(), all));
        for (const Exit& e : exits) CountInBucket(e.start, times, &acc);
      }
      m.series.push_back({id, name, BucketDensity(acc, times, 1e9)});
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
