// ViewClock and WithViewClock on fake providers of two hosts: "ref" (the
// reference clock) and "late" (its clock 1000 ns ahead: t_ref = t - 1000).
// Each provider records the times it was asked for, so the tests see both
// directions of the conversion.
#include "tsp/outputs/view_clock.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vmtrace::tsp {
namespace {

constexpr int64_t kAhead = 1000;

sync::ClockSync TwoHosts() {
  sync::HostClock ref{"ref", 1.0, 0.0, 0, "reference", 10};
  sync::HostClock late{"late", 1.0, -double(kAhead), 50, "accurate", 10};
  return sync::ClockSync({ref, late});
}

// Entries: 1 = host "ref", 2 = its row; 3 = host "late", 4 = its row. A row
// holds one state [t, t + 10) at each asked time t (in its host's clock).
TreeModel TwoHostTree(int64_t start, int64_t end) {
  TreeModel m;
  m.entries = {{1, -1, {"ref"}},
               {2, 1, {"r"}, true},
               {3, -1, {"late"}},
               {4, 3, {"l"}, true}};
  m.entries[0].host = "ref";
  m.entries[2].host = "late";
  for (auto& e : m.entries) {
    e.start = start;
    e.end = end;
  }
  return m;
}

class FakeGraph : public TimeGraphProvider {
 public:
  OutputDescriptor descriptor() const override {
    return {"g", "G", "", "TIME_GRAPH"};
  }
  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    return TwoHostTree(start, end);
  }
  StatusOr<RowsModel> States(const std::vector<int64_t>& times,
                             const std::vector<int64_t>& items) const override {
    RowsModel m;
    for (int64_t id : items) {
      asked[id] = times;
      TimeGraphRow row{id, {}};
      for (int64_t t : times) row.states.push_back({t, t + 10, "s", ""});
      m.rows.push_back(row);
    }
    return m;
  }
  StatusOr<std::map<std::string, std::string>> Tooltip(
      int64_t item, int64_t time) const override {
    return std::map<std::string, std::string>{
        {"asked", std::to_string(item) + "@" + std::to_string(time)}};
  }
  StyleMap Styles() const override { return {}; }
  mutable std::map<int64_t, std::vector<int64_t>> asked;
};

class FakeXy : public XyProvider {
 public:
  OutputDescriptor descriptor() const override {
    return {"x", "X", "", "TREE_TIME_XY"};
  }
  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    return TwoHostTree(start, end);
  }
  // y = the asked time, per series.
  StatusOr<XyModel> Fetch(const std::vector<int64_t>& times,
                          const std::vector<int64_t>& items) const override {
    XyModel m;
    m.title = "X";
    for (int64_t id : items) {
      XySeries s{id, std::to_string(id), {}};
      for (int64_t t : times) s.y.push_back(double(t));
      m.series.push_back(s);
    }
    return m;
  }
};

// Rows numbered per reply (as table_tree.cc does): one row per host whose
// label is the range it was asked for.
class FakeStats : public DataTreeProvider {
 public:
  OutputDescriptor descriptor() const override {
    return {"d", "D", "", "DATA_TREE"};
  }
  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    TreeModel m;
    const std::string range = std::to_string(start) + "-" + std::to_string(end);
    m.entries = {{0, -1, {"ref"}},
                 {1, 0, {range}, true},
                 {2, -1, {"late"}},
                 {3, 2, {range}, true}};
    m.entries[0].host = "ref";
    m.entries[2].host = "late";
    return m;
  }
};

class ViewClockTest : public ::testing::Test {
 protected:
  std::shared_ptr<const ViewClock> Clock() {
    return std::make_shared<const ViewClock>(
        [this]() -> const sync::ClockSync* { return known ? &sync : nullptr; },
        std::vector<std::string>{"ref", "late"}, std::vector<size_t>{0, 1});
  }
  sync::ClockSync sync = TwoHosts();
  bool known = true;
};

TEST_F(ViewClockTest, StatesAreAskedAndDrawnInEachHostsClock) {
  FakeGraph g;
  auto w = WithViewClock(&g, Clock());
  ASSERT_TRUE(w->Tree(0, 100).ok());
  auto rows = w->States({100, 200}, {2, 4});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(g.asked[2], (std::vector<int64_t>{100, 200}));
  EXPECT_EQ(g.asked[4], (std::vector<int64_t>{1100, 1200}));
  for (const TimeGraphRow& r : rows->rows) {
    ASSERT_EQ(r.states.size(), 2u);
    // Drawn back in the reference clock: the same instants for both hosts.
    EXPECT_EQ(r.states[0].start, 100) << r.entry_id;
    EXPECT_EQ(r.states[1].end, 210) << r.entry_id;
  }
  auto tip = w->Tooltip(4, 500);
  ASSERT_TRUE(tip.ok());
  EXPECT_EQ(tip->at("asked"), "4@1500");
}

TEST_F(ViewClockTest, IdsNeverSeenInATreeAreLearnt) {
  FakeGraph g;
  auto w = WithViewClock(&g, Clock());
  ASSERT_TRUE(w->States({100}, {4}).ok());  // no Tree() first
  EXPECT_EQ(g.asked[4], (std::vector<int64_t>{1100}));
}

TEST_F(ViewClockTest, TreeSpansAreInTheViewClock) {
  FakeGraph g;
  auto tree = WithViewClock(&g, Clock())->Tree(0, 100);
  ASSERT_TRUE(tree.ok());
  ASSERT_EQ(tree->entries.size(), 4u);
  for (const TreeEntry& e : tree->entries) {
    EXPECT_EQ(e.start, 0) << e.id;
    EXPECT_EQ(e.end, 100) << e.id;
  }
}

TEST_F(ViewClockTest, XySeriesAreSampledAtTheSameInstants) {
  FakeXy x;
  auto w = WithViewClock(&x, Clock());
  auto m = w->Fetch({10, 20}, {2, 4});
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->series.size(), 2u);
  std::map<int64_t, std::vector<double>> y;
  for (const auto& s : m->series) y[s.id] = s.y;
  EXPECT_EQ(y[2], (std::vector<double>{10, 20}));
  EXPECT_EQ(y[4], (std::vector<double>{1010, 1020}));
  EXPECT_EQ(m->title, "X");
}

TEST_F(ViewClockTest, StatisticsOfEachHostCoverItsOwnRangeWithUniqueIds) {
  FakeStats d;
  auto tree = WithViewClock(&d, Clock())->Tree(0, 100);
  ASSERT_TRUE(tree.ok());
  ASSERT_EQ(tree->entries.size(), 4u);
  std::map<int64_t, const TreeEntry*> by_id;
  for (const TreeEntry& e : tree->entries) {
    EXPECT_TRUE(by_id.emplace(e.id, &e).second) << "duplicate id " << e.id;
  }
  std::map<std::string, std::string> range_of;
  for (const TreeEntry& e : tree->entries) {
    if (e.parent_id < 0) continue;
    ASSERT_TRUE(by_id.count(e.parent_id));
    range_of[by_id[e.parent_id]->labels[0]] = e.labels[0];
  }
  EXPECT_EQ(range_of["ref"], "0-100");
  EXPECT_EQ(range_of["late"], "1000-1100");
}

TEST_F(ViewClockTest, NothingIsConvertedBeforeTheSyncIsKnown) {
  known = false;
  FakeGraph g;
  auto clock = Clock();
  auto w = WithViewClock(&g, clock);
  ASSERT_TRUE(w->States({100}, {2, 4}).ok());
  EXPECT_EQ(g.asked[4], (std::vector<int64_t>{100}));
  EXPECT_EQ(clock->Active(), nullptr);
  EXPECT_EQ(clock->ToView("late", 5000), 5000);
  known = true;
  EXPECT_EQ(clock->ToView("late", 5000), 4000);
  EXPECT_EQ(clock->HostOfTrace(1), "late");
}

TEST_F(ViewClockTest, SnapshotTimesAreConvertedAndTheRangeNeverShrinks) {
  index::IndexSnapshot s;
  s.start = 1000;
  s.end = 9000;
  s.traces = {{10, 1000, 8000}, {10, 2000, 9000}};
  index::IndexSnapshot v = Clock()->InView(s);
  EXPECT_EQ(v.traces[0].start, 1000);
  EXPECT_EQ(v.traces[1].start, 1000);
  EXPECT_EQ(v.traces[1].end, 8000);
  EXPECT_EQ(v.start, 1000);
  EXPECT_EQ(v.end, 9000);  // not 8000: a viewer already saw 9000
}

}  // namespace
}  // namespace vmtrace::tsp
