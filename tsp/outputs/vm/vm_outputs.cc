// The VM output family (vm_providers.h).
#include "tsp/outputs/table_tree.h"
#include "tsp/outputs/vm/vm_providers.h"
#include "tsp/outputs/vm/vm_stats_providers.h"

namespace vmtrace::tsp {
namespace {

class VmFamily : public OutputFamily {
 public:
  std::vector<std::string> modules() const override {
    return {vm::VmModule::kId};
  }
  Status Make(const OutputContext& ctx, OutputSet* out) const override {
    const auto* v = FindModule<vm::VmModule>(*ctx.index);
    // The kernel module (if any) names the host threads in tooltips.
    out->Add(MakeVirtualCpusProvider(
        v, FindModule<kernel::KernelModule>(*ctx.index), ctx.names));
    out->Add(MakeVirtualProcessesProvider(v, ctx.names));
    // The statistics are computed from the same VM state history.
    const storage::StateHistory* h = &v->history();
    out->Add(MakeVmWaitTableProvider(h));
    out->Add(MakeVmWaitXyProvider(h));
    // Exits and preemptions: aggregates in their own store beside the VM
    // store, built in the background once the history is complete.
    auto events = std::make_shared<const stats::EventStats>(
        h, v->store_dir() + "-events", v->store_fingerprint());
    out->Add(MakeVmExitsTableProvider(events));
    out->Add(MakeVmExitRateProvider(events));
    out->Add(MakeVcpuUsageProvider(h));
    out->Add(MakePreemptionsProvider(events));
    // The same statistics for the viewer's selection (DATA_TREE), rows
    // grouped by host and VM.
    out->Add(MakeTableTree(
        {kVmWaitSelectionId, "VM Wait Analysis (selection)",
         "Wait time by wake-up reason over the selected time range",
         "DATA_TREE"},
        [h](int64_t a, int64_t b) -> StatusOr<TableModel> {
          VMTRACE_ASSIGN_OR_RETURN(auto t,
                                   VmWaitTable(*h, stats::Window{a, b}));
          t.running = !h->complete();
          return t;
        },
        2, 0));
    out->Add(MakeTableTree(
        {kVmExitsSelectionId, "VM Exits (selection)",
         "Exits starting in the selected time range, by reason", "DATA_TREE"},
        [events](int64_t a, int64_t b) {
          return VmExitsTable(*events, a, b - 1);
        },
        2, 0));
    out->Add(MakeTableTree(
        {kPreemptionsSelectionId, "Preemptions (selection)",
         "Preemptions happening in the selected time range, by kind",
         "DATA_TREE"},
        [events](int64_t a, int64_t b) {
          return PreemptionsTable(*events, a, b - 1);
        },
        2, 0));
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<OutputFamily> VmOutputs() {
  return std::make_unique<VmFamily>();
}

}  // namespace vmtrace::tsp
