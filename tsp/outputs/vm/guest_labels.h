// How guest names (analyses/vm/guest_names.h) are shown: the labels and
// tooltip lines Virtual CPUs, Virtual Processes and the critical path share,
// so a VM, process or container reads the same in every output.
#ifndef VMTRACE_TSP_OUTPUTS_VM_GUEST_LABELS_H_
#define VMTRACE_TSP_OUTPUTS_VM_GUEST_LABELS_H_

#include <cstdint>
#include <map>
#include <string>

#include "analyses/vm/guest_names.h"

namespace vmtrace::tsp {

// "0x.." (at most 64 bits) -> *cr3; false otherwise.
bool ParseCr3Text(const std::string& text, uint64_t* cr3);
// "0x1a2000", as the VM store spells a CR3.
std::string Cr3Label(uint64_t cr3);

// "name (pid)", "name" without a pid, "pid <pid>" without a name; empty
// when neither is known.
std::string ProcessLabel(const vm::GuestProcess& p);

// The label of the process holding `cr3` in `naming` (may be null): the
// latest holder's ProcessLabel, or empty (keep the default label).
std::string LatestProcessLabel(const vm::VmNaming* naming, uint64_t cr3);

// The display name of container `id` of `naming`: its name, else the id.
std::string ContainerLabel(const vm::VmNaming& naming, const std::string& id);

// The container of the latest holder of `cr3` (empty: none).
std::string LatestContainer(const vm::VmNaming* naming, uint64_t cr3);

// Tooltip lines for guest CR3 `cr3` of `naming` (may be null) at `time`:
// "Process" (the holder at that time, which may differ from the row's
// label, the latest holder, for a reused CR3), "Container" and "Container
// source". Nothing when the CR3 is not named.
void AddProcessTooltip(const vm::VmNaming* naming, uint64_t cr3, int64_t time,
                       std::map<std::string, std::string>* out);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_VM_GUEST_LABELS_H_
