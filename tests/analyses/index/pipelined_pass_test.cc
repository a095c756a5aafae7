// The pipelined pass (index/module_feed.h) gives the same stores as the
// single-threaded one: every interval of the kernel and VM state histories,
// the saved execution graph, the clock sync file and the experiment's
// properties compared byte for byte, on a generated VM scenario (two hosts,
// VMs, packets) and on real traces (tests/data), with batch and publish
// sizes that cut the stream in odd places. Also: a pipelined pass cancelled
// at once stops, and a module failing its Finish does not hang the pass.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "analyses/graph/graph_module.h"
#include "analyses/index/experiment_index.h"
#include "analyses/kernel/kernel_module.h"
#include "analyses/sync/sync_module.h"
#include "analyses/vm/vm_module.h"
#include "index_test_util.h"

namespace vmtrace::index {
namespace {

namespace fs = std::filesystem;

std::string FileBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string PathOf(const storage::StateHistory& h, storage::Quark q) {
  std::string path;
  while (q != storage::kRootQuark) {
    path = "/" + h.Name(q) + path;
    q = h.Parent(q);
  }
  return path;
}

// Every interval of every attribute, as text.
std::string Dump(const storage::StateHistory& h, int64_t start, int64_t end) {
  std::ostringstream out;
  for (storage::Quark q = 1; q < h.AttributeCount(); ++q) {
    out << PathOf(h, q) << "\n";
    auto ivs = h.QueryRange(q, start, end);
    EXPECT_TRUE(ivs.ok());
    if (!ivs.ok()) continue;
    for (const auto& iv : *ivs) {
      out << "  " << iv.start << " " << iv.end << " " << int(iv.value.kind)
          << " " << iv.value.i << " " << iv.value.s << "\n";
    }
  }
  return out.str();
}

ModuleFactory Modules(const std::string& dir, const std::string& fp) {
  return [dir, fp](const std::vector<std::shared_ptr<const ctf::Trace>>& t)
             -> StatusOr<std::vector<std::unique_ptr<AnalysisModule>>> {
    std::vector<std::unique_ptr<AnalysisModule>> mods;
    VMTRACE_ASSIGN_OR_RETURN(
        auto k, kernel::KernelModule::Open(t, dir + "/kernel", fp));
    mods.push_back(std::move(k));
    VMTRACE_ASSIGN_OR_RETURN(auto v, vm::VmModule::Open(t, dir + "/vm", fp));
    mods.push_back(std::move(v));
    mods.push_back(graph::GraphModule::Open(t, dir + "/graph", fp));
    mods.push_back(sync::SyncModule::Open(t, dir + "/sync", fp));
    return mods;
  };
}

// Runs the pass with `feed` and returns everything it stored, as text.
std::string RunAndDump(const std::vector<std::string>& dirs,
                       const std::string& name, FeedOptions feed,
                       uint64_t publish_interval) {
  const std::string dir = TempDir("pipeline-" + name);
  IndexOptions o;
  o.feed = feed;
  o.publish_interval = publish_interval;
  o.modules = Modules(dir, "fp");
  auto idx = ExperimentIndex::Open({dirs}, dir + "/index", o);
  EXPECT_TRUE(idx.ok()) << idx.status().ToString();
  if (!idx.ok()) return "";
  (*idx)->WaitUntilDone();
  const IndexSnapshot snap = (*idx)->Snapshot();
  EXPECT_EQ(snap.state, IndexState::kCompleted) << snap.message;
  std::ostringstream out;
  out << "events " << snap.nb_events << " " << snap.start << " " << snap.end
      << "\n";
  for (const auto& [k, v] : snap.properties) out << k << "=" << v << "\n";
  const auto& mods = (*idx)->modules();
  const auto* k = dynamic_cast<const kernel::KernelModule*>(mods[0].get());
  const auto* v = dynamic_cast<const vm::VmModule*>(mods[1].get());
  out << "kernel\n" << Dump(k->history(), snap.start, snap.end);
  out << "vm\n" << Dump(v->history(), snap.start, snap.end);
  const std::string graph = FileBytes(dir + "/graph/graph.bin");
  EXPECT_GT(graph.size(), 100u);
  const std::string sync = FileBytes(dir + "/sync/sync.json");
  if (dirs.size() > 1) {
    EXPECT_GT(sync.size(), 100u);
  }
  out << "graph " << graph << "sync " << sync;
  idx->reset();
  fs::remove_all(dir);
  return out.str();
}

void ExpectSameInEveryMode(const std::vector<std::string>& dirs,
                           const std::string& name) {
  FeedOptions single;
  single.pipelined = false;
  const std::string want = RunAndDump(dirs, name + "-single", single, 1 << 16);
  ASSERT_GT(want.size(), 1000u);
  FeedOptions defaults;  // as many consumers as cores less one
  EXPECT_EQ(RunAndDump(dirs, name + "-pipelined", defaults, 1 << 16), want);
  FeedOptions per_module;
  per_module.threads = 4;
  EXPECT_EQ(RunAndDump(dirs, name + "-per-module", per_module, 1 << 16), want);
  FeedOptions odd;  // one consumer, tiny batches, publish inside batches
  odd.threads = 1;
  odd.batch_records = 7;
  odd.queue_depth = 1;
  EXPECT_EQ(RunAndDump(dirs, name + "-odd", odd, 1000), want);
  FeedOptions two;
  two.threads = 2;
  two.batch_records = 333;
  EXPECT_EQ(RunAndDump(dirs, name + "-two", two, 4096), want);
}

TEST(PipelinedPassTest, GeneratedVmScenarioStoresAreIdentical) {
  const std::string out = TempDir("pipeline-gen");
  const std::string cmd =
      std::string(VMTRACE_GEN_BIN) + " --scenario " + VMTRACE_GEN_SCENARIOS +
      "/two-hosts-net.json --no-truth --out " + out + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  ExpectSameInEveryMode({out + "/host-c", out + "/host-s"}, "gen");
  fs::remove_all(out);
}

TEST(PipelinedPassTest, RealTracesStoresAreIdentical) {
  ExpectSameInEveryMode({kScpSrc, kScpDest}, "scp");
  ExpectSameInEveryMode(
      {std::string(VMTRACE_TEST_DATA) + "/perf-kvm-tinyguest-2cpu"}, "perf");
}

// A module whose Finish fails: the pass completes and says so.
class FailingModule : public AnalysisModule {
 public:
  std::string id() const override { return "failing"; }
  bool needs_pass() const override { return true; }
  void OnEvent(const events::TypedEvent&) override { ++events_; }
  void Publish(int64_t) override {}
  Status Finish(int64_t) override { return Internal("no space left"); }
  uint64_t events_ = 0;
};

TEST(PipelinedPassTest, AFailingModuleDoesNotHangThePass) {
  IndexOptions o;
  o.modules = [](const auto&)
      -> StatusOr<std::vector<std::unique_ptr<AnalysisModule>>> {
    std::vector<std::unique_ptr<AnalysisModule>> mods;
    mods.push_back(std::make_unique<FailingModule>());
    return mods;
  };
  const std::string dir = TempDir("pipeline-failing");
  auto idx = ExperimentIndex::Open({{kSimpleKernel}}, dir, o);
  ASSERT_TRUE(idx.ok());
  (*idx)->WaitUntilDone();
  const IndexSnapshot snap = (*idx)->Snapshot();
  EXPECT_EQ(snap.state, IndexState::kCompleted);
  EXPECT_EQ(snap.properties.at("analysis.failing.error"), "no space left");
  const auto* m = static_cast<const FailingModule*>((*idx)->modules()[0].get());
  EXPECT_EQ(m->events_, snap.nb_events);
  idx->reset();
  fs::remove_all(dir);
}

TEST(PipelinedPassTest, CancelStopsAPipelinedPass) {
  const std::string dir = TempDir("pipeline-cancel");
  IndexOptions o;
  o.publish_interval = 1;  // the stop is seen at every event
  o.feed.queue_depth = 1;
  o.modules = Modules(dir, "fp");
  auto idx = ExperimentIndex::Open({{kSimpleKernel}}, dir + "/index", o);
  ASSERT_TRUE(idx.ok());
  (*idx)->Cancel();
  (*idx)->WaitUntilDone();
  const IndexState s = (*idx)->Snapshot().state;
  EXPECT_TRUE(s == IndexState::kCancelled || s == IndexState::kCompleted);
  idx->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::index
