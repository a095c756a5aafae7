// GraphModule: the execution graph (graph_model.h) as an analysis of the
// single pass. The graph lives in memory (compact vectors of PODs) and is
// saved to <dir>/graph.bin at the end of the pass (graph_store.h); an
// experiment reopened later loads it instead of reading the trace again.
// complete() tells readers when the graph is final (critical paths are
// computed only then).
#ifndef VMTRACE_ANALYSES_GRAPH_GRAPH_MODULE_H_
#define VMTRACE_ANALYSES_GRAPH_GRAPH_MODULE_H_

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "analyses/graph/graph_model.h"
#include "analyses/graph/graph_store.h"
#include "analyses/index/analysis_module.h"

namespace vmtrace::graph {

class GraphModule : public index::AnalysisModule {
 public:
  static constexpr char kId[] = "graph";

  explicit GraphModule(
      const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
      vm::VmOptions vectors = {})
      : model_(traces, std::move(vectors)) {}

  // Loads <dir>/graph.bin when it was saved for these traces
  // (`fingerprint`), these vector maps (which vectors are IPIs) and this
  // graph version; otherwise the pass builds it and Finish() saves it
  // there. An empty `dir` keeps the graph in memory only.
  static std::unique_ptr<GraphModule> Open(
      const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
      const std::string& dir, const std::string& fingerprint,
      vm::VmOptions vectors = {}) {
    const std::string fp = fingerprint + "|vm:" + vectors.Fingerprint();
    auto m = std::make_unique<GraphModule>(traces, std::move(vectors));
    m->path_ = dir.empty() ? std::string() : dir + "/graph.bin";
    m->fingerprint_ = fp;
    if (!m->path_.empty() &&
        LoadGraph(m->path_, fp, &m->model_.mutable_graph()).ok()) {
      m->complete_.store(true);
    }
    return m;
  }

  std::string id() const override { return kId; }
  bool needs_pass() const override { return !complete_.load(); }
  void OnEvent(const events::TypedEvent& ev) override { model_.OnEvent(ev); }
  void Publish(int64_t) override {}
  Status Finish(int64_t end_time) override {
    model_.Finish(end_time);
    complete_.store(true);
    if (path_.empty()) return Status::Ok();
    std::error_code ec;
    std::filesystem::create_directories(
        std::filesystem::path(path_).parent_path(), ec);
    return SaveGraph(model_.graph(), path_, fingerprint_);
  }
  std::vector<std::pair<std::string, std::string>> Stats() const override {
    return {{"memory_bytes", std::to_string(model_.graph().MemoryBytes())}};
  }

  // Valid to read once complete() (the pass thread no longer writes).
  bool complete() const { return complete_.load(); }
  const ExecGraph& graph() const { return model_.graph(); }

 private:
  GraphModel model_;
  std::atomic<bool> complete_{false};
  std::string path_, fingerprint_;
};

}  // namespace vmtrace::graph

#endif  // VMTRACE_ANALYSES_GRAPH_GRAPH_MODULE_H_
