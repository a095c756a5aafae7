// The critical path across hosts over HTTP: an experiment of the generator's
// two-hosts-net scenario (curl in client-vm on host-c, VM pid 6000, CR3
// 0xc1000, requests nginx in server-vm on host-s, VM pid 7000). The path of
// curl must show the server's workers under their host, the network hops,
// and a breakdown naming the remote VM; the experiment carries the clock
// synchronisation in its properties.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

constexpr char kCp[] = "vmtrace.critical-path";

class CriticalPathHostsHttpTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    gen_ = fs::temp_directory_path() /
           ("vmtrace-cp-hosts-http-" + std::to_string(getpid()));
    fs::remove_all(gen_);
    const std::string cmd =
        std::string(VMTRACE_GEN_BIN) + " --scenario " + VMTRACE_GEN_SCENARIOS +
        "/two-hosts-net.json --out " + gen_.string() + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Json c = AddTrace((gen_ / "host-c").string(), "host-c");
    Json s = AddTrace((gen_ / "host-s").string(), "host-s");
    Json e = AddExperiment("two-hosts", {c["UUID"].get<std::string>(),
                                         s["UUID"].get<std::string>()});
    exp_ = e["UUID"];
    WaitIndexed(exp_);
  }
  void TearDown() override {
    HttpTest::TearDown();
    fs::remove_all(gen_);
  }

  fs::path gen_;
  std::string exp_;
};

TEST_F(CriticalPathHostsHttpTest, PathCrossesTheNetworkToTheOtherHost) {
  Json exp = Body(Get("/experiments/" + exp_));
  // The clock synchronisation the paths use, in the experiment's
  // properties (tests/tsp/sync has the details).
  const Json& p = exp["properties"];
  ASSERT_TRUE(p.contains("sync.host-s.offset_ns")) << exp.dump();
  EXPECT_NEAR(std::stod(p["sync.host-s.offset_ns"].get<std::string>()),
              -2500000.0, 1000.0);

  const std::string base = HttpTest::Outputs(exp_);
  auto r =
      Post(base + "/" + kCp,
           Json{{"name", "curl"},
                {"description", "critical path of curl"},
                {"sourceTypeId", "vmtrace.critical-path.worker"},
                {"parameters",
                 {{"host", "host-c"}, {"vm_pid", 6000}, {"cr3", "0xc1000"}}}});
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string id = Body(r)["id"];
  Json tree = PostUntilDone(base + "/timeGraph/" + id + "/tree",
                            Json{{"parameters", Json::object()}});
  std::set<std::string> labels;
  std::vector<int64_t> items;
  for (const Json& e : tree["model"]["entries"]) {
    labels.insert(e["labels"][0].get<std::string>());
    if (e.value("hasData", false)) items.push_back(e["id"]);
  }
  EXPECT_TRUE(labels.count("Host host-c")) << tree.dump();
  EXPECT_TRUE(labels.count("Host host-s")) << "the server's workers";
  EXPECT_TRUE(labels.count("Network")) << "the hops between the hosts";
  EXPECT_TRUE(labels.count("network host-c/6000 -> host-s/7000"));
  EXPECT_TRUE(labels.count("network host-s/7000 -> host-c/6000"));

  const int64_t start = exp["start"], end = exp["end"];
  Json range = {{"start", start}, {"end", end}, {"nbTimes", 2000}};
  Json states = Body(Post(
      base + "/timeGraph/" + id + "/states",
      Json{{"parameters",
            {{"requested_timerange", range}, {"requested_items", items}}}}));
  size_t rows_with_states = 0;
  for (const Json& row : states["model"]["rows"]) {
    if (!row["states"].empty()) ++rows_with_states;
  }
  EXPECT_GE(rows_with_states, 4u) << "curl, nginx, php and the network";

  // Arrows into and out of the network hops.
  Json arrows =
      Body(Post(base + "/timeGraph/" + id + "/arrows",
                Json{{"parameters", {{"requested_timerange", range}}}}));
  size_t net_arrows = 0;
  for (const Json& a : arrows["model"]) {
    if (a["style"]["parentKey"] == "NETWORK") ++net_arrows;
  }
  EXPECT_GT(net_arrows, 10u) << arrows.dump().substr(0, 500);

  // The breakdown names the hops and the remote processes.
  const std::string table =
      "vmtrace.critical-path.breakdown$" + id.substr(id.find('$') + 1);
  Json lines = Body(Post(
      base + "/table/" + table + "/lines",
      Json{{"parameters",
            {{"requested_table_index", 0}, {"requested_table_count", 200}}}}));
  bool hop = false, remote = false;
  int64_t network = 0, total = 0;
  for (const Json& l : lines["model"]["lines"]) {
    const std::string cat = l["cells"][0]["content"];
    const std::string name = l["cells"][1]["content"];
    const int64_t ns = std::stoll(l["cells"][3]["content"].get<std::string>());
    if (cat == "worker" && name.rfind("network host-c/6000", 0) == 0) {
      hop = true;
    }
    if (cat == "worker" && name.rfind("host-s/7000/", 0) == 0) remote = true;
    if (cat == "cause" && name == "NETWORK") network += ns;
    if (cat == "layer") total += ns;
  }
  EXPECT_TRUE(hop) << lines.dump();
  EXPECT_TRUE(remote) << lines.dump();
  EXPECT_GT(network, 0);
  EXPECT_GT(total, network);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
