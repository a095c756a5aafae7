// The style of a time-graph state and the WAIT_* palette shared by the VM
// model's time graphs (Virtual CPUs, Virtual Processes): one wake-up
// reason looks the same wherever it is drawn (vm-analyses.md (d).1).
#ifndef VMTRACE_TSP_OUTPUTS_WAIT_STYLES_H_
#define VMTRACE_TSP_OUTPUTS_WAIT_STYLES_H_

#include <nlohmann/json.hpp>

#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

// An OutputElementStyle's values: style name, colour ("#RRGGBB"), height
// (a fraction of the row).
inline nlohmann::json StateStyle(const char* name, const char* color,
                                 double height) {
  return nlohmann::json{
      {"style-name", name}, {"background-color", color}, {"height", height}};
}

// Adds WAIT_TIMER, WAIT_DISK, WAIT_NET, WAIT_TASK and WAIT_UNKNOWN.
inline void AddWaitStyles(StyleMap* m) {
  (*m)["WAIT_TIMER"] = StateStyle("Waiting for a timer", "#336699", 0.5);
  (*m)["WAIT_DISK"] = StateStyle("Waiting for the disk", "#6600CC", 0.5);
  (*m)["WAIT_NET"] = StateStyle("Waiting for the network", "#FF9BFF", 0.5);
  (*m)["WAIT_TASK"] = StateStyle("Waiting for another task", "#6666CC", 0.5);
  (*m)["WAIT_UNKNOWN"] = StateStyle("Waiting (unknown reason)", "#DC143C", 0.5);
}

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_WAIT_STYLES_H_
