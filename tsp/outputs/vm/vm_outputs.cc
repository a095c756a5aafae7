// The VM output family (vm_providers.h).
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
        v, FindModule<kernel::KernelModule>(*ctx.index)));
    out->Add(MakeVirtualProcessesProvider(v));
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
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<OutputFamily> VmOutputs() {
  return std::make_unique<VmFamily>();
}

}  // namespace vmtrace::tsp
