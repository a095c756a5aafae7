// Guest traces over HTTP: an experiment of a host trace plus the guest
// traces of its VMs (generated, scenario containers.json) answers the
// host-only views exactly as the host trace alone, and tells in its
// properties what became of each guest trace.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

class HttpGuestTracesTest : public HttpTest {
 protected:
  void Generate() {
    out_ = data_dir_.string() + "-containers";
    fs::remove_all(out_);
    const std::string cmd =
        std::string(VMTRACE_GEN_BIN) + " --scenario " + VMTRACE_GEN_SCENARIOS +
        "/containers.json --no-truth --out " + out_.string() + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void TearDown() override {
    HttpTest::TearDown();
    fs::remove_all(out_);
  }
  std::string Uuid(const std::string& dir, const std::string& name) {
    return AddTrace((out_ / dir).string(), name)["UUID"];
  }
  // The experiment's properties once the guest traces are mapped (they
  // appear after the pass).
  Json PropertiesWith(const std::string& exp, const std::string& key) {
    Json e;
    for (int i = 0; i < 500; ++i) {
      e = Body(Get("/experiments/" + exp));
      if (e["properties"].contains(key)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return e["properties"];
  }
  // Tree and states of a time graph over [start, end].
  Json TimeGraph(const std::string& exp, const std::string& id, int64_t start,
                 int64_t end) {
    const std::string base = Outputs(exp) + "/timeGraph/" + id;
    Json tree =
        PostUntilDone(base + "/tree", Json{{"parameters", Json::object()}});
    Json items = Json::array();
    for (const Json& e : tree["model"]["entries"]) items.push_back(e["id"]);
    Json states = PostUntilDone(
        base + "/states",
        Json{{"parameters",
              {{"requested_timerange",
                {{"start", start}, {"end", end}, {"nbTimes", 400}}},
               {"requested_items", items}}}});
    return Json{{"tree", tree["model"]}, {"states", states["model"]}};
  }
  Json TableLines(const std::string& exp, const std::string& id) {
    return PostUntilDone(Outputs(exp) + "/table/" + id + "/lines",
                         Json{{"parameters",
                               {{"requested_table_index", 0},
                                {"requested_table_count", 1000}}}})["model"];
  }
  fs::path out_;
};

TEST_F(HttpGuestTracesTest, HostViewsUnchangedAndGuestTracesReported) {
  Generate();
  const std::string host = Uuid("host-g", "host-g");
  const std::string web = Uuid("web-vm", "web-vm");
  const std::string inner = Uuid("inner-vm", "inner-vm");
  const std::string a = AddExperiment("host only", {host})["UUID"];
  const std::string b =
      AddExperiment("with guests", {host, web, inner})["UUID"];
  Json ea = WaitIndexed(a);
  Json eb = WaitIndexed(b);
  ASSERT_EQ(ea["indexingStatus"], "COMPLETED");
  ASSERT_EQ(eb["indexingStatus"], "COMPLETED");
  // The guest traces' events are in the experiment, inside the host's range.
  EXPECT_GT(eb["nbEvents"].get<int64_t>(), ea["nbEvents"].get<int64_t>());
  EXPECT_EQ(eb["start"], ea["start"]);
  EXPECT_EQ(eb["end"], ea["end"]);

  Json pb = PropertiesWith(b, "guest trace inner-vm");
  ASSERT_TRUE(pb.contains("guest trace web-vm")) << pb.dump();
  const std::string wr = pb["guest trace web-vm"];
  const std::string ir = pb["guest trace inner-vm"];
  EXPECT_NE(wr.find("web-vm: VM 6000 on host-g (L1)"), std::string::npos) << wr;
  EXPECT_NE(ir.find("inner-vm: VM 6000 on host-g (nested, under L1 CR3 "
                    "0x5e0000)"),
            std::string::npos)
      << ir;
  EXPECT_EQ(wr.find("conflict"), std::string::npos) << wr;
  // The trace check says the same, per guest trace, and counts them.
  const std::string cw = pb["check.guest_trace.web-vm"];
  EXPECT_EQ(cw.rfind("ok: VM 6000 on host-g (L1)", 0), 0u) << cw;
  const std::string ci = pb["check.guest_trace.inner-vm"];
  EXPECT_EQ(ci.rfind("ok: VM 6000 on host-g (nested", 0), 0u) << ci;
  const std::string summary = pb["check.summary"];
  const std::string used = "; 2 of 2 guest traces used";
  ASSERT_GE(summary.size(), used.size());
  EXPECT_EQ(summary.substr(summary.size() - used.size()), used) << summary;
  pb["check.summary"] = summary.substr(0, summary.size() - used.size());

  // Everything else the experiments say is the same.
  Json pa = Body(Get("/experiments/" + a))["properties"];
  for (auto it = pb.begin(); it != pb.end();) {
    it = it.key().rfind("guest trace ", 0) == 0 ||
                 it.key().rfind("check.guest_trace.", 0) == 0
             ? pb.erase(it)
             : std::next(it);
  }
  EXPECT_EQ(pa, pb);

  // Host-only views: same answers with and without the guest traces.
  const int64_t start = ea["start"], end = ea["end"];
  for (const char* id :
       {"vmtrace.kernel.thread_status", "vmtrace.kernel.resources"}) {
    EXPECT_EQ(TimeGraph(a, id, start, end), TimeGraph(b, id, start, end)) << id;
  }
  for (const char* id : {"vmtrace.vm.wait_table", "vmtrace.vm.exits_table"}) {
    EXPECT_EQ(TableLines(a, id), TableLines(b, id)) << id;
  }
}

// A guest trace that belongs to no VM of the experiment: reported with the
// reason, nothing named.
TEST_F(HttpGuestTracesTest, AGuestTraceOfNoVmIsReported) {
  Generate();
  const fs::path other = data_dir_.string() + "-other";
  fs::remove_all(other);
  const std::string cmd =
      std::string(VMTRACE_GEN_BIN) + " --scenario " + VMTRACE_GEN_SCENARIOS +
      "/one-vm-mixed.json --no-truth --out " + other.string() + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string host =
      AddTrace((other / "host-a").string(), "host-a")["UUID"];
  const std::string web = Uuid("web-vm", "web-vm");
  const std::string e = AddExperiment("mismatch", {host, web})["UUID"];
  ASSERT_EQ(WaitIndexed(e)["indexingStatus"], "COMPLETED");
  Json p = PropertiesWith(e, "guest trace web-vm");
  ASSERT_TRUE(p.contains("guest trace web-vm")) << p.dump();
  const std::string r = p["guest trace web-vm"];
  EXPECT_NE(r.find("web-vm: not used: its switches match no VM"),
            std::string::npos)
      << r;
  // In the trace check: unavailable, why, and how to record one that fits.
  const std::string c = p["check.guest_trace.web-vm"];
  EXPECT_EQ(c.rfind("unavailable: not used: its switches match no VM", 0), 0u)
      << c;
  EXPECT_NE(c.find("Fix: add the guest trace to an experiment"),
            std::string::npos)
      << c;
  EXPECT_NE(
      p["check.summary"].get<std::string>().find("; 0 of 1 guest traces used"),
      std::string::npos)
      << p.dump();
  EXPECT_TRUE(
      service()->OpenExperiment(e).value()->names->Current()->vms.empty());
  fs::remove_all(other);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
