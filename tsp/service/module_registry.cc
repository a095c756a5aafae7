#include "tsp/service/module_registry.h"

#include "analyses/graph/graph_module.h"
#include "analyses/kernel/kernel_module.h"
#include "analyses/sync/sync_module.h"
#include "analyses/vm/vm_module.h"
#include "tsp/outputs/vm/vm_vectors_config.h"

namespace vmtrace::tsp {
namespace {

using ModulePtr = std::unique_ptr<index::AnalysisModule>;

std::string StoreDir(const ModuleContext& ctx, const std::string& id) {
  return ctx.experiment_dir + "/" + id;
}

// The interrupt-vector configurations apply to every experiment; they are
// part of the VM store's fingerprint, so a change rebuilds it.
vm::VmOptions VmOptionsOf(const ModuleContext& ctx) {
  return VmOptionsFromConfigs(ctx.registry->ListConfigs(kVmVectorsTypeId));
}

class KernelRegistration : public ModuleRegistration {
 public:
  std::string id() const override { return kernel::KernelModule::kId; }
  bool Applies(const CtfTraces&) const override { return true; }
  StatusOr<ModulePtr> Open(const CtfTraces& t,
                           const ModuleContext& ctx) const override {
    VMTRACE_ASSIGN_OR_RETURN(
        auto k,
        kernel::KernelModule::Open(t, StoreDir(ctx, id()), ctx.fingerprint));
    return ModulePtr(std::move(k));
  }
};

// Several hosts: their clocks, fitted from matched TCP packets.
class SyncRegistration : public ModuleRegistration {
 public:
  std::string id() const override { return sync::SyncModule::kId; }
  bool Applies(const CtfTraces& t) const override {
    return sync::SyncModule::HostNames(t).size() >= 2;
  }
  StatusOr<ModulePtr> Open(const CtfTraces& t,
                           const ModuleContext& ctx) const override {
    return ModulePtr(
        sync::SyncModule::Open(t, StoreDir(ctx, id()), ctx.fingerprint));
  }
};

// The VM analyses (and their outputs) exist only for traces of a KVM host:
// without entry/exit events they would show empty views.
class VmRegistration : public ModuleRegistration {
 public:
  std::string id() const override { return vm::VmModule::kId; }
  bool Applies(const CtfTraces& t) const override { return IsKvmHost(t); }
  StatusOr<ModulePtr> Open(const CtfTraces& t,
                           const ModuleContext& ctx) const override {
    VMTRACE_ASSIGN_OR_RETURN(
        auto v, vm::VmModule::Open(t, StoreDir(ctx, id()), ctx.fingerprint,
                                   VmOptionsOf(ctx)));
    return ModulePtr(std::move(v));
  }
};

// The execution graph (critical paths) of a KVM host, saved beside the
// other stores so a reopen does not read the trace again.
class GraphRegistration : public ModuleRegistration {
 public:
  std::string id() const override { return graph::GraphModule::kId; }
  bool Applies(const CtfTraces& t) const override { return IsKvmHost(t); }
  StatusOr<ModulePtr> Open(const CtfTraces& t,
                           const ModuleContext& ctx) const override {
    return ModulePtr(graph::GraphModule::Open(
        t, StoreDir(ctx, id()), ctx.fingerprint, VmOptionsOf(ctx)));
  }
};

}  // namespace

bool IsKvmHost(const CtfTraces& traces) {
  for (const auto& trace : traces) {
    for (const ctf::EventClass* cls : trace->event_classes()) {
      const std::string& n = cls->name();
      if (n == "kvm_entry" || n == "kvm_x86_entry" ||
          n == "addons_vcpu_enter_guest") {
        return true;
      }
    }
  }
  return false;
}

std::vector<bool> ModuleTraces(const CtfTraces& traces) {
  std::vector<bool> fed;
  bool any_kvm = false;
  for (const auto& t : traces) {
    fed.push_back(IsKvmHost({t}));
    any_kvm = any_kvm || fed.back();
  }
  // Without a KVM host there is no VM to name: every trace is a host.
  if (!any_kvm) fed.assign(traces.size(), true);
  return fed;
}

const std::vector<std::unique_ptr<ModuleRegistration>>& RegisteredModules() {
  static const auto* modules = [] {
    auto* m = new std::vector<std::unique_ptr<ModuleRegistration>>;
    // One line per module, in pass order.
    m->push_back(std::make_unique<KernelRegistration>());
    m->push_back(std::make_unique<SyncRegistration>());
    m->push_back(std::make_unique<VmRegistration>());
    m->push_back(std::make_unique<GraphRegistration>());
    return m;
  }();
  return *modules;
}

index::ModuleFactory MakeModuleFactory(ModuleContext ctx) {
  return [ctx](const CtfTraces& t)
             -> StatusOr<std::vector<std::unique_ptr<index::AnalysisModule>>> {
    std::vector<std::unique_ptr<index::AnalysisModule>> mods;
    for (const auto& r : RegisteredModules()) {
      if (!r->Applies(t)) continue;
      VMTRACE_ASSIGN_OR_RETURN(auto m, r->Open(t, ctx));
      mods.push_back(std::move(m));
    }
    return mods;
  };
}

}  // namespace vmtrace::tsp
