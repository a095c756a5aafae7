// One clock for a multi-host experiment: once the clock sync is known, the
// experiment's and its traces' times, time-graph states, XY series and the
// events table's timestamps of host-s (the generator's two-hosts-net:
// host-s's clock = host-c's + 2.5 ms) are in host-c's clock. Each is checked
// against the experiment of host-s alone (its own clock), shifted by the
// fitted offset.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "two_hosts_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

constexpr char kThreadStatus[] = "vmtrace.kernel.thread_status";

class ViewClockHttpTest : public TwoHostsTest {
 protected:
  std::string TimeGraph(const std::string& exp, const std::string& what) {
    return Outputs(exp) + "/timeGraph/" + kThreadStatus + "/" + what;
  }
  // Thread Status entry id of each (host label, tid label) thread.
  std::map<std::pair<std::string, std::string>, int64_t> Threads(
      const std::string& exp, int64_t start, int64_t end) {
    Json tree = PostUntilDone(
        TimeGraph(exp, "tree"),
        Json{{"parameters", {{"requested_times", {start, end}}}}});
    std::map<int64_t, std::string> host_of_root;
    std::map<int64_t, int64_t> parent;
    for (const Json& e : tree["model"]["entries"]) {
      parent[e["id"]] = e["parentId"];
      if (e["parentId"] == -1) host_of_root[e["id"]] = e["labels"][0];
    }
    std::map<std::pair<std::string, std::string>, int64_t> out;
    for (const Json& e : tree["model"]["entries"]) {
      int64_t root = e["id"];
      while (parent[root] != -1) root = parent[root];
      if (e["parentId"] != -1 && e["labels"].size() > 1) {
        out[{host_of_root[root], e["labels"][1]}] = e["id"];
      }
    }
    return out;
  }
  // (start, end, style) of every state of `item` at `times`.
  std::set<std::tuple<int64_t, int64_t, std::string>> States(
      const std::string& exp, int64_t item, const std::vector<int64_t>& times) {
    Json r = PostUntilDone(
        TimeGraph(exp, "states"),
        Json{{"parameters",
              {{"requested_times", times}, {"requested_items", {item}}}}});
    std::set<std::tuple<int64_t, int64_t, std::string>> out;
    for (const Json& row : r["model"]["rows"]) {
      for (const Json& s : row["states"]) {
        out.insert(std::make_tuple(s["start"].get<int64_t>(),
                                   s["end"].get<int64_t>(),
                                   s["style"]["parentKey"].get<std::string>()));
      }
    }
    return out;
  }
  // The "Timestamp ns" of the first event of trace `trace` (by name) among
  // the first lines of the events table.
  int64_t FirstEventTime(const std::string& exp, const std::string& trace) {
    Json m = Lines(exp, Json{{"requested_table_index", 0},
                             {"requested_table_count", 2000}});
    int trace_col = -1, ns_col = -1;
    for (size_t i = 0; i < m["columnIds"].size(); ++i) {
      if (m["columnIds"][i] == 8) trace_col = int(i);
      if (m["columnIds"][i] == 1) ns_col = int(i);
    }
    EXPECT_GE(ns_col, 0) << m.dump().substr(0, 500);
    for (const Json& l : m["lines"]) {
      if (trace_col < 0 || l["cells"][trace_col]["content"] == trace) {
        return std::stoll(l["cells"][ns_col]["content"].get<std::string>());
      }
    }
    ADD_FAILURE() << "no event of " << trace;
    return 0;
  }
};

TEST_F(ViewClockHttpTest, EveryViewOfHostSIsInHostCsClock) {
  const std::string c =
      AddTrace((gen_ / "host-c").string(), "vc-host-c")["UUID"];
  const std::string s =
      AddTrace((gen_ / "host-s").string(), "vc-host-s")["UUID"];
  const std::string both = AddExperiment("vc-both", {c, s})["UUID"];
  const std::string alone = AddExperiment("vc-s", {s})["UUID"];
  Json eb = WaitIndexed(both);
  Json ea = WaitIndexed(alone);
  ASSERT_EQ(eb["indexingStatus"], "COMPLETED");
  ASSERT_EQ(ea["indexingStatus"], "COMPLETED");
  // The fitted correction of host-s (a pure offset here, whole ns).
  ASSERT_EQ(eb["properties"].value("sync.host-s.slope", ""), "1");
  const int64_t off =
      std::stoll(eb["properties"]["sync.host-s.offset_ns"].get<std::string>());
  EXPECT_NEAR(off, -2'500'000, 1'000);

  // The experiment's traces: host-s's span shifted.
  ASSERT_EQ(eb["traces"].size(), 2u);
  const Json& ts = eb["traces"][1];
  EXPECT_EQ(ts["start"].get<int64_t>(), ea["start"].get<int64_t>() + off);
  EXPECT_EQ(ts["end"].get<int64_t>(), ea["end"].get<int64_t>() + off);
  // The experiment's span covers its traces' and never shrank (as
  // WaitIndexed checks) when host-s's end moved 2.5 ms back.
  EXPECT_EQ(eb["start"].get<int64_t>(),
            std::min(eb["traces"][0]["start"].get<int64_t>(),
                     ts["start"].get<int64_t>()));
  EXPECT_EQ(eb["end"].get<int64_t>(),
            std::max(eb["traces"][0]["end"].get<int64_t>(),
                     ea["end"].get<int64_t>()));

  // Thread Status: a host-s thread's states at instants shifted by the
  // offset are its states in host-s's clock, shifted by the offset.
  const int64_t a0 = ea["start"], a1 = ea["end"];
  auto threads_alone = Threads(alone, a0, a1);
  auto threads_both = Threads(both, a0 + off, a1 + off);
  std::vector<int64_t> times;
  for (int i = 0; i <= 400; ++i) times.push_back(a0 + (a1 - a0) / 400 * i);
  std::vector<int64_t> shifted;
  for (int64_t t : times) shifted.push_back(t + off);
  int compared = 0;
  for (const auto& [key, id] : threads_alone) {
    if (key.first != "host-s" || !threads_both.count(key)) continue;
    auto want = States(alone, id, times);
    if (want.empty()) continue;
    std::set<std::tuple<int64_t, int64_t, std::string>> moved;
    for (const auto& [b, e, style] : want)
      moved.insert({b + off, e + off, style});
    auto got = States(both, threads_both[key], shifted);
    // The first state of a thread begins at its history's start: host-s's
    // first event alone, the experiment's first event (host-c's, never
    // earlier once converted) together. Its end, and every later state,
    // are the same instants.
    ASSERT_FALSE(got.empty()) << key.second;
    EXPECT_LE(std::get<0>(*got.begin()), std::get<0>(*moved.begin()));
    EXPECT_GE(std::get<0>(*got.begin()), eb["start"].get<int64_t>());
    EXPECT_EQ(std::get<1>(*got.begin()), std::get<1>(*moved.begin()));
    got.erase(got.begin());
    moved.erase(moved.begin());
    EXPECT_EQ(got, moved) << key.second;
    if (++compared == 5) break;
  }
  EXPECT_GT(compared, 0);

  // The histogram's host-s series (trace 1 of the pair, 0 alone).
  auto series = [&](const std::string& exp, int64_t id,
                    const std::vector<int64_t>& at) {
    Json m =
        XyModel(exp, Json{{"requested_times", at}, {"requested_items", {id}}});
    for (const Json& x : m["series"]) {
      if (x["seriesId"] == id) return x["yValues"];
    }
    return Json();
  };
  const Json want_counts = series(alone, 2, times);
  ASSERT_TRUE(want_counts.is_array());
  EXPECT_EQ(series(both, 3, shifted), want_counts);

  // The events table: host-s's first event, in host-c's clock.
  EXPECT_EQ(FirstEventTime(both, "vc-host-s"),
            FirstEventTime(alone, "vc-host-s") + off);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
