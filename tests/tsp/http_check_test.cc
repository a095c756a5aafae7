// The Trace check over HTTP: the TABLE output (vmtrace.check) and the
// `check.*` keys of the experiment's properties, on a real kernel trace
// without KVM events (tests/data), on a generated KVM trace, and on a
// generated one whose packet headers declare lost events.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "http_fixture.h"
#include "tests/analyses/check/discard_patch.h"

namespace vmtrace::tsp::testing {
namespace {

constexpr char kCheckId[] = "vmtrace.check";

class HttpCheckTest : public HttpTest {
 protected:
  std::string Generate(const std::string& scenario, int events) {
    const fs::path out = data_dir_.string() + "-trace";
    fs::remove_all(out);
    const std::string cmd =
        std::string(VMTRACE_GEN_BIN) + " --scenario " + VMTRACE_GEN_SCENARIOS +
        "/" + scenario + ".json --events " + std::to_string(events) +
        " --no-truth --out " + out.string() + " > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    trace_dir_ = out;
    return out.string();
  }
  void TearDown() override {
    HttpTest::TearDown();
    if (!trace_dir_.empty()) fs::remove_all(trace_dir_);
  }

  // The check table's rows (cells as strings), once COMPLETED.
  std::vector<std::vector<std::string>> Rows(const std::string& exp) {
    Json page = PostUntilDone(Outputs(exp) + "/table/" + kCheckId + "/lines",
                              Json{{"parameters",
                                    {{"requested_table_index", 0},
                                     {"requested_table_count", 1000}}}});
    EXPECT_EQ(page["status"], "COMPLETED") << page.dump();
    std::vector<std::vector<std::string>> rows;
    for (const Json& l : page["model"]["lines"]) {
      std::vector<std::string> cells;
      for (const Json& c : l["cells"]) cells.push_back(c["content"]);
      rows.push_back(cells);
    }
    return rows;
  }
  // The first row whose analysis and reason start as given.
  static const std::vector<std::string>* Row(
      const std::vector<std::vector<std::string>>& rows,
      const std::string& analysis, const std::string& reason) {
    for (const auto& r : rows) {
      if (r.size() == 5 && r[0] == analysis && r[3].rfind(reason, 0) == 0) {
        return &r;
      }
    }
    return nullptr;
  }

  fs::path trace_dir_;
};

TEST_F(HttpCheckTest, KernelTraceSaysWhyThereAreNoVmViews) {
  Json exp = OpenIndexed(kTrace, "check-kernel");
  ASSERT_TRUE(exp.is_object());
  const std::string uuid = exp["UUID"];
  const Json& props = exp["properties"];
  ASSERT_TRUE(props.contains("check.summary")) << props.dump();
  EXPECT_EQ(props["check.summary"], "1 of 4 analyses available; 4 gaps")
      << props.dump();
  EXPECT_EQ(props["check.vm"].get<std::string>().rfind(
                "unavailable: kvm entry/exit missing. Fix: scripts/record.sh "
                "lttng (lttng enable-event --kernel kvm_x86_entry,"
                "kvm_x86_exit)",
                0),
            0u)
      << props["check.vm"];
  EXPECT_EQ(props["check.clock_sync"], "not applicable");
  EXPECT_EQ(props["check.lost_events"], "none reported by the packet headers");
  EXPECT_EQ(props["check.kernel"], "available");
  // The trace's own clock, from its metadata.
  EXPECT_EQ(props["check.clock.wilbrod"],
            "clock monotonic, offset 1539783991179109860 ns, 1000000000 Hz");

  // Listed as a TABLE with its columns.
  Json list = Body(Get(Outputs(uuid)));
  bool listed = false;
  for (const Json& o : list) {
    if (o["id"] == kCheckId) {
      listed = true;
      EXPECT_EQ(o["type"], "TABLE");
      EXPECT_EQ(o["name"], "Trace check");
    }
  }
  EXPECT_TRUE(listed) << list.dump();
  Json cols = Body(Post(Outputs(uuid) + "/table/" + kCheckId + "/columns",
                        Json{{"parameters", Json::object()}}));
  ASSERT_EQ(cols["model"].size(), 5u) << cols.dump();
  EXPECT_EQ(cols["model"][4]["name"], "Fix");

  const auto rows = Rows(uuid);
  const auto* vm = Row(rows, "VM analyses", "kvm entry/exit missing");
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ((*vm)[2], "unavailable");
  EXPECT_NE((*vm)[4].find("kvm_x86_entry,kvm_x86_exit"), std::string::npos);
  EXPECT_NE(Row(rows, "Clock", "clock monotonic"), nullptr);
  EXPECT_NE(Row(rows, "Lost events", "none reported"), nullptr);
}

TEST_F(HttpCheckTest, GeneratedKvmTraceHasItsVmAnalyses) {
  const std::string dir = Generate("demo", 20000);
  Json t = AddTrace(dir, "check-kvm");
  Json e = AddExperiment("check-kvm", {t["UUID"].get<std::string>()});
  const std::string uuid = e["UUID"];
  Json done = WaitIndexed(uuid);
  EXPECT_EQ(done["indexingStatus"], "COMPLETED");
  const Json& props = done["properties"];
  EXPECT_EQ(props["check.vm"], "available") << props.dump();
  EXPECT_EQ(props["check.guest_processes"], "available") << props.dump();
  const auto rows = Rows(uuid);
  const auto* vm = Row(rows, "VM analyses", "feeds Virtual CPUs");
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ((*vm)[2], "available");
}

TEST_F(HttpCheckTest, LostEventsShowInTheTableAndSurviveARestart) {
  const std::string dir = Generate("demo", 200000);
  const auto lost = vmtrace::testing::DeclareDiscarded(dir, 11);
  ASSERT_FALSE(lost.empty());
  uint64_t total = 0;
  for (const auto& [cpu, n] : lost) total += n;

  Json t = AddTrace(dir, "check-lossy");
  Json e = AddExperiment("check-lossy", {t["UUID"].get<std::string>()});
  const std::string uuid = e["UUID"];
  // While the pass runs the table is RUNNING and the losses are pending;
  // once COMPLETED they are counted.
  Json early = Body(Post(
      Outputs(uuid) + "/table/" + kCheckId + "/lines",
      Json{{"parameters",
            {{"requested_table_index", 0}, {"requested_table_count", 1000}}}}));
  ASSERT_TRUE(early.is_object());
  bool pending = false;
  for (const Json& l : early["model"]["lines"]) {
    pending |= l["cells"][0]["content"] == "Lost events" &&
               l["cells"][2]["content"] == "pending";
  }
  if (early["status"] == "RUNNING") {
    EXPECT_TRUE(pending) << early.dump();
  } else {
    EXPECT_EQ(early["status"], "COMPLETED");
    EXPECT_FALSE(pending) << early.dump();
  }
  Json done = WaitIndexed(uuid);
  const Json& props = done["properties"];
  EXPECT_NE(props["check.summary"].get<std::string>().find(
                std::to_string(total) + " events lost"),
            std::string::npos)
      << props.dump();
  EXPECT_EQ(props["check.lost_events"].get<std::string>().rfind(
                std::to_string(total) + " events lost: ", 0),
            0u)
      << props["check.lost_events"];
  const auto rows = Rows(uuid);
  const auto cpu = lost.begin();
  const auto* row = Row(rows, "Lost events",
                        std::to_string(cpu->second) + " events lost on CPU " +
                            std::to_string(cpu->first));
  ASSERT_NE(row, nullptr);
  EXPECT_EQ((*row)[2], "warning");
  EXPECT_NE((*row)[4].find("NUM_SUBBUF"), std::string::npos);

  // Reloaded from the store, not read again: the same check.
  StopServer();
  StartServer();
  Json again = Body(Get("/experiments/" + uuid));
  for (const auto& [k, v] : done["properties"].items()) {
    if (k.rfind("check.", 0) == 0 || k.rfind("reader.", 0) == 0) {
      EXPECT_EQ(again["properties"][k], v) << k;
    }
  }
  EXPECT_EQ(Rows(uuid), rows);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
