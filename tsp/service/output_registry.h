// The output families every experiment gets, in one list
// (output_registry.cc): adding an output family is one line there.
#ifndef VMTRACE_TSP_SERVICE_OUTPUT_REGISTRY_H_
#define VMTRACE_TSP_SERVICE_OUTPUT_REGISTRY_H_

#include <memory>
#include <vector>

#include "base/status.h"
#include "tsp/outputs/output_family.h"

namespace vmtrace::tsp {

const std::vector<std::unique_ptr<OutputFamily>>& RegisteredOutputs();

// Makes the providers of every registered family whose modules the
// experiment's index has.
Status MakeOutputs(const OutputContext& ctx, OutputSet* out);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_SERVICE_OUTPUT_REGISTRY_H_
