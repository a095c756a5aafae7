// The "Trace check" output (TABLE, id vmtrace.check) and the `check.*` keys
// of the experiment's properties: which analyses can run on the
// experiment's traces, why not, and the recording that fixes each gap
// (analyses/check/trace_check.h). Present in every experiment; RUNNING
// until the pass has counted the lost events and fitted the clocks.
#ifndef VMTRACE_TSP_OUTPUTS_CHECK_CHECK_OUTPUTS_H_
#define VMTRACE_TSP_OUTPUTS_CHECK_CHECK_OUTPUTS_H_

#include <memory>

#include "analyses/check/trace_check.h"
#include "tsp/outputs/output_family.h"

namespace vmtrace::tsp {

inline constexpr char kTraceCheckId[] = "vmtrace.check";

// Needs no module (it reports the ones that cannot run). Its input: the
// traces' metadata, the lost events the pass counted (kept in the index's
// properties, index::DiscardedEventsOf) and the clock sync once computed.
std::unique_ptr<OutputFamily> CheckOutputs();

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_CHECK_CHECK_OUTPUTS_H_
