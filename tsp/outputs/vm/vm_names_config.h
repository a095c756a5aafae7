// The "VM names" configuration type (vmtrace.vm.names): names given by
// hand to a VM, its guest processes (by CR3) and their containers, for
// host-only traces that cannot know them. One configuration names one VM:
//
//   {"host": "host-a", "pid": 2000, "name": "shop",
//    "containers": {"web": "Web front"},
//    "processes": [{"cr3": "0x11a000", "name": "nginx", "pid": 812,
//                   "container": "web", "begin": 0, "end": 5000000}],
//    "nested": [{"hypervisor_cr3": "0x5000", "name": "l2vm",
//                "containers": [...], "processes": [...]}]}
//
// Only host and pid are required. A CR3 is a string "0x.." (or a
// non-negative integer) and is kept canonical (vm::CanonicalCr3: PCID and
// KPTI bits masked). "containers" maps a container id to its display name;
// a process's container is a container id, declared there or not (then
// shown by its id). begin/end (ns, host clock)
// bound a name to a time range for a reused CR3; two processes of one
// configuration may not hold one CR3 at once.
//
// Created through TSP global configuration (POST
// /config/types/vmtrace.vm.names/configs). Unlike the vector maps, names
// are applied when outputs are drawn: a change is handed to every open
// experiment (GuestNamesSource::SetHand) and rebuilds nothing.
#ifndef VMTRACE_TSP_OUTPUTS_VM_VM_NAMES_CONFIG_H_
#define VMTRACE_TSP_OUTPUTS_VM_VM_NAMES_CONFIG_H_

#include <nlohmann/json.hpp>
#include <vector>

#include "analyses/vm/guest_names.h"
#include "base/status.h"
#include "storage/registry.h"

namespace vmtrace::tsp {

inline constexpr char kVmNamesTypeId[] = "vmtrace.vm.names";

// The ConfigurationSourceType JSON (id, name, description, schema).
nlohmann::json VmNamesConfigType();

// Validates `parameters` (one VM's names) against the schema: the names of
// that one VM. InvalidArgument names the bad parameter by its path
// ("Invalid query parameters: processes[1].cr3"); a missing host or pid is
// "Missing query parameters: host".
StatusOr<vm::GuestNames> ParseVmNames(const nlohmann::json& parameters);

// Every stored kVmNamesTypeId configuration merged, in the registry's order
// (a later one wins for a field both set; a damaged one is skipped: they
// are validated when stored).
vm::GuestNames GuestNamesFromConfigs(
    const std::vector<storage::ConfigRecord>& configs);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_VM_VM_NAMES_CONFIG_H_
