// End to end: a "VM interrupt vectors" configuration changes what the VM
// analyses say, without re-indexing. one-vm-mixed's guest uses Linux's timer
// vector 236; declaring the guest's timer vector to be 209 instead makes
// those wake-ups unexplained, so the VM's WAIT_TIMER time moves to
// WAIT_UNKNOWN, exactly; deleting the configuration restores it.
#include "tsp/outputs/vm/vm_vectors_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tsp/service/trace_service.h"

namespace vmtrace::tsp {
namespace {

namespace fs = std::filesystem;

constexpr char kTimerCol[] = "WAIT_TIMER (ns)";
constexpr char kUnknownCol[] = "WAIT_UNKNOWN (ns)";

struct WaitRow {
  int64_t timer = -1, unknown = -1;
};

// The VM row of the wait table (Element "VM"), found by column names.
WaitRow VmWaits(const Experiment& exp) {
  for (const auto& t : exp.tables) {
    if (t->descriptor().id != "vmtrace.vm.wait_table") continue;
    auto table = t->Table();
    EXPECT_TRUE(table.ok());
    auto col = [&](const std::string& name) {
      for (size_t i = 0; i < table->columns.size(); ++i) {
        if (table->columns[i].name == name) return int(i);
      }
      return -1;
    };
    int row = col("Element"), timer = col(kTimerCol),
        unknown = col(kUnknownCol);
    EXPECT_GE(row, 0);
    EXPECT_GE(timer, 0);
    EXPECT_GE(unknown, 0);
    for (const auto& r : table->rows) {
      if (row >= 0 && r[row] == "VM") {
        return {std::stoll(r[timer]), std::stoll(r[unknown])};
      }
    }
  }
  ADD_FAILURE() << "no VM row in the wait table";
  return {};
}

std::shared_ptr<Experiment> Open(TraceService* svc, const std::string& uuid) {
  auto exp = svc->OpenExperiment(uuid);
  EXPECT_TRUE(exp.ok()) << exp.status().ToString();
  (*exp)->index->WaitUntilDone();
  return *exp;
}

TEST(VmVectorsConfigTest, ATimerVectorOverrideRelabelsWaitsWithoutReindexing) {
  fs::path tmp = fs::temp_directory_path() /
                 ("vmtrace-vectors-" + std::to_string(getpid()));
  fs::remove_all(tmp);
  const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                          VMTRACE_GEN_SCENARIOS + "/one-vm-mixed.json --out " +
                          (tmp / "trace").string() + " --seed 1 > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  ServiceOptions so;
  so.data_dir = (tmp / "data").string();
  auto svc = TraceService::Open(so).value();
  auto t =
      svc->AddTrace((tmp / "trace" / "host-a").string(), "host-a", nullptr);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::string uuid;
  {
    auto e = svc->AddExperiment("vectors", {t->record.uuid}, nullptr);
    ASSERT_TRUE(e.ok());
    uuid = e->record.uuid;
  }
  auto before_exp = Open(svc.get(), uuid);
  const uint64_t nb = before_exp->index->Snapshot().nb_events;
  WaitRow before = VmWaits(*before_exp);
  ASSERT_GT(before.timer, 0) << "the scenario's guest sleeps on timers";
  before_exp.reset();  // as a request does when its reply is sent

  storage::ConfigRecord rec{kVmVectorsTypeId, "cfg-1", "windows-like timer", "",
                            R"({"host":"host-a","timer":[209]})"};
  ASSERT_TRUE(svc->PutConfig(rec).ok());

  auto after_exp = Open(svc.get(), uuid);
  // The index was reused: complete at once, same events.
  EXPECT_EQ(after_exp->index->Snapshot().nb_events, nb);
  WaitRow after = VmWaits(*after_exp);
  EXPECT_EQ(after.timer, 0);
  EXPECT_EQ(after.unknown, before.unknown + before.timer);
  after_exp.reset();

  ASSERT_TRUE(svc->DeleteConfig(kVmVectorsTypeId, "cfg-1").ok());
  WaitRow restored = VmWaits(*Open(svc.get(), uuid));
  EXPECT_EQ(restored.timer, before.timer);
  EXPECT_EQ(restored.unknown, before.unknown);
  svc.reset();
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace vmtrace::tsp
