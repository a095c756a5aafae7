// VM Exits (table and rate) and Preemptions over HTTP on a generated one-VM
// trace: they answer while the experiment indexes (RUNNING, with what is
// flushed) and once it is complete (from the aggregates stored beside the
// VM store, analyses/stats/event_stats.h); a restarted server reuses the
// stored aggregates and answers byte for byte the same.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

class HttpVmEventsTest : public HttpTest {
 protected:
  // The scenario's trace folder, generated once per test (300,000 events,
  // so the first requests usually meet the pass still running).
  std::string Generate(const std::string& scenario) {
    const fs::path out = data_dir_.string() + "-trace";
    fs::remove_all(out);
    const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                            VMTRACE_GEN_SCENARIOS + "/" + scenario +
                            ".json --events 300000 --no-truth --out " +
                            out.string() + " > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    trace_dir_ = out;
    return out.string();
  }
  void TearDown() override {
    HttpTest::TearDown();
    fs::remove_all(trace_dir_);
  }

  std::string TablePath(const std::string& exp, const std::string& id) {
    return Outputs(exp) + "/table/" + id + "/lines";
  }
  // One table page: the status and the model.
  Json Page(const std::string& exp, const std::string& id) {
    auto r =
        Post(TablePath(exp, id), Json{{"parameters",
                                       {{"requested_table_index", 0},
                                        {"requested_table_count", 1000}}}});
    EXPECT_EQ(r ? r->status : 0, 200) << (r ? r->body : "");
    return Body(r);
  }
  Json Rate(const std::string& exp, int64_t start, int64_t end) {
    const std::string base = Outputs(exp) + "/XY/vmtrace.vm.exit_rate/";
    Json tree = Body(Post(base + "tree", Json{{"parameters", Json::object()}}));
    Json items = Json::array();
    if (tree.is_object() && tree["model"].is_object()) {
      for (const Json& e : tree["model"]["entries"]) items.push_back(e["id"]);
    }
    auto r = Post(base + "xy",
                  Json{{"parameters",
                        {{"requested_timerange",
                          {{"start", start}, {"end", end}, {"nbTimes", 200}}},
                         {"requested_items", items}}}});
    EXPECT_EQ(r ? r->status : 0, 200) << (r ? r->body : "");
    return Body(r);
  }

  fs::path trace_dir_;
};

TEST_F(HttpVmEventsTest, TablesAnswerWhileRunningThenFromTheStore) {
  const std::string path = Generate("one-vm-mixed");
  Json t = AddTrace(path, "gen");
  Json e = AddExperiment("gen", {t["UUID"].get<std::string>()});
  ASSERT_TRUE(e.is_object());
  const std::string uuid = e["UUID"];

  // While the pass runs: 200 with the part flushed so far (RUNNING), or
  // already COMPLETED on a fast machine.
  for (const char* id : {"vmtrace.vm.exits_table", "vmtrace.vm.preemptions"}) {
    Json j = Page(uuid, id);
    ASSERT_TRUE(j.is_object());
    EXPECT_TRUE(j["status"] == "RUNNING" || j["status"] == "COMPLETED")
        << j.dump();
    EXPECT_TRUE(j["model"]["lines"].is_array()) << j.dump();
  }
  Json now = Body(Get("/experiments/" + uuid));
  if (now["end"].get<int64_t>() > now["start"].get<int64_t>()) {
    Json running_rate = Rate(uuid, now["start"], now["end"]);
    EXPECT_TRUE(running_rate.is_object());
  }

  Json done = WaitIndexed(uuid);
  ASSERT_EQ(done["indexingStatus"], "COMPLETED");
  const int64_t start = done["start"], end = done["end"];
  Json exits, preemptions;
  // The VM history may complete just after the index: poll the tables.
  for (int i = 0; i < 600; ++i) {
    exits = Page(uuid, "vmtrace.vm.exits_table");
    preemptions = Page(uuid, "vmtrace.vm.preemptions");
    if (exits["status"] == "COMPLETED" && preemptions["status"] == "COMPLETED")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(exits["status"], "COMPLETED");
  ASSERT_EQ(preemptions["status"], "COMPLETED");
  EXPECT_GT(exits["model"]["lines"].size(), 0u);
  // Per VM four kinds, then All VMs.
  EXPECT_EQ(preemptions["model"]["lines"].size() % 4, 0u);
  EXPECT_GE(preemptions["model"]["lines"].size(), 8u);
  Json rate = Rate(uuid, start, end);
  ASSERT_TRUE(rate.is_object());
  ASSERT_FALSE(rate["model"]["series"].empty());

  // The aggregates are stored beside the VM store; the next start reuses
  // them and answers the same.
  const fs::path store = data_dir_ / "experiments" / uuid / "vm-events";
  for (int i = 0; i < 600 && !fs::exists(store / "CURRENT"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(fs::exists(store / "CURRENT"));
  StopServer();
  StartServer();
  ASSERT_EQ(WaitIndexed(uuid)["indexingStatus"], "COMPLETED");
  EXPECT_EQ(Page(uuid, "vmtrace.vm.exits_table"), exits);
  EXPECT_EQ(Page(uuid, "vmtrace.vm.preemptions"), preemptions);
  EXPECT_EQ(Rate(uuid, start, end), rate);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
