// Virtual Processes: guest processes by CR3 (vm-semantics §4) under their
// VM, their threads by kernel-stack prefix, and the L2 processes under
// their nested VM.
#include <algorithm>
#include <mutex>
#include <optional>

#include "analyses/vm/vm_layout.h"
#include "storage/state_queries.h"
#include "tsp/outputs/state_rows.h"
#include "tsp/outputs/tree_cache.h"
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

class VirtualProcessesProvider : public TimeGraphProvider {
 public:
  explicit VirtualProcessesProvider(const vm::VmModule* vm) : vm_(vm) {}

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
    return cache_.Get(complete, start, end, [this, complete](int64_t, int64_t) {
      return Compute(complete);
    });
  }

  // Every entry spans the request.
  StatusOr<TreeModel> Compute(bool complete) const {
    const StateHistory& h = vm_->history();
    TreeModel m;
    m.headers = {"Name", "Id"};
    bool has_process = false;
    for (Quark host : h.Children(storage::kRootQuark)) {
      auto vms = h.Child(host, "VMs");
      if (!vms) continue;
      m.entries.push_back({int64_t(host), -1, {h.Name(host), ""}});
      for (Quark vmq : h.Children(*vms)) {
        std::string label = "VM " + h.Name(vmq);
        StateValue name = Last(h, h.Child(vmq, "Name"));
        if (!name.is_null()) label += " " + name.s;
        m.entries.push_back({int64_t(vmq), int64_t(host), {label, ""}});
        if (auto procs = h.Child(vmq, "Processes")) {
          AddProcesses(h, *procs, int64_t(vmq), "P", &m);
          has_process = has_process || !h.Children(*procs).empty();
        }
        auto nested = h.Child(vmq, "Nested");
        if (!nested) continue;
        for (Quark n : h.Children(*nested)) {
          m.entries.push_back(
              {int64_t(n), int64_t(vmq), {"Nested VM " + h.Name(n), ""}});
          if (auto procs = h.Child(n, "Processes")) {
            AddProcesses(h, *procs, int64_t(n), "L2-P", &m);
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
  // Processes in creation order get short ids P1, P2, ... (stable: the
  // pass is deterministic).
  static void AddProcesses(const StateHistory& h, Quark procs, int64_t parent,
                           const std::string& prefix, TreeModel* m) {
    int n = 0;
    for (Quark p : h.Children(procs)) {
      m->entries.push_back({int64_t(p),
                            parent,
                            {"CR3 " + h.Name(p), prefix + std::to_string(++n)},
                            true});
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
  TreeCache cache_;
};

}  // namespace

std::unique_ptr<TimeGraphProvider> MakeVirtualProcessesProvider(
    const vm::VmModule* vm) {
  return std::make_unique<VirtualProcessesProvider>(vm);
}

}  // namespace vmtrace::tsp
