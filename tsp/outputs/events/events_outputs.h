// The index's outputs, present in every experiment: the Events Table
// (TABLE, paged by the index) and the Histogram (TREE_TIME_XY, events per
// trace over time). Their ids are the reference server's, which both
// viewers look for (tsp.md section 0, item 15).
#ifndef VMTRACE_TSP_OUTPUTS_EVENTS_EVENTS_OUTPUTS_H_
#define VMTRACE_TSP_OUTPUTS_EVENTS_EVENTS_OUTPUTS_H_

#include <memory>

#include "tsp/outputs/output_family.h"

namespace vmtrace::tsp {

inline constexpr char kHistogramId[] =
    "org.eclipse.tracecompass.internal.tmf.core.histogram."
    "HistogramDataProvider";
inline constexpr char kEventsTableId[] =
    "org.eclipse.tracecompass.internal.provisional.tmf.core.model.events."
    "TmfEventTableDataProvider";

// Needs no module: both read the experiment index.
std::unique_ptr<OutputFamily> EventsOutputs();

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_EVENTS_EVENTS_OUTPUTS_H_
