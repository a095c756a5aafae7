// Critical path outputs over HTTP (tsp/critical_path_outputs.h), on the
// generator's one-vm-mixed scenario (host-a, VM pid 2000; db = CR3 0x22b000
// waits on web = 0x11a000 through cross-vCPU IPIs).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

constexpr char kCp[] = "vmtrace.critical-path";

class CriticalPathHttpTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    gen_ = fs::temp_directory_path() /
           ("vmtrace-cp-http-" + std::to_string(getpid()));
    fs::remove_all(gen_);
    const std::string cmd =
        std::string(VMTRACE_GEN_BIN) + " --scenario " + VMTRACE_GEN_SCENARIOS +
        "/one-vm-mixed.json --out " + gen_.string() + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Json t = AddTrace((gen_ / "host-a").string(), "cp-host-a");
    Json e = AddExperiment("cp-exp", {t["UUID"].get<std::string>()});
    exp_ = e["UUID"];
    WaitIndexed(exp_);
    // The automatic paths are made in the background after the pass (the
    // listing never waits for them): 3 paths, each with its breakdown table
    // and its breakdown of the selection.
    for (int i = 0; i < 3000 && DerivedCount() < 9; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  int DerivedCount() {
    int n = 0;
    for (const Json& o : Outputs()) {
      if (o.value("parentId", "").rfind(kCp, 0) == 0) ++n;
    }
    return n;
  }
  void TearDown() override {
    HttpTest::TearDown();
    fs::remove_all(gen_);
  }
  Json Outputs() { return Body(Get(HttpTest::Outputs(exp_))); }
  Json Create(const Json& parameters) {
    return Json{{"name", "db path"},
                {"description", "critical path of db"},
                {"sourceTypeId", "vmtrace.critical-path.worker"},
                {"parameters", parameters}};
  }

  fs::path gen_;
  std::string exp_;
};

TEST_F(CriticalPathHttpTest, ConfigureQueryAndDelete) {
  const std::string base = HttpTest::Outputs(exp_);
  // The parent output and its configuration type with a JSON schema.
  bool parent = false;
  int autos = 0;
  for (const Json& o : Outputs()) {
    if (o["id"] == kCp) parent = o["type"] == "TIME_GRAPH";
    if (o.value("parentId", "") == kCp) ++autos;
  }
  EXPECT_TRUE(parent);
  EXPECT_EQ(autos, 3) << "derived automatically for the longest waiters";
  Json types = Body(Get(base + "/" + kCp + "/configTypes"));
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(types[0]["id"], "vmtrace.critical-path.worker");
  EXPECT_TRUE(types[0]["schema"]["properties"].contains("cr3"));
  Json one =
      Body(Get(base + "/" + kCp + "/configTypes/vmtrace.critical-path.worker"));
  EXPECT_EQ(one, types[0]);

  // Bad parameters: 400 naming the parameter.
  struct Bad {
    Json params;
    std::string name;
  };
  const std::vector<Bad> bad = {
      {{{"host", "nope"}, {"vm_pid", 2000}, {"cr3", "0x22b000"}}, "host"},
      {{{"host", "host-a"}, {"vm_pid", 2000}, {"cr3", "22b"}}, "cr3"},
      {{{"host", "host-a"}, {"cr3", "0x22b000"}}, "vm_pid"},
      {{{"host", "host-a"}, {"tid", "x"}}, "tid"},
      {{{"host", "host-a"}, {"tid", 2001}, {"colour", 1}}, "colour"},
  };
  for (const Bad& b : bad) {
    Json e = ExpectError(Post(base + "/" + kCp, Create(b.params)), 400);
    EXPECT_NE(e.dump().find(b.name), std::string::npos) << e.dump();
  }

  // A guest process's path.
  auto r =
      Post(base + "/" + kCp,
           Create({{"host", "host-a"}, {"vm_pid", 2000}, {"cr3", "0x22b000"}}));
  Json d = Body(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(d["parentId"], kCp);
  EXPECT_EQ(d["name"], "db path");
  const std::string id = d["id"];
  // Walked in the background: RUNNING until then.
  Json tree = PostUntilDone(base + "/timeGraph/" + id + "/tree",
                            Json{{"parameters", Json::object()}});
  EXPECT_EQ(tree["status"], "COMPLETED");
  const Json& entries = tree["model"]["entries"];
  std::vector<int64_t> items;
  for (const Json& e : entries) {
    if (e.value("hasData", false)) items.push_back(e["id"]);
  }
  EXPECT_GE(items.size(), 2u) << "db and web (db waits on web)";
  Json e0 = Body(Get("/experiments/" + exp_));
  const int64_t start = e0["start"], end = e0["end"];
  Json range = {{"start", start}, {"end", end}, {"nbTimes", 1000}};
  Json states = Body(Post(
      base + "/timeGraph/" + id + "/states",
      Json{{"parameters",
            {{"requested_timerange", range}, {"requested_items", items}}}}));
  size_t n = 0;
  for (const Json& row : states["model"]["rows"]) n += row["states"].size();
  EXPECT_GT(n, 10u);
  Json arrows =
      Body(Post(base + "/timeGraph/" + id + "/arrows",
                Json{{"parameters", {{"requested_timerange", range}}}}));
  EXPECT_FALSE(arrows["model"].empty()) << "IPI wake-ups";
  // Few samples: at most one state per sample (+ first and last) per row,
  // and one arrow per sample interval and row pair, however long the path.
  Json few = {{"start", start}, {"end", end}, {"nbTimes", 3}};
  Json sparse = Body(
      Post(base + "/timeGraph/" + id + "/states",
           Json{{"parameters",
                 {{"requested_timerange", few}, {"requested_items", items}}}}));
  size_t sparse_n = 0;
  for (const Json& row : sparse["model"]["rows"]) {
    EXPECT_LE(row["states"].size(), 3u);
    sparse_n += row["states"].size();
  }
  EXPECT_LT(sparse_n, n);
  Json few_arrows =
      Body(Post(base + "/timeGraph/" + id + "/arrows",
                Json{{"parameters", {{"requested_timerange", few}}}}));
  EXPECT_FALSE(few_arrows["model"].empty());
  EXPECT_LE(few_arrows["model"].size(), 3 * items.size() * items.size());
  EXPECT_LT(few_arrows["model"].size(), arrows["model"].size());
  Json styles = Body(
      Post(base + "/" + id + "/style", Json{{"parameters", Json::object()}}));
  EXPECT_TRUE(styles["model"]["styles"].contains("IPI"));
  // The breakdown table derived with it.
  const std::string table =
      "vmtrace.critical-path.breakdown$" + id.substr(id.find('$') + 1);
  Json lines = Body(Post(
      base + "/table/" + table + "/lines",
      Json{{"parameters",
            {{"requested_table_index", 0}, {"requested_table_count", 100}}}}));
  EXPECT_GT(lines["model"]["lines"].size(), 3u) << lines.dump();
  // The cause rows' time adds up to the path's time, like the layer rows.
  int64_t causes = 0, layers = 0;
  for (const Json& l : lines["model"]["lines"]) {
    const std::string cat = l["cells"][0]["content"];
    const int64_t ns = std::stoll(l["cells"][3]["content"].get<std::string>());
    if (cat == "cause") causes += ns;
    if (cat == "layer") layers += ns;
  }
  EXPECT_GT(causes, 0);
  EXPECT_EQ(causes, layers);

  // The breakdown of a selection (DATA_TREE): groups with their rows, the
  // whole range the same as the table, half of it less.
  const std::string sel = "vmtrace.critical-path.breakdown-selection$" +
                          id.substr(id.find('$') + 1);
  auto group_ns = [&](int64_t a, int64_t b) {
    Json t = Body(
        Post(base + "/data/" + sel + "/tree",
             Json{{"parameters",
                   {{"requested_timerange", {{"start", a}, {"end", b}}}}}}));
    EXPECT_EQ(t["status"], "COMPLETED") << t.dump();
    std::map<int64_t, std::string> groups;
    std::map<std::string, int64_t> ns;
    for (const Json& e : t["model"]["entries"]) {
      if (e["parentId"] == -1) groups[e["id"]] = e["labels"][0];
    }
    for (const Json& e : t["model"]["entries"]) {
      if (e["parentId"] == -1) continue;
      ns[groups.at(e["parentId"])] +=
          std::stoll(e["labels"][2].get<std::string>());
    }
    return ns;
  };
  auto whole = group_ns(start, end);
  EXPECT_EQ(whole["cause"], causes);
  EXPECT_EQ(whole["layer"], layers);
  auto half = group_ns(start, start + (end - start) / 2);
  EXPECT_EQ(half["cause"], half["layer"]);
  EXPECT_LT(half["cause"], causes);
  ExpectError(
      Post(base + "/data/" + sel + "/tree",
           Json{{"parameters",
                 {{"requested_timerange", {{"start", end}, {"end", start}}}}}}),
      400);

  // Delete: both go.
  auto del = Delete(base + "/" + kCp + "/" + id);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200) << del->body;
  ExpectError(Get(base + "/" + id), 404);
  ExpectError(Get(base + "/" + table), 404);
  ExpectError(Get(base + "/" + sel), 404);
  ExpectError(Delete(base + "/" + kCp + "/" + id), 404);
}

TEST_F(CriticalPathHttpTest, UnknownWorkersAre404AndDerivedOutputsAreCapped) {
  const std::string base = HttpTest::Outputs(exp_);
  const size_t before = Outputs().size();
  // Workers the complete graph / VM model do not know.
  for (const Json& params :
       {Json{{"host", "host-a"}, {"tid", 999999}},
        Json{{"host", "host-a"}, {"vm_pid", 2000}, {"cr3", "0xdead000"}},
        Json{{"host", "host-a"}, {"vm_pid", 4242}, {"cr3", "0x22b000"}}}) {
    Json e = ExpectError(Post(base + "/" + kCp, Create(params)), 404);
    EXPECT_NE(e["title"].get<std::string>().find("No such worker"),
              std::string::npos)
        << e.dump();
  }
  EXPECT_EQ(Outputs().size(), before) << "nothing was created";

  // At most 64 derived paths (3 automatic ones here), then 400.
  const Json db = {{"host", "host-a"}, {"vm_pid", 2000}, {"cr3", "0x22b000"}};
  std::string last;
  for (int i = 3; i < 64; ++i) {
    auto r = Post(base + "/" + kCp, Create(db));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << i << ": " << r->body;
    last = Body(r)["id"];
  }
  Json e = ExpectError(Post(base + "/" + kCp, Create(db)), 400);
  EXPECT_NE(e["title"].get<std::string>().find("64"), std::string::npos)
      << e.dump();
  // Deleting one makes room again.
  auto del = Delete(base + "/" + kCp + "/" + last);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  auto again = Post(base + "/" + kCp, Create(db));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
}

TEST_F(CriticalPathHttpTest, PathsAreStoredAndSurviveARestartUnwalked) {
  const std::string base = HttpTest::Outputs(exp_);
  auto r =
      Post(base + "/" + kCp,
           Create({{"host", "host-a"}, {"vm_pid", 2000}, {"cr3", "0x22b000"}}));
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string id = Body(r)["id"];
  Json tree = PostUntilDone(base + "/timeGraph/" + id + "/tree",
                            Json{{"parameters", Json::object()}});
  std::vector<int64_t> items;
  for (const Json& e : tree["model"]["entries"]) {
    if (e.value("hasData", false)) items.push_back(e["id"]);
  }
  Json e0 = Body(Get("/experiments/" + exp_));
  const Json query = {
      {"parameters",
       {{"requested_timerange",
         {{"start", e0["start"]}, {"end", e0["end"]}, {"nbTimes", 500}}},
        {"requested_items", items}}}};
  Json states = Body(Post(base + "/timeGraph/" + id + "/states", query));
  Json arrows = Body(Post(base + "/timeGraph/" + id + "/arrows", query));
  const std::string n = id.substr(id.find('$') + 1);
  const fs::path side =
      data_dir_ / "experiments" / exp_ / "critical-paths" / n / "path.json";
  ASSERT_TRUE(fs::exists(side)) << side;
  const auto written = fs::last_write_time(side);
  const size_t derived = DerivedCount();

  StopServer();
  StartServer();
  Body(Get("/experiments/" + exp_));  // opens it again
  WaitIndexed(exp_);
  // The same derived outputs, the same id, the same answers, read from the
  // store: the path was not walked again.
  EXPECT_EQ(DerivedCount(), derived);
  Json again = PostUntilDone(base + "/timeGraph/" + id + "/tree",
                             Json{{"parameters", Json::object()}});
  EXPECT_EQ(again["model"], tree["model"]);
  EXPECT_EQ(Body(Post(base + "/timeGraph/" + id + "/states", query))["model"],
            states["model"]);
  EXPECT_EQ(Body(Post(base + "/timeGraph/" + id + "/arrows", query))["model"],
            arrows["model"]);
  EXPECT_EQ(fs::last_write_time(side), written);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
