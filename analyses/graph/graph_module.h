// GraphModule: the execution graph (graph_model.h) as an analysis of the
// single pass. With a directory, the graph is off the heap: during the pass
// its arrays keep only their last `spill_chunk` elements in memory, the
// older ones going to <dir>/graph.spill; Finish() writes <dir>/graph.bin
// (graph_store.h) from both, removes the spill file and maps graph.bin, so
// the server's memory does not grow with the trace. An experiment reopened
// later maps graph.bin instead of reading the trace again.
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
  static constexpr size_t kSpillChunk = 4096;

  static std::unique_ptr<GraphModule> Open(
      const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
      const std::string& dir, const std::string& fingerprint,
      vm::VmOptions vectors = {}, size_t spill_chunk = kSpillChunk) {
    const std::string fp = fingerprint + "|vm:" + vectors.Fingerprint();
    auto m = std::make_unique<GraphModule>(traces, std::move(vectors));
    m->path_ = dir.empty() ? std::string() : dir + "/graph.bin";
    m->fingerprint_ = fp;
    if (m->path_.empty()) return m;
    if (LoadGraph(m->path_, fp, &m->model_.mutable_graph()).ok()) {
      m->complete_.store(true);
      return m;
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    m->spill_path_ = dir + "/graph.spill";
    // Without a spill file the graph stays on the heap (still correct).
    if (!m->model_.SpillTo(m->spill_path_, spill_chunk).ok()) {
      m->spill_path_.clear();
    }
    return m;
  }

  ~GraphModule() override {
    if (!spill_path_.empty()) {
      std::error_code ec;
      std::filesystem::remove(spill_path_, ec);
    }
  }

  std::string id() const override { return kId; }
  bool needs_pass() const override { return !complete_.load(); }
  void OnEvent(const events::TypedEvent& ev) override { model_.OnEvent(ev); }
  void Publish(int64_t) override {}
  Status Finish(int64_t end_time) override {
    model_.Finish(end_time);
    if (path_.empty()) {
      complete_.store(true);
      return Status::Ok();
    }
    std::error_code ec;
    std::filesystem::create_directories(
        std::filesystem::path(path_).parent_path(), ec);
    Status st = model_.spill_status();
    if (st.ok()) {
      st = SaveGraph(model_.graph(), path_, fingerprint_, model_.spill_fd());
    }
    // From here on the graph is the mapped file (nobody reads it before
    // complete()).
    if (st.ok()) st = LoadGraph(path_, fingerprint_, &model_.mutable_graph());
    if (!st.ok()) {
      // Not saved: the graph stays whole in memory, as without a directory.
      std::filesystem::remove(path_, ec);
      Status back = model_.Unspill();
      if (!back.ok()) st = back;
    }
    if (!spill_path_.empty()) {
      std::filesystem::remove(spill_path_, ec);
      spill_path_.clear();
    }
    complete_.store(true);
    return st;
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
  std::string path_, fingerprint_, spill_path_;
};

}  // namespace vmtrace::graph

#endif  // VMTRACE_ANALYSES_GRAPH_GRAPH_MODULE_H_
