// OutputFamily: a group of outputs made from the same analysis modules
// (kernel, VM, critical path, events). Each family says which modules it
// needs and makes its providers once the experiment's index is open; the
// service holds the list of families (tsp/service/output_registry.cc) and
// knows none of them. Adding an output: README.md, "To add an output".
#ifndef VMTRACE_TSP_OUTPUTS_OUTPUT_FAMILY_H_
#define VMTRACE_TSP_OUTPUTS_OUTPUT_FAMILY_H_

#include <memory>
#include <string>
#include <vector>

#include "analyses/guest/guest_report.h"
#include "analyses/index/experiment_index.h"
#include "analyses/vm/guest_names.h"
#include "base/status.h"
#include "storage/registry.h"
#include "tsp/outputs/output_set.h"

namespace vmtrace::tsp {

// What a family gets from the opened experiment. Everything outlives the
// providers it makes (they close with the experiment).
struct OutputContext {
  const index::ExperimentIndex* index = nullptr;
  std::string experiment_name;
  std::vector<std::string> trace_names;  // one per trace of the experiment
  // The global configurations (Registry::ListConfigs), e.g. the VM
  // interrupt vectors.
  const storage::Registry* registry = nullptr;
  // The experiment's data directory (outputs that keep stores of their own
  // put them below it; empty: keep them in memory) and the fingerprint of
  // its traces.
  std::string store_dir;
  std::string fingerprint;
  // The experiment's guest names (hand-given and from guest traces);
  // never null. Read when drawing, never when building a store.
  std::shared_ptr<vm::GuestNamesSource> names =
      std::make_shared<vm::GuestNamesSource>();
  // What became of its guest traces (done at once when it has none); null
  // when the caller maps no guest traces.
  std::shared_ptr<const vm::GuestTraceReports> guest_reports;
  // The experiment's view clock (view_clock.h); the OutputSet already
  // wraps time graphs, XY and data trees in it: outputs whose lines carry
  // times of their own (the events table) use it directly. Never null.
  std::shared_ptr<const ViewClock> clock = std::make_shared<ViewClock>();
};

// The module of type T (T::kId) among the index's modules; null if it was
// not opened for this experiment.
template <typename T>
const T* FindModule(const index::ExperimentIndex& index) {
  for (const auto& m : index.modules()) {
    if (m->id() == T::kId) return dynamic_cast<const T*>(m.get());
  }
  return nullptr;
}

class OutputFamily {
 public:
  virtual ~OutputFamily() = default;
  // Ids of the modules (AnalysisModule::id()) the family needs: it makes
  // nothing for an experiment that lacks one (e.g. no VM outputs without a
  // KVM host).
  virtual std::vector<std::string> modules() const = 0;
  // Adds the family's providers to `out`.
  virtual Status Make(const OutputContext& ctx, OutputSet* out) const = 0;
};

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_OUTPUT_FAMILY_H_
