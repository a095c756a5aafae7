// vCPU Usage: what each vCPU does, in percent of time per bucket.
#include <array>
#include <map>

#include "analyses/stats/buckets.h"
#include "analyses/stats/usage.h"
#include "tsp/outputs/vm/vm_stats_common.h"
#include "tsp/outputs/vm/vm_stats_providers.h"

namespace vmtrace::tsp {
namespace {

using namespace vmstats;  // NOLINT: internal helpers of this output family

constexpr int kCategories = stats::kVcpuUsageCategories;
constexpr std::array<const char*, kCategories> kCategoryNames = {
    "Guest", "Hypervisor", "Preempted", "Idle"};

class VcpuUsageProvider : public XyProvider {
 public:
  explicit VcpuUsageProvider(const StateHistory* h) : h_(h) {}

  OutputDescriptor descriptor() const override {
    return {kVcpuUsageId, "vCPU Usage",
            "Percent of time each vCPU (and each VM, over its vCPUs) runs "
            "guest code, is in the hypervisor, is preempted on the host or "
            "is idle",
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
      for (const auto& v : vm.vcpus) {
        m.entries.push_back({NodeId(v.q), NodeId(vm.q), {"vCPU " + v.id}});
        for (int c = 0; c < kCategories; ++c) {
          m.entries.push_back({SeriesId(v.q, c),
                               NodeId(v.q),
                               {kCategoryNames[c]},
                               true,
                               false});
        }
      }
    }
    return m;
  }

  StatusOr<XyModel> Fetch(const std::vector<int64_t>& times,
                          const std::vector<int64_t>& items) const override {
    const StateHistory& h = *h_;
    XyModel m;
    m.title = "vCPU Usage";
    m.y_label = "Share of time";
    m.y_unit = "%";
    m.running = !h.complete();
    if (times.empty()) return m;
    struct Node {
      std::string name;
      size_t vcpus = 1;
      std::vector<std::vector<double>> acc;
    };
    // A node's four categories come from one read of its vCPUs.
    std::map<Quark, Node> nodes;
    for (int64_t id : items) {
      if (id < 0) continue;
      const int c = IdCategory(id);
      const Quark q = IdQuark(id);
      if (c < 0 || c >= kCategories) continue;
      auto it = nodes.find(q);
      if (it == nodes.end()) {
        Node n;
        std::vector<Quark> vcpus;
        if (auto vm = FindVm(h, q)) {
          for (const auto& v : vm->vcpus) vcpus.push_back(v.q);
          n.name = vm->name;
        } else if (q < h.AttributeCount() && h.Name(h.Parent(q)) == "vCPUs") {
          auto owner = FindVm(h, h.Parent(h.Parent(q)));
          if (!owner) continue;
          vcpus.push_back(q);
          n.name = owner->name + " vCPU " + h.Name(q);
        } else {
          continue;
        }
        n.vcpus = std::max<size_t>(1, vcpus.size());
        VMTRACE_ASSIGN_OR_RETURN(n.acc,
                                 stats::VcpuUsageBuckets(h, vcpus, times));
        it = nodes.emplace(q, std::move(n)).first;
      }
      const Node& n = it->second;
      m.series.push_back(
          {id, n.name + " " + kCategoryNames[c],
           stats::BucketDensity(n.acc[c], times, 100.0, double(n.vcpus))});
    }
    return m;
  }

 private:
  const StateHistory* h_;
};

}  // namespace

std::unique_ptr<XyProvider> MakeVcpuUsageProvider(const StateHistory* h) {
  return std::make_unique<VcpuUsageProvider>(h);
}

}  // namespace vmtrace::tsp
