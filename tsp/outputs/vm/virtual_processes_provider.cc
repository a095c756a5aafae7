// Virtual Processes: guest processes by CR3 (vm-semantics §4) under their
// VM, their threads by kernel-stack prefix, and the L2 processes under
// their nested VM; named processes ("name (pid)") under their container
// when the experiment's guest names give one.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "analyses/vm/vm_layout.h"
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

StateValue At(const StateHistory& h, std::optional<Quark> q, int64_t t) {
  return storage::ValueAt(h, q, t);
}

StateValue Last(const StateHistory& h, std::optional<Quark> q) {
  return storage::LastValue(h, q);
}

int64_t Num(const std::string& s) { return strtoll(s.c_str(), nullptr, 0); }

// Container rows: 2^52 | (owner quark << 12) | rank (vm_providers.h).
constexpr int64_t kContainerTag = int64_t{1} << 52;
constexpr int64_t kContainersPerVm = 4096;

class VirtualProcessesProvider : public TimeGraphProvider {
 public:
  VirtualProcessesProvider(const vm::VmModule* vm,
                           std::shared_ptr<vm::GuestNamesSource> names)
      : vm_(vm), names_(std::move(names)) {}

  OutputDescriptor descriptor() const override {
    return {kVirtualProcessesId, "Virtual Processes",
            "Guest processes of every VM, identified by their CR3 from "
            "host-only traces (needs addons_vcpu_enter_guest): running, "
            "their vCPU in the hypervisor or preempted, or waiting for a "
            "timer, disk, network or another task; threads by kernel stack; "
            "L2 processes under their nested VM",
            "TIME_GRAPH"};
  }

  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    const bool complete = vm_->history().complete();
    // Labels come from the names: a tree is kept for one snapshot of them.
    auto names = names_->Current();
    return cache_.Get(complete, start, end, names,
                      [this, complete, &names](int64_t, int64_t) {
                        return Compute(complete, *names);
                      });
  }

  // Every entry spans the request.
  StatusOr<TreeModel> Compute(bool complete,
                              const vm::GuestNames& names) const {
    const StateHistory& h = vm_->history();
    TreeModel m;
    m.headers = {"Name", "Id"};
    bool has_process = false;
    for (Quark host : h.Children(storage::kRootQuark)) {
      auto vms = h.Child(host, "VMs");
      if (!vms) continue;
      m.entries.push_back({int64_t(host), -1, {h.Name(host), ""}});
      m.entries.back().host = h.Name(host);
      for (Quark vmq : h.Children(*vms)) {
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
        if (auto procs = h.Child(vmq, "Processes")) {
          AddProcesses(h, *procs, vmq, naming, "P", &m);
          has_process = has_process || !h.Children(*procs).empty();
        }
        auto nested = h.Child(vmq, "Nested");
        if (!nested) continue;
        for (Quark n : h.Children(*nested)) {
          const vm::VmNaming* l2 = Nested(naming, h.Name(n));
          m.entries.push_back(
              {int64_t(n),
               int64_t(vmq),
               {l2 && !l2->name.empty() ? l2->name : "Nested VM " + h.Name(n),
                ""}});
          if (auto procs = h.Child(n, "Processes")) {
            AddProcesses(h, *procs, n, l2, "L2-P", &m);
          }
        }
      }
    }
    if (complete && !has_process && !vm_->has_enter_guest()) {
      m.message =
          "No guest processes: the trace has no addons_vcpu_enter_guest "
          "events (lttng-modules addons), which this view and the guest "
          "critical path need; Virtual CPUs works without them";
    }
    TreeCache::SpanRequest(&m);
    return m;
  }

  StatusOr<RowsModel> States(const std::vector<int64_t>& times,
                             const std::vector<int64_t>& items) const override {
    return SampledRows(
        vm_->history(), times, items, [this](int64_t id) { return IsRow(id); },
        [](Quark, int64_t v) { return vm::ProcessStateName(v); });
  }

  StatusOr<std::map<std::string, std::string>> Tooltip(
      int64_t item, int64_t time) const override {
    const StateHistory& h = vm_->history();
    std::map<std::string, std::string> out;
    if (!IsRow(item)) return out;
    const Quark q = Quark(item);
    const StateValue st = At(h, q, time);
    if (st.kind != StateValue::kInt) return out;
    out["State"] = vm::ProcessStateName(st.i);
    // A thread row's process is two levels up (Processes/<cr3>/Threads/x).
    Quark proc = q;
    if (h.Name(h.Parent(q)) == "Threads") {
      proc = h.Parent(h.Parent(q));
      out["Thread (kernel stack)"] = h.Name(q);
    }
    out["CR3"] = h.Name(proc);
    uint64_t cr3;
    if (ParseCr3Text(h.Name(proc), &cr3)) {
      auto names = names_->Current();
      AddProcessTooltip(NamingOf(*names, proc), cr3, time, &out);
    }
    StateValue vcpu = At(h, h.Child(proc, "vCPU"), time);
    if (vcpu.kind != StateValue::kInt) vcpu = LastBefore(h, proc, time);
    if (vcpu.kind == StateValue::kInt) out["vCPU"] = std::to_string(vcpu.i);
    return out;
  }

  StyleMap Styles() const override {
    StyleMap m = {
        {"UNKNOWN", StateStyle("Unknown", "#403B33", 0.3)},
        {"RUNNING", StateStyle("Running", "#00C800", 1.0)},
        {"VCPU_HYPERVISOR",
         StateStyle("vCPU in the hypervisor", "#B30606", 1.0)},
        {"VCPU_PREEMPTED", StateStyle("vCPU preempted", "#CF7F2F", 0.6)}};
    AddWaitStyles(&m);
    return m;
  }

 private:
  // The names of nested VM <hcr3> of `naming` (may be null).
  static const vm::VmNaming* Nested(const vm::VmNaming* naming,
                                    const std::string& hcr3) {
    uint64_t v;
    if (naming == nullptr || !ParseCr3Text(hcr3, &v)) return nullptr;
    auto it = naming->nested.find(vm::CanonicalCr3(v));
    return it == naming->nested.end() ? nullptr : &it->second;
  }

  // The names of the (nested) VM of process row `proc`
  // (<host>/VMs/<pid>/[Nested/<hcr3>/]Processes/<cr3>).
  const vm::VmNaming* NamingOf(const vm::GuestNames& names, Quark proc) const {
    const StateHistory& h = vm_->history();
    Quark owner = h.Parent(h.Parent(proc));
    std::string hcr3;
    if (h.Name(h.Parent(owner)) == "Nested") {
      hcr3 = h.Name(owner);
      owner = h.Parent(h.Parent(owner));
    }
    const Quark host = h.Parent(h.Parent(owner));
    const vm::VmNaming* naming = names.Vm(h.Name(host), Num(h.Name(owner)));
    return hcr3.empty() ? naming : Nested(naming, hcr3);
  }

  // Processes in creation order get short ids P1, P2, ... (stable: the
  // pass is deterministic). A named process reads "name (pid)" (its latest
  // holder's, for a reused CR3) under its container's row, if it has one.
  static void AddProcesses(const StateHistory& h, Quark procs, Quark owner,
                           const vm::VmNaming* naming,
                           const std::string& prefix, TreeModel* m) {
    // Container rows first, by id, for the containers of this VM's
    // processes.
    std::map<std::string, int64_t> container_row;
    for (Quark p : h.Children(procs)) {
      uint64_t cr3;
      if (!ParseCr3Text(h.Name(p), &cr3)) continue;
      std::string c = LatestContainer(naming, cr3);
      if (!c.empty()) container_row.emplace(std::move(c), 0);
    }
    int64_t rank = 0;
    for (auto& [id, row] : container_row) {
      if (rank >= kContainersPerVm) break;  // the rest stay under the VM
      row = kContainerTag | (int64_t(owner) << 12) | rank++;
      m->entries.push_back(
          {row, int64_t(owner), {ContainerLabel(*naming, id), ""}});
    }
    int n = 0;
    for (Quark p : h.Children(procs)) {
      uint64_t cr3 = 0;
      const bool parsed = ParseCr3Text(h.Name(p), &cr3);
      std::string label = parsed ? LatestProcessLabel(naming, cr3) : "";
      if (label.empty()) label = "CR3 " + h.Name(p);
      int64_t parent = int64_t(owner);
      if (parsed) {
        auto c = container_row.find(LatestContainer(naming, cr3));
        if (c != container_row.end() && c->second != 0) parent = c->second;
      }
      m->entries.push_back(
          {int64_t(p), parent, {label, prefix + std::to_string(++n)}, true});
      auto threads = h.Child(p, "Threads");
      if (!threads) continue;
      for (Quark t : h.Children(*threads)) {
        m->entries.push_back({int64_t(t), int64_t(p), {h.Name(t), ""}, true});
      }
    }
  }

  // The vCPU a process was last current on, before `time`.
  static StateValue LastBefore(const StateHistory& h, Quark proc,
                               int64_t time) {
    auto q = h.Child(proc, "vCPU");
    if (!q) return {};
    auto r = h.QueryRange(*q, INT64_MIN, time);
    if (!r.ok()) return {};
    for (auto it = r->rbegin(); it != r->rend(); ++it) {
      if (!it->value.is_null()) return it->value;
    }
    return {};
  }

  // Process rows (.../Processes/<cr3>) and thread rows (.../Threads/<sp>).
  bool IsRow(int64_t id) const {
    const StateHistory& h = vm_->history();
    if (id <= 0 || id >= int64_t(h.AttributeCount())) return false;
    const std::string parent = h.Name(h.Parent(Quark(id)));
    if (parent == "Processes") return true;
    return parent == "Threads" &&
           h.Name(h.Parent(h.Parent(h.Parent(Quark(id))))) == "Processes";
  }

  const vm::VmModule* vm_;
  std::shared_ptr<vm::GuestNamesSource> names_;
  TreeCache cache_;
};

}  // namespace

std::unique_ptr<TimeGraphProvider> MakeVirtualProcessesProvider(
    const vm::VmModule* vm, std::shared_ptr<vm::GuestNamesSource> names) {
  if (!names) names = std::make_shared<vm::GuestNamesSource>();
  return std::make_unique<VirtualProcessesProvider>(vm, std::move(names));
}

}  // namespace vmtrace::tsp
