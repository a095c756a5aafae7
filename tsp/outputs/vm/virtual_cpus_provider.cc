// Virtual CPUs: one row per vCPU of every VM, and under it the nested VMs
// that vCPU ran with their nested vCPU row (vm-semantics §3, §5.4).
#include <algorithm>
#include <mutex>
#include <optional>

#include "analyses/vm/vm_layout.h"
#include "analyses/vm/vm_names.h"
#include "storage/state_queries.h"
#include "tsp/outputs/state_rows.h"
#include "tsp/outputs/tree_cache.h"
#include "tsp/outputs/vm/guest_labels.h"
#include "tsp/outputs/vm/vm_providers.h"
#include "tsp/outputs/wait_styles.h"

namespace vmtrace::tsp {
namespace {

using storage::Quark;
using storage::StateHistory;
using storage::StateValue;

constexpr int64_t kGroupShift = 32;

int64_t Num(const std::string& s) { return strtoll(s.c_str(), nullptr, 0); }

std::vector<Quark> SortedByNumber(const StateHistory& h, std::vector<Quark> v) {
  std::sort(v.begin(), v.end(),
            [&h](Quark a, Quark b) { return Num(h.Name(a)) < Num(h.Name(b)); });
  return v;
}

StateValue At(const StateHistory& h, std::optional<Quark> q, int64_t t) {
  return storage::ValueAt(h, q, t);
}

StateValue Last(const StateHistory& h, std::optional<Quark> q) {
  return storage::LastValue(h, q);
}

class VirtualCpusProvider : public TimeGraphProvider {
 public:
  VirtualCpusProvider(const vm::VmModule* vm, const kernel::KernelModule* k,
                      std::shared_ptr<vm::GuestNamesSource> names)
      : vm_(vm), k_(k), names_(std::move(names)) {}

  OutputDescriptor descriptor() const override {
    return {kVirtualCpusId, "Virtual CPUs",
            "Every vCPU of every VM, from host-only traces: guest code (L1, "
            "L2), hypervisor (L0), L1 hypervisor working for L2, preempted "
            "by a host process or another VM, idle waiting for a timer, "
            "disk, network, another task or an unknown reason; nested VMs "
            "under the vCPU that runs them",
            "TIME_GRAPH"};
  }

  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    // Labels come from the names: a tree is kept for one snapshot of them.
    auto names = names_->Current();
    return cache_.Get(
        vm_->history().complete(), start, end, names,
        [this, &names](int64_t, int64_t) { return Compute(*names); });
  }

  // Every entry spans the request. A VM named by hand or by its guest trace
  // shows its name (and its QEMU pid in the second column), a nested VM
  // too.
  StatusOr<TreeModel> Compute(const vm::GuestNames& names) const {
    const StateHistory& h = vm_->history();
    TreeModel m;
    m.headers = {"Name", "Host thread"};
    for (Quark host : h.Children(storage::kRootQuark)) {
      auto vms = h.Child(host, "VMs");
      if (!vms) continue;
      m.entries.push_back({int64_t(host), -1, {h.Name(host), ""}});
      m.entries.back().host = h.Name(host);
      for (Quark vmq : SortedByNumber(h, h.Children(*vms))) {
        const vm::VmNaming* naming = names.Vm(h.Name(host), Num(h.Name(vmq)));
        std::string label = "VM " + h.Name(vmq);
        StateValue name = Last(h, h.Child(vmq, "Name"));
        if (!name.is_null()) label += " " + name.s;
        std::string pid;
        if (naming != nullptr && !naming->name.empty()) {
          label = naming->name;
          pid = h.Name(vmq);
        }
        m.entries.push_back({int64_t(vmq), int64_t(host), {label, pid}});
        auto vcpus = h.Child(vmq, "vCPUs");
        auto nested = h.Child(vmq, "Nested");
        if (!vcpus) continue;
        for (Quark v : SortedByNumber(h, h.Children(*vcpus))) {
          StateValue tid = Last(h, h.Child(v, "Thread"));
          m.entries.push_back({int64_t(v),
                               int64_t(vmq),
                               {"vCPU " + h.Name(v),
                                tid.is_null() ? "" : std::to_string(tid.i)},
                               true});
          if (!nested) continue;
          for (Quark n : h.Children(*nested)) {
            auto nv = h.Find({h.Name(host), "VMs", h.Name(vmq), "Nested",
                              h.Name(n), "vCPUs", h.Name(v)});
            if (!nv) continue;
            const int64_t group =
                ((Num(h.Name(v)) + 1) << kGroupShift) | int64_t(n);
            m.entries.push_back(
                {group, int64_t(v), {NestedLabel(naming, h.Name(n)), ""}});
            m.entries.push_back(
                {int64_t(*nv), group, {"vCPU " + h.Name(v), ""}, true});
          }
        }
      }
    }
    TreeCache::SpanRequest(&m);
    return m;
  }

  StatusOr<RowsModel> States(const std::vector<int64_t>& times,
                             const std::vector<int64_t>& items) const override {
    return SampledRows(
        vm_->history(), times, items, [this](int64_t id) { return IsRow(id); },
        [](Quark, int64_t v) { return vm::VcpuStateName(v); });
  }

  StatusOr<std::map<std::string, std::string>> Tooltip(
      int64_t item, int64_t time) const override {
    const StateHistory& h = vm_->history();
    std::map<std::string, std::string> out;
    if (!IsRow(item)) return out;
    const Quark q = Quark(item);
    const StateValue st = At(h, q, time);
    if (st.kind != StateValue::kInt) return out;
    out["State"] = vm::VcpuStateName(st.i);
    // A nested row (VMs/<pid>/Nested/<H>/vCPUs/<id>) shows the attributes
    // of the L1 vCPU that runs it.
    Quark l1 = q;
    Quark vcpus = h.Parent(q);
    Quark owner = h.Parent(vcpus);
    if (h.Name(h.Parent(owner)) == "Nested") {
      out["Nested VM (L1 hypervisor CR3)"] = h.Name(owner);
      Quark vmq = h.Parent(h.Parent(owner));
      auto v = h.Child(vmq, "vCPUs");
      auto l1q = v ? h.Child(*v, h.Name(q)) : std::nullopt;
      if (!l1q) return out;
      l1 = *l1q;
    }
    const StateValue exit = At(h, h.Child(l1, "Exit"), time);
    if (exit.kind == StateValue::kInt &&
        (st.i == vm::kHypervisor || st.i == vm::kL1ForL2 ||
         st.i >= vm::kPreemptedHost)) {
      std::string_view n = vm::ExitReasonName(exit.i);
      out["Last exit reason"] =
          (n.empty() ? std::string("?") : std::string(n)) + " (" +
          std::to_string(exit.i) + ")";
    }
    const StateValue cr3 = At(h, h.Child(l1, "CR3"), time);
    if (cr3.kind == StateValue::kString) {
      out["CR3"] = cr3.s;
      // The guest process on the vCPU, when named (L1 rows: the nested
      // rows' CR3 is the L1 vCPU's, not an L2 process's).
      uint64_t v;
      if (l1 == q && ParseCr3Text(cr3.s, &v)) {
        Quark vmq = h.Parent(vcpus);
        auto names = names_->Current();
        AddProcessTooltip(names->Vm(HostOf(q), Num(h.Name(vmq))), v, time,
                          &out);
      }
    }
    const StateValue vec = At(h, h.Child(l1, "Vector"), time);
    if (vec.kind == StateValue::kInt) {
      out["Last injected vector"] = std::to_string(vec.i);
    }
    const StateValue tid = At(h, h.Child(l1, "Thread"), time);
    if (tid.kind == StateValue::kInt)
      out["Host thread"] = std::to_string(tid.i);
    const StateValue pre = At(h, h.Child(l1, "Preempter"), time);
    if (pre.kind == StateValue::kInt &&
        (st.i == vm::kPreemptedHost || st.i == vm::kPreemptedVm)) {
      out["Preempted by"] = ThreadLabel(HostOf(q), pre.i, time);
    }
    return out;
  }

  StyleMap Styles() const override {
    // Colours of vm-analyses.md (d).1 (Trace Compass's VM palettes).
    StyleMap m = {
        {"UNKNOWN", StateStyle("Unknown", "#403B33", 0.3)},
        {"GUEST", StateStyle("Guest (L1)", "#00C800", 1.0)},
        {"GUEST_L2", StateStyle("Guest (L2)", "#339900", 1.0)},
        {"HYPERVISOR", StateStyle("Hypervisor (L0)", "#B30606", 1.0)},
        {"L1_FOR_L2", StateStyle("L1 hypervisor for L2", "#E0A030", 1.0)},
        {"PREEMPTED_HOST",
         StateStyle("Preempted by a host process", "#CF7F2F", 0.6)},
        {"PREEMPTED_VM",
         StateStyle("Preempted by another vCPU", "#A0522D", 0.6)}};
    AddWaitStyles(&m);
    return m;
  }

 private:
  // vCPU rows: VMs/<pid>/vCPUs/<id> and VMs/<pid>/Nested/<H>/vCPUs/<id>.
  bool IsRow(int64_t id) const {
    const StateHistory& h = vm_->history();
    if (id <= 0 || id >= int64_t(h.AttributeCount())) return false;
    Quark p = h.Parent(Quark(id));
    if (h.Name(p) != "vCPUs") return false;
    Quark owner = h.Parent(p);
    Quark gp = h.Parent(owner);
    return h.Name(gp) == "VMs" || h.Name(gp) == "Nested";
  }

  // "Nested VM <L1 hypervisor CR3>", or its name.
  static std::string NestedLabel(const vm::VmNaming* naming,
                                 const std::string& hcr3) {
    uint64_t v;
    if (naming != nullptr && ParseCr3Text(hcr3, &v)) {
      auto it = naming->nested.find(vm::CanonicalCr3(v));
      if (it != naming->nested.end() && !it->second.name.empty()) {
        return it->second.name;
      }
    }
    return "Nested VM " + hcr3;
  }

  std::string HostOf(Quark q) const {
    const StateHistory& h = vm_->history();
    while (h.Parent(q) != storage::kRootQuark) q = h.Parent(q);
    return h.Name(q);
  }

  std::string ThreadLabel(const std::string& host, int64_t tid,
                          int64_t time) const {
    std::string out = std::to_string(tid);
    if (!k_) return out;
    const StateHistory& kh = k_->history();
    auto q = kh.Find({host, "Threads", std::to_string(tid), "Exec_name"});
    StateValue n = At(kh, q, time);
    if (n.kind == StateValue::kString) out += " (" + n.s + ")";
    return out;
  }

  const vm::VmModule* vm_;
  const kernel::KernelModule* k_;
  std::shared_ptr<vm::GuestNamesSource> names_;
  TreeCache cache_;
};

}  // namespace

std::unique_ptr<TimeGraphProvider> MakeVirtualCpusProvider(
    const vm::VmModule* vm, const kernel::KernelModule* kernel,
    std::shared_ptr<vm::GuestNamesSource> names) {
  if (!names) names = std::make_shared<vm::GuestNamesSource>();
  return std::make_unique<VirtualCpusProvider>(vm, kernel, std::move(names));
}

}  // namespace vmtrace::tsp
