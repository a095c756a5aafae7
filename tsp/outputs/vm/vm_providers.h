// The VM model's time graphs: Virtual CPUs (Host -> VM -> vCPU -> nested VM
// -> nested vCPU) and Virtual Processes (Host -> VM -> [container ->] guest
// process -> threads; VM -> nested VM -> [container ->] L2 process). Entry
// ids are quarks of the VM state history (stable across restarts, unique
// across hosts), except a nested-VM group under vCPU n, whose id is
// ((n + 1) << 32) | its quark, and a container row, whose id is
// 2^52 | (the VM's or nested VM's quark << 12) | its rank among that VM's
// containers (all still < 2^53).
#ifndef VMTRACE_TSP_OUTPUTS_VM_VM_PROVIDERS_H_
#define VMTRACE_TSP_OUTPUTS_VM_VM_PROVIDERS_H_

#include <memory>

#include "analyses/kernel/kernel_module.h"
#include "analyses/vm/vm_module.h"
#include "tsp/outputs/output_family.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

inline constexpr char kVirtualCpusId[] = "vmtrace.vm.virtual_cpus";
inline constexpr char kVirtualProcessesId[] = "vmtrace.vm.virtual_processes";

// `vm` must outlive the providers; `kernel` (may be null) names the host
// threads in tooltips. `names` (null: none) are the experiment's guest
// names, read whenever a tree or tooltip is drawn: VMs show their name,
// guest processes "name (pid)" under VM -> container -> process, tooltips
// the CR3's holder at the hovered time and its container.
std::unique_ptr<TimeGraphProvider> MakeVirtualCpusProvider(
    const vm::VmModule* vm, const kernel::KernelModule* kernel,
    std::shared_ptr<vm::GuestNamesSource> names = nullptr);
std::unique_ptr<TimeGraphProvider> MakeVirtualProcessesProvider(
    const vm::VmModule* vm,
    std::shared_ptr<vm::GuestNamesSource> names = nullptr);

// The family: Virtual CPUs, Virtual Processes and the VM statistics
// (vm_stats_providers.h) of the VM module, which only KVM hosts have.
std::unique_ptr<OutputFamily> VmOutputs();

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_VM_VM_PROVIDERS_H_
