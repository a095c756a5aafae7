// The kernel model's outputs: Thread Status and Resources (time graphs) and
// CPU Usage (XY). Entry ids are the quarks of the kernel state history, so
// they are stable across restarts and unique across hosts.
#ifndef VMTRACE_TSP_OUTPUTS_KERNEL_KERNEL_PROVIDERS_H_
#define VMTRACE_TSP_OUTPUTS_KERNEL_KERNEL_PROVIDERS_H_

#include <memory>

#include "analyses/kernel/kernel_module.h"
#include "tsp/outputs/output_family.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

inline constexpr char kThreadStatusId[] = "vmtrace.kernel.thread_status";
inline constexpr char kResourcesId[] = "vmtrace.kernel.resources";
inline constexpr char kCpuUsageId[] = "vmtrace.kernel.cpu_usage";

// `kernel` must outlive the providers; `exp_start`/`exp_end` give the
// entries' extent.
std::unique_ptr<TimeGraphProvider> MakeThreadStatusProvider(
    const kernel::KernelModule* kernel);
std::unique_ptr<TimeGraphProvider> MakeResourcesProvider(
    const kernel::KernelModule* kernel);
std::unique_ptr<XyProvider> MakeCpuUsageProvider(
    const kernel::KernelModule* kernel);

// The family: Thread Status, Resources and CPU Usage of the kernel module.
std::unique_ptr<OutputFamily> KernelOutputs();

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_KERNEL_KERNEL_PROVIDERS_H_
