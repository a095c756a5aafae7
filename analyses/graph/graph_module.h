// GraphModule: the execution graph (graph_model.h) as an analysis of the
// single pass. The graph lives in memory (compact vectors of PODs), so a
// freshly opened experiment always needs the pass for it; complete() tells
// readers when the graph is final (critical paths are computed only then).
#ifndef VMTRACE_ANALYSES_GRAPH_GRAPH_MODULE_H_
#define VMTRACE_ANALYSES_GRAPH_GRAPH_MODULE_H_

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "analyses/graph/graph_model.h"
#include "analyses/index/analysis_module.h"

namespace vmtrace::graph {

class GraphModule : public index::AnalysisModule {
 public:
  static constexpr char kId[] = "graph";

  explicit GraphModule(
      const std::vector<std::shared_ptr<const ctf::Trace>>& traces)
      : model_(traces) {}

  std::string id() const override { return kId; }
  bool needs_pass() const override { return !complete_.load(); }
  void OnEvent(const ctf::Event& ev) override { model_.OnEvent(ev); }
  void Publish(int64_t) override {}
  Status Finish(int64_t end_time) override {
    model_.Finish(end_time);
    complete_.store(true);
    return Status::Ok();
  }
  std::vector<std::pair<std::string, std::string>> Stats() const override {
    return {{"graph.bytes", std::to_string(model_.graph().MemoryBytes())}};
  }

  // Valid to read once complete() (the pass thread no longer writes).
  bool complete() const { return complete_.load(); }
  const ExecGraph& graph() const { return model_.graph(); }

 private:
  GraphModel model_;
  std::atomic<bool> complete_{false};
};

}  // namespace vmtrace::graph

#endif  // VMTRACE_ANALYSES_GRAPH_GRAPH_MODULE_H_
