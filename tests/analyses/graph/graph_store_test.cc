// The execution graph saved at the end of a pass loads back identical, and
// a file from other traces, another version, or a damaged file is refused
// (so the graph is rebuilt, never trusted).
#include "analyses/graph/graph_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "analyses/events/event_decoder.h"
#include "analyses/graph/graph_module.h"

namespace vmtrace::graph {
namespace {

namespace fs = std::filesystem;

void ExpectSameGraph(const ExecGraph& a, const ExecGraph& b) {
  EXPECT_EQ(a.hosts, b.hosts);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.begin, b.begin);
  EXPECT_EQ(a.end, b.end);
  EXPECT_EQ(a.host_end, b.host_end);
  ASSERT_EQ(a.threads.size(), b.threads.size());
  for (size_t i = 0; i < a.threads.size(); ++i) {
    EXPECT_EQ(a.threads[i].host, b.threads[i].host);
    EXPECT_EQ(a.threads[i].tid, b.threads[i].tid);
    ASSERT_EQ(a.threads[i].edges.size(), b.threads[i].edges.size());
    for (size_t k = 0; k < a.threads[i].edges.size(); ++k) {
      EXPECT_EQ(a.threads[i].edges[k].ts, b.threads[i].edges[k].ts);
      EXPECT_EQ(a.threads[i].edges[k].cause, b.threads[i].edges[k].cause);
    }
  }
  EXPECT_EQ(a.thread_of, b.thread_of);
  ASSERT_EQ(a.host_wakes.size(), b.host_wakes.size());
  for (size_t i = 0; i < a.host_wakes.size(); ++i) {
    EXPECT_EQ(a.host_wakes[i].ts, b.host_wakes[i].ts);
    EXPECT_EQ(a.host_wakes[i].waker, b.host_wakes[i].waker);
    EXPECT_EQ(a.host_wakes[i].wakee, b.host_wakes[i].wakee);
  }
  ASSERT_EQ(a.guests.size(), b.guests.size());
  for (auto ia = a.guests.begin(), ib = b.guests.begin(); ia != a.guests.end();
       ++ia, ++ib) {
    EXPECT_FALSE(ia->first < ib->first || ib->first < ia->first);
    const GuestWorker& x = ia->second;
    const GuestWorker& y = ib->second;
    ASSERT_EQ(x.wakes.size(), y.wakes.size());
    for (size_t k = 0; k < x.wakes.size(); ++k) {
      EXPECT_EQ(x.wakes[k].inj_ts, y.wakes[k].inj_ts);
      EXPECT_EQ(x.wakes[k].wake_ts(), y.wakes[k].wake_ts());
      EXPECT_EQ(x.wakes[k].vector, y.wakes[k].vector);
      EXPECT_EQ(x.wakes[k].source_tid, y.wakes[k].source_tid);
      EXPECT_EQ(x.wakes[k].waker_cr3, y.wakes[k].waker_cr3);
      EXPECT_EQ(x.wakes[k].ipi, y.wakes[k].ipi);
      EXPECT_EQ(x.wakes[k].device, y.wakes[k].device);
      EXPECT_EQ(x.wakes[k].vcpu, y.wakes[k].vcpu);
      EXPECT_EQ(x.wakes[k].kept, y.wakes[k].kept);
      EXPECT_EQ(x.wakes[k].net_host, y.wakes[k].net_host);
      if (x.wakes[k].net_host >= 0) {
        EXPECT_EQ(x.wakes[k].accept_ts(), y.wakes[k].accept_ts());
        EXPECT_EQ(x.wakes[k].net_pid, y.wakes[k].net_pid);
        EXPECT_EQ(x.wakes[k].net_cr3, y.wakes[k].net_cr3);
        EXPECT_EQ(x.wakes[k].net_kick_ts, y.wakes[k].net_kick_ts);
      }
    }
    EXPECT_EQ(x.kicks, y.kicks);
    EXPECT_EQ(x.hyp_entries, y.hyp_entries);
  }
}

// nested-vm exercises host threads, IPIs, device wake-ups and the L1
// hypervisor's entries; two-hosts-net the network messages across hosts.
class GraphStoreTest : public testing::TestWithParam<const char*> {};

TEST_P(GraphStoreTest,
       SavedGraphLoadsIdenticalAndStaleOrDamagedFilesAreRefused) {
  const std::string name = GetParam();
  fs::path tmp = fs::temp_directory_path() /
                 ("vmtrace-graph-store-" + name + std::to_string(getpid()));
  fs::remove_all(tmp);
  const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                          VMTRACE_GEN_SCENARIOS + "/" + name + ".json --out " +
                          (tmp / "trace").string() + " --seed 1 --no-truth" +
                          " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<std::shared_ptr<const ctf::Trace>> traces;
  for (const auto& e : fs::directory_iterator(tmp / "trace")) {
    if (e.is_directory()) traces.push_back(ctf::Trace::Open(e.path()).value());
  }
  ASSERT_FALSE(traces.empty());

  // A module with nothing saved needs the pass, and saves at Finish().
  // Spilled in runs of 3 elements during the pass (graph_module.h): the
  // saved graph must equal the one built in memory only.
  const std::string dir = (tmp / "graph").string();
  auto built = GraphModule::Open(traces, dir, "fp-1", {}, /*spill_chunk=*/3);
  auto memory = GraphModule::Open(traces, "", "fp-1");
  ASSERT_TRUE(built->needs_pass());
  auto reader = ctf::EventReader::Open(traces).value();
  ctf::Event ev;
  events::EventDecoder decoder(traces);
  events::TypedEvent rec;
  int64_t last = 0;
  while (reader->Next(&ev)) {
    decoder.Decode(ev, &rec);
    built->OnEvent(rec);
    memory->OnEvent(rec);
    last = ev.timestamp;
  }
  EXPECT_TRUE(fs::exists(dir + "/graph.spill"));
  ASSERT_TRUE(built->Finish(last).ok());
  ASSERT_TRUE(memory->Finish(last).ok());
  ASSERT_GT(built->graph().guests.size(), 0u);
  ExpectSameGraph(memory->graph(), built->graph());
  EXPECT_FALSE(fs::exists(dir + "/graph.spill"));
  // Off the heap: the arrays are views of the mapped file.
  EXPECT_NE(built->graph().mapping, nullptr);
  EXPECT_LT(built->graph().MemoryBytes(), memory->graph().MemoryBytes());

  // Reopened for the same traces: loaded, no pass, the same graph.
  auto loaded = GraphModule::Open(traces, dir, "fp-1");
  EXPECT_FALSE(loaded->needs_pass());
  EXPECT_TRUE(loaded->complete());
  ExpectSameGraph(built->graph(), loaded->graph());

  if (name == "two-hosts-net") {
    size_t matched = 0;
    for (const auto& [k, w] : loaded->graph().guests) {
      for (const GuestWake& x : w.wakes) matched += x.net_host >= 0;
    }
    EXPECT_GT(matched, 10u) << "packets matched across the hosts";
  }
  // Other vector maps: the IPIs may differ, rebuilt.
  vm::VmOptions other;
  other.vectors["*/*"].task = {250};
  EXPECT_TRUE(GraphModule::Open(traces, dir, "fp-1", other)->needs_pass());
  // Other traces (fingerprint): refused, rebuilt.
  EXPECT_TRUE(GraphModule::Open(traces, dir, "fp-2")->needs_pass());
  ExecGraph g;
  const std::string fp1 = "fp-1|vm:" + vm::VmOptions().Fingerprint();
  EXPECT_EQ(LoadGraph(dir + "/graph.bin", "fp-2", &g).code(),
            StatusCode::kDataLoss);
  // A truncated file: refused.
  fs::resize_file(dir + "/graph.bin", fs::file_size(dir + "/graph.bin") / 2);
  EXPECT_EQ(LoadGraph(dir + "/graph.bin", fp1, &g).code(),
            StatusCode::kDataLoss);
  EXPECT_TRUE(GraphModule::Open(traces, dir, "fp-1")->needs_pass());
  // No file: NotFound.
  EXPECT_EQ(LoadGraph(dir + "/none.bin", "fp-1", &g).code(),
            StatusCode::kNotFound);
  fs::remove_all(tmp);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, GraphStoreTest,
                         testing::Values("nested-vm", "two-hosts-net"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace vmtrace::graph
