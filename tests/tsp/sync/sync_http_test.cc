// The clock synchronisation as the protocol shows it: the properties of
// GET /experiments/{uuid} carry sync.* once indexing is over, for the
// generator's two-hosts-net scenario (host-s's clock = host-c's + 2.5 ms),
// whether its hosts are two traces or one folder of two CTF traces, and
// still after a restart (loaded from sync.json, the trace not read again).
// A single-host experiment has no sync.* properties.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "two_hosts_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

class SyncHttpTest : public TwoHostsTest {
 protected:
  // Checks the sync.* properties of a finished experiment.
  static void ExpectSynced(const Json& exp) {
    ASSERT_EQ(exp["indexingStatus"], "COMPLETED") << exp.dump();
    const Json& p = exp["properties"];
    EXPECT_EQ(p.value("sync.reference", ""), "host-c") << p.dump();
    EXPECT_EQ(p.value("sync.method", ""), "convex hull (fully incremental)");
    EXPECT_EQ(p.value("sync.host-s.quality", ""), "accurate");
    EXPECT_EQ(p.value("sync.host-s.slope", ""), "1");
    ASSERT_TRUE(p.contains("sync.host-s.offset_ns"));
    EXPECT_NEAR(std::stod(p["sync.host-s.offset_ns"].get<std::string>()),
                -2'500'000, 1'000);
    const double acc =
        std::stod(p.value("sync.host-s.accuracy_ns", std::string("0")));
    EXPECT_GT(acc, 10'000);
    EXPECT_LT(acc, 200'000);
    const int matched = std::stoi(p.value("sync.matched_packets", "0"));
    EXPECT_GT(matched, 20);
    EXPECT_EQ(p.value("sync.host-s.pairs", ""), std::to_string(matched));
    EXPECT_EQ(p.value("sync.undecodable_packets", ""), "0");
    EXPECT_TRUE(p.contains("sync.unmatched_packets"));
    EXPECT_FALSE(p.contains("sync.sync.reference"));
  }
};

TEST_F(SyncHttpTest, TwoTracesCarryTheSyncProperties) {
  Json c = AddTrace((gen_ / "host-c").string(), "sync-host-c");
  Json s = AddTrace((gen_ / "host-s").string(), "sync-host-s");
  Json e = AddExperiment(
      "sync-exp", {c["UUID"].get<std::string>(), s["UUID"].get<std::string>()});
  const std::string uuid = e["UUID"];
  ExpectSynced(WaitIndexed(uuid));

  // After a restart the result comes from sync.json, with the same figures.
  const Json before = Body(Get("/experiments/" + uuid))["properties"];
  StopServer();
  StartServer();
  Json after = WaitIndexed(uuid);
  ExpectSynced(after);
  for (const auto& [k, v] : before.items()) {
    if (k.rfind("sync.", 0) == 0) {
      EXPECT_EQ(after["properties"].value(k, Json()), v) << k;
    }
  }
  EXPECT_TRUE(
      fs::exists(data_dir_ / "experiments" / uuid / "sync" / "sync.json"));
}

TEST_F(SyncHttpTest, OneFolderOfTwoHosts) {
  Json t = AddTrace(gen_.string(), "sync-both");
  Json e = AddExperiment("sync-folder", {t["UUID"].get<std::string>()});
  ExpectSynced(WaitIndexed(e["UUID"]));
}

TEST_F(SyncHttpTest, OneHostHasNoSync) {
  Json t = AddTrace((gen_ / "host-s").string(), "sync-alone");
  Json e = AddExperiment("sync-alone", {t["UUID"].get<std::string>()});
  Json done = WaitIndexed(e["UUID"]);
  ASSERT_EQ(done["indexingStatus"], "COMPLETED");
  for (const auto& [k, v] : done["properties"].items()) {
    EXPECT_NE(k.rfind("sync.", 0), 0u) << k;
  }
}

}  // namespace
}  // namespace vmtrace::tsp::testing
