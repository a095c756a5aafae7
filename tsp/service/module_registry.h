// The analysis modules an experiment's pass can feed (kernel, sync, VM,
// graph), registered once: each says whether an experiment gets it and
// how to open it. The service builds the index's module factory from this
// list and knows no module.
#ifndef VMTRACE_TSP_SERVICE_MODULE_REGISTRY_H_
#define VMTRACE_TSP_SERVICE_MODULE_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/index/analysis_module.h"
#include "base/status.h"
#include "storage/registry.h"

namespace vmtrace::tsp {

using CtfTraces = std::vector<std::shared_ptr<const ctf::Trace>>;

// Where an experiment's modules keep their stores, and their inputs besides
// the traces.
struct ModuleContext {
  std::string experiment_dir;  // each module's store: <dir>/<module id>
  std::string fingerprint;     // of the traces (index::FingerprintTraces)
  // Global configurations (e.g. the VM interrupt vectors); thread-safe.
  const storage::Registry* registry = nullptr;
};

class ModuleRegistration {
 public:
  virtual ~ModuleRegistration() = default;
  virtual std::string id() const = 0;  // AnalysisModule::id()
  // Whether an experiment of these traces gets the module.
  virtual bool Applies(const CtfTraces& traces) const = 0;
  virtual StatusOr<std::unique_ptr<index::AnalysisModule>> Open(
      const CtfTraces& traces, const ModuleContext& ctx) const = 0;
};

// Every module, in the order the pass feeds them.
const std::vector<std::unique_ptr<ModuleRegistration>>& RegisteredModules();

// The index's module factory: every registered module that applies.
index::ModuleFactory MakeModuleFactory(ModuleContext ctx);

// Guest traces (README "Guest traces"): in an experiment with a KVM host
// trace, a CTF trace without any KVM event is taken as a trace recorded
// inside a VM. It is never analysed as a host (no module sees it: the
// host-only views are the same with or without it); the events table and
// the histogram show it, and tsp/service/guest_traces.h maps it onto the
// VMs' CR3s after the pass. Returns, per CTF trace, true if the modules are
// fed it (IndexOptions::module_traces).
std::vector<bool> ModuleTraces(const CtfTraces& traces);

// True if the traces are of a KVM host (they have VM entry events).
bool IsKvmHost(const CtfTraces& traces);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_SERVICE_MODULE_REGISTRY_H_
