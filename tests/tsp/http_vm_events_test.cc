// VM Exits (table and rate) and Preemptions over HTTP on a generated one-VM
// trace: they answer while the experiment indexes (RUNNING, with what is
// flushed) and once it is complete (from the aggregates stored beside the
// VM store, analyses/stats/event_stats.h); a restarted server reuses the
// stored aggregates and answers byte for byte the same.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

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

  // POST .../data/{id}/tree over [a, b]; the reply.
  Json Selection(const std::string& exp, const std::string& id, int64_t a,
                 int64_t b) {
    return Body(
        Post(Outputs(exp) + "/data/" + id + "/tree",
             Json{{"parameters",
                   {{"requested_timerange", {{"start", a}, {"end", b}}}}}}));
  }
  // The rows (entries with data) of a selection tree, as cell strings.
  static std::vector<std::vector<std::string>> Rows(const Json& tree) {
    std::vector<std::vector<std::string>> out;
    for (const Json& e : tree["model"]["entries"]) {
      if (e.value("hasData", false)) {
        out.push_back(e["labels"].get<std::vector<std::string>>());
      }
    }
    return out;
  }
  static std::vector<std::vector<std::string>> Rows(const Json& page, bool) {
    std::vector<std::vector<std::string>> out;
    for (const Json& l : page["model"]["lines"]) {
      std::vector<std::string> row;
      for (const Json& c : l["cells"]) row.push_back(c["content"]);
      out.push_back(std::move(row));
    }
    return out;
  }
  // Sum of column `value` per key of columns `keys`, over the rows.
  static std::map<std::vector<std::string>, int64_t> Sums(
      const std::vector<std::vector<std::string>>& rows,
      const std::vector<int>& keys, int value) {
    std::map<std::vector<std::string>, int64_t> out;
    for (const auto& r : rows) {
      std::vector<std::string> k;
      for (int c : keys) k.push_back(r.at(c));
      out[k] += std::stoll(r.at(value));
    }
    return out;
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

// The statistics of the viewer's selection (DATA_TREE): the whole range
// gives the tables' rows; two halves add up to the whole (time is counted
// where it is spent, exits and preemptions where they happen).
TEST_F(HttpVmEventsTest, SelectionTreesFollowTheRange) {
  const std::string path = Generate("one-vm-mixed");
  Json t = AddTrace(path, "gen");
  Json e = AddExperiment("gen", {t["UUID"].get<std::string>()});
  const std::string uuid = e["UUID"];
  Json done = WaitIndexed(uuid);
  const int64_t start = done["start"], end = done["end"];
  struct Case {
    const char* table;
    const char* tree;
    std::vector<int> keys;
    int value;
  };
  const std::vector<Case> cases = {
      {"vmtrace.vm.wait_table", "vmtrace.vm.wait_selection", {0, 1, 3}, 14},
      {"vmtrace.vm.exits_table", "vmtrace.vm.exits_selection", {0, 1, 3}, 5},
      {"vmtrace.vm.preemptions",
       "vmtrace.vm.preemptions_selection",
       {0, 1, 3},
       4},
  };
  for (const Case& c : cases) {
    Json page;
    for (int i = 0; i < 600; ++i) {
      page = Page(uuid, c.table);
      if (page["status"] == "COMPLETED") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(page["status"], "COMPLETED") << c.table;
    Json whole = Selection(uuid, c.tree, start, end);
    ASSERT_EQ(whole["status"], "COMPLETED") << whole.dump();
    EXPECT_EQ(Rows(whole), Rows(page, true)) << c.tree;
    EXPECT_EQ(whole["model"]["headers"].size(),
              page["model"]["lines"][0]["cells"].size());
    // Grouped by host and VM: the rows have parents.
    for (const Json& en : whole["model"]["entries"]) {
      if (en.value("hasData", false)) {
        EXPECT_NE(en["parentId"], -1);
      }
    }
    const int64_t mid = start + (end - start) / 3;
    auto first =
        Sums(Rows(Selection(uuid, c.tree, start, mid)), c.keys, c.value);
    auto second =
        Sums(Rows(Selection(uuid, c.tree, mid + 1, end)), c.keys, c.value);
    auto all = Sums(Rows(whole), c.keys, c.value);
    int64_t nonzero = 0;
    for (const auto& [k, v] : all) {
      EXPECT_EQ(v, first[k] + second[k])
          << c.tree << " " << k[0] << "/" << k[1] << "/" << k[2];
      nonzero += v > 0 && first[k] > 0 && second[k] > 0;
    }
    EXPECT_GT(nonzero, 0) << c.tree << ": both parts have some";
    // A selection outside the trace counts nothing; end before start is 400.
    for (const auto& [k, v] :
         Sums(Rows(Selection(uuid, c.tree, end + 10, end + 1000)), c.keys,
              c.value)) {
      EXPECT_EQ(v, 0) << c.tree;
    }
    ExpectError(Post(Outputs(uuid) + "/data/" + c.tree + "/tree",
                     Json{{"parameters",
                           {{"requested_timerange",
                             {{"start", end}, {"end", start}}}}}}),
                400);
  }
}

}  // namespace
}  // namespace vmtrace::tsp::testing
