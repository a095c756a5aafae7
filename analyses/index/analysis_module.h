// AnalysisModule: one analysis fed by the experiment's single indexing pass.
//
// The pass reads and decodes every event once (events/event_decoder.h) and
// hands the typed record to every module that needs it (reader -> decoder
// -> per-kind handlers of each module -> state builder -> store).
// A module whose stored results are complete and current says so through
// needs_pass(); it is then not fed, and if no module and not the index needs
// a pass, the trace is not read at all.
#ifndef VMTRACE_ANALYSES_INDEX_ANALYSIS_MODULE_H_
#define VMTRACE_ANALYSES_INDEX_ANALYSIS_MODULE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/events/typed_event.h"
#include "base/status.h"

namespace vmtrace::index {

class AnalysisModule {
 public:
  virtual ~AnalysisModule() = default;
  virtual std::string id() const = 0;
  // True if this module must be fed by the pass (nothing stored yet, an
  // interrupted store, or a store of another version or trace).
  virtual bool needs_pass() const = 0;
  // Called in rank order, always on the same thread (the module's consumer
  // thread when the pass is pipelined, module_feed.h).
  virtual void OnEvent(const events::TypedEvent& ev) = 0;
  // Called on the same thread as OnEvent every few thousand events with the
  // time of the last event fed, so readers see partial results while the
  // pass runs.
  virtual void Publish(int64_t now) = 0;
  // Called once after the last event of a complete pass (on the same
  // thread as OnEvent).
  virtual Status Finish(int64_t end_time) = 0;
  // Anomalies to report in the experiment's properties ("kernel.x" -> "3").
  virtual std::vector<std::pair<std::string, std::string>> Stats() const {
    return {};
  }
};

// Builds the modules of an experiment once its CTF traces are open.
using ModuleFactory =
    std::function<StatusOr<std::vector<std::unique_ptr<AnalysisModule>>>(
        const std::vector<std::shared_ptr<const ctf::Trace>>& traces)>;

}  // namespace vmtrace::index

#endif  // VMTRACE_ANALYSES_INDEX_ANALYSIS_MODULE_H_
