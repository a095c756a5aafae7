// VM Wait Analysis: where the VMs' vCPUs and guest processes wait, by wake-up
// reason (vm-semantics §3, §4), as a table and over time.
#include <array>
#include <map>

#include "analyses/stats/buckets.h"
#include "analyses/stats/vm_waits.h"
#include "tsp/outputs/vm/vm_stats_common.h"
#include "tsp/outputs/vm/vm_stats_providers.h"

namespace vmtrace::tsp {
namespace {

using namespace vmstats;  // NOLINT: internal helpers of this output family

using Totals = stats::WaitTotals;
constexpr int kCategories = stats::kWaitCategories;
constexpr std::array<const char*, kCategories> kCategoryNames = {
    "WAIT_TIMER", "WAIT_DISK", "WAIT_NET", "WAIT_TASK", "WAIT_UNKNOWN"};

std::vector<TableColumnModel> WaitColumns() {
  std::vector<TableColumnModel> c = {
      Column(0, "Host", "The trace's hostname", false),
      Column(1, "VM", "QEMU process name", false),
      Column(2, "PID", "QEMU process id", true),
      Column(3, "Element",
             "VM (all its vCPUs), vCPU <id>, Process <cr3>, Nested <cr3> "
             "vCPU <id>, Nested <cr3> process <cr3>",
             false)};
  int64_t id = 4;
  for (const char* n : kCategoryNames) {
    c.push_back(Column(id++, std::string(n) + " (ns)",
                       std::string("Time in ") + n + ", ns", true));
    c.push_back(Column(id++, std::string(n) + " share",
                       std::string("Share of the element's wait time in ") + n,
                       false));
  }
  c.push_back(
      Column(id++, "Total wait (ns)", "Time in any WAIT_* state, ns", true));
  c.push_back(Column(id++, "Wait share of time",
                     "Total wait over the observed time (times the number "
                     "of vCPUs for a VM row)",
                     false));
  return c;
}

std::vector<std::string> WaitRow(const VmRef& vm, const std::string& element,
                                 const Totals& t, double observed) {
  std::vector<std::string> row = {vm.host_name, vm.name, vm.pid, element};
  int64_t total = 0;
  for (int64_t v : t) total += v;
  for (int64_t v : t) {
    row.push_back(Ns(v));
    row.push_back(Share(double(v), double(total)));
  }
  row.push_back(Ns(total));
  row.push_back(Share(double(total), observed));
  return row;
}

class VmWaitTableProvider : public TableProvider {
 public:
  explicit VmWaitTableProvider(const StateHistory* h) : h_(h) {}

  OutputDescriptor descriptor() const override {
    return {kVmWaitTableId, "VM Wait Analysis",
            "Time each VM, vCPU and guest process spent waiting, by wake-up "
            "reason (timer, disk, network, another task, unknown)",
            "TABLE"};
  }
  std::vector<TableColumnModel> Columns() const override {
    return WaitColumns();
  }
  StatusOr<TableModel> Table() const override {
    return cache_.Get(*h_, [this] { return Compute(); });
  }

 private:
  StatusOr<TableModel> Compute() const {
    return VmWaitTable(*h_, ObservedWindow(*h_));
  }

  const StateHistory* h_;
  TableCache cache_;
};

class VmWaitXyProvider : public XyProvider {
 public:
  explicit VmWaitXyProvider(const StateHistory* h) : h_(h) {}

  OutputDescriptor descriptor() const override {
    return {kVmWaitXyId, "VM Wait Analysis (over time)",
            "Percent of each VM's vCPU time spent waiting, per wake-up "
            "reason",
            "TREE_TIME_XY"};
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
      m.entries.push_back(
          {NodeId(vm.q), NodeId(vm.host), {vm.name + " (" + vm.pid + ")"}});
      for (int c = 0; c < kCategories; ++c) {
        m.entries.push_back(
            {SeriesId(vm.q, c), NodeId(vm.q), {kCategoryNames[c]}, true, true});
      }
    }
    return m;
  }

  StatusOr<XyModel> Fetch(const std::vector<int64_t>& times,
                          const std::vector<int64_t>& items) const override {
    const StateHistory& h = *h_;
    XyModel m;
    m.title = "VM Wait Analysis";
    m.y_label = "Share of the VM's vCPU time";
    m.y_unit = "%";
    m.running = !h.complete();
    if (times.empty()) return m;
    // One pass over a VM's vCPUs serves all its requested categories.
    std::map<Quark, std::pair<VmRef, std::vector<std::vector<double>>>> vms;
    for (int64_t id : items) {
      if (id < 0) continue;
      int c = IdCategory(id);
      if (c < 0 || c >= kCategories) continue;
      auto it = vms.find(IdQuark(id));
      if (it == vms.end()) {
        auto vm = FindVm(h, IdQuark(id));
        if (!vm) continue;
        VMTRACE_ASSIGN_OR_RETURN(auto acc,
                                 stats::WaitBuckets(h, vm->vcpus, times));
        it =
            vms.emplace(IdQuark(id), std::make_pair(*vm, std::move(acc))).first;
      }
      const VmRef& vm = it->second.first;
      XySeries s;
      s.id = id;
      s.name = vm.name + " " + kCategoryNames[c];
      s.y = stats::BucketDensity(it->second.second[c], times, 100.0,
                                 double(std::max<size_t>(1, vm.vcpus.size())));
      m.series.push_back(std::move(s));
    }
    return m;
  }

 private:
  const StateHistory* h_;
};

}  // namespace

StatusOr<TableModel> VmWaitTable(const StateHistory& h,
                                 const stats::Window& w) {
  VMTRACE_ASSIGN_OR_RETURN(stats::WaitTable t, stats::ComputeWaitTable(h, w));
  TableModel m;
  m.columns = WaitColumns();
  for (const stats::WaitRow& r : t.rows) {
    m.rows.push_back(WaitRow(t.vms[r.vm], r.element, r.totals, r.observed));
  }
  return m;
}

std::unique_ptr<TableProvider> MakeVmWaitTableProvider(const StateHistory* h) {
  return std::make_unique<VmWaitTableProvider>(h);
}

std::unique_ptr<XyProvider> MakeVmWaitXyProvider(const StateHistory* h) {
  return std::make_unique<VmWaitXyProvider>(h);
}

}  // namespace vmtrace::tsp
