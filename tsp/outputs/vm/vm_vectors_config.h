// The "VM interrupt vectors" configuration type: per-VM overrides of the
// injected-vector -> wake-up-reason map, for guests whose kernel uses other
// vectors than Linux's defaults (timer 236/238/239, IPIs 251-253; disk and
// net are learnt from the trace). Created through TSP global configuration
// (POST /config/types/vmtrace.vm.vectors/configs); every experiment's VM
// analysis is rebuilt with the rules when they change.
#ifndef VMTRACE_TSP_OUTPUTS_VM_VM_VECTORS_CONFIG_H_
#define VMTRACE_TSP_OUTPUTS_VM_VM_VECTORS_CONFIG_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analyses/vm/vm_model.h"
#include "base/status.h"
#include "storage/registry.h"

namespace vmtrace::tsp {

inline constexpr char kVmVectorsTypeId[] = "vmtrace.vm.vectors";

// One configuration: which VMs it applies to, and the vectors of each
// reason. An empty list keeps the default for that reason.
struct VectorRule {
  std::string host;            // empty: every host
  std::optional<int64_t> pid;  // absent: every VM of the host
  std::vector<int> timer, task, disk, net;
};

// The ConfigurationSourceType JSON (id, name, description, schema).
nlohmann::json VmVectorsConfigType();

// Validates `parameters` against the schema; InvalidArgument names the bad
// parameter ("Invalid query parameters: timer").
StatusOr<VectorRule> ParseVectorRule(const nlohmann::json& parameters);

// The VM analyses' options from the stored global configurations: every
// kVmVectorsTypeId rule, merged per "<host>/<pid>" key (a damaged one is
// skipped: rules are validated when stored).
vm::VmOptions VmOptionsFromConfigs(
    const std::vector<storage::ConfigRecord>& configs);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_VM_VM_VECTORS_CONFIG_H_
