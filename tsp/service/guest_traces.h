// The guest traces of an experiment (module_registry.h ModuleTraces): once
// the pass is over, in the background, they are mapped onto the VMs' CR3s
// from the VM store (analyses/guest/guest_map.h) and the result is handed
// to the experiment's names (GuestNamesSource::SetTraced). Each trace's
// report is a property of the experiment ("guest trace <name>": matched VM,
// clock alignment, figures, or why it was not used) and is readable here.
#ifndef VMTRACE_TSP_SERVICE_GUEST_TRACES_H_
#define VMTRACE_TSP_SERVICE_GUEST_TRACES_H_

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "analyses/guest/guest_report.h"
#include "analyses/index/experiment_index.h"
#include "analyses/vm/guest_names.h"

namespace vmtrace::tsp {

// Starts the background job (no thread when the experiment has no guest
// trace: `reports` is then done at once). The returned thread stops early
// when asked (the experiment closes); join it before `index` goes.
std::jthread StartGuestTraces(index::ExperimentIndex* index,
                              std::shared_ptr<vm::GuestNamesSource> names,
                              std::shared_ptr<vm::GuestTraceReports> reports);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_SERVICE_GUEST_TRACES_H_
