#include "analyses/index/events_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

#include "index_test_util.h"

namespace vmtrace::index {
namespace {

UserRegex Re(const std::string& pattern) {
  return UserRegex::Compile(pattern).value();
}

class EventsTableTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    all_ = new std::vector<FlatEvent>(ReadAll({kSimpleKernel}));
    store_ = new std::string(TempDir("table"));
    IndexOptions o;
    o.checkpoint_interval = 97;
    index_ =
        ExperimentIndex::Open({{kSimpleKernel}}, *store_, o).value().release();
    index_->WaitUntilDone();
  }
  static void TearDownTestSuite() {
    delete index_;
    std::filesystem::remove_all(*store_);
    delete store_;
    delete all_;
  }
  static std::vector<FlatEvent>* all_;
  static std::string* store_;
  static ExperimentIndex* index_;
};
std::vector<FlatEvent>* EventsTableTest::all_;
std::string* EventsTableTest::store_;
ExperimentIndex* EventsTableTest::index_;

TEST_F(EventsTableTest, ColumnsHaveStableUniqueIdsAndTimestampNs) {
  EventsTable table(index_, {"k"});
  std::set<int64_t> ids;
  bool has_ns = false;
  for (const auto& c : table.columns()) {
    EXPECT_TRUE(ids.insert(c.id).second);
    has_ns |= c.name == "Timestamp ns";
  }
  EXPECT_TRUE(has_ns);
  // This trace has no tid/pid/procname contexts: no empty columns for them.
  EXPECT_FALSE(ids.count(EventsTable::kTid));
  EXPECT_FALSE(ids.count(EventsTable::kProcess));
}

TEST_F(EventsTableTest, PagesEqualTheSequentialRead) {
  EventsTable table(index_, {"k"});
  const uint64_t n = all_->size();
  for (uint64_t start : {uint64_t(0), n / 2, n - 100, n - 3}) {
    TableQuery q;
    q.index = start;
    q.count = 100;
    q.column_ids = {EventsTable::kTimestampNs, EventsTable::kEventType,
                    EventsTable::kContents};
    auto page = table.Fetch(q);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->low_index, start);
    EXPECT_EQ(page->size, n);
    ASSERT_EQ(page->lines.size(), std::min<uint64_t>(100, n - start));
    for (const auto& line : page->lines) {
      const FlatEvent& e = (*all_)[line.index];
      ASSERT_EQ(line.cells.size(), 3u);
      EXPECT_EQ(line.cells[0], std::to_string(e.ts));
      EXPECT_EQ(line.cells[1], e.name);
      EXPECT_EQ(line.cells[2], e.payload);
      EXPECT_EQ(line.tags, 0);
    }
  }
}

TEST_F(EventsTableTest, RequestedTimeSelectsTheFirstEventAtOrAfter) {
  EventsTable table(index_, {"k"});
  const FlatEvent& e = (*all_)[5000];
  TableQuery q;
  q.time = e.ts;
  q.count = 1;
  auto page = table.Fetch(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->lines.size(), 1u);
  uint64_t first = 5000;
  while (first > 0 && (*all_)[first - 1].ts == e.ts) --first;
  EXPECT_EQ(page->lines[0].index, first);
  q.time = INT64_MAX;  // past the end: the last event
  page = table.Fetch(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->lines.at(0).index, all_->size() - 1);
}

TEST_F(EventsTableTest, SearchHighlightsAndNavigates) {
  EventsTable table(index_, {"k"});
  auto is_match = [](const FlatEvent& e) { return e.name == "sched_switch"; };
  TableQuery q;
  q.index = 0;
  q.count = 50;
  q.search.insert_or_assign(EventsTable::kEventType, Re("^sched_switch$"));
  auto page = table.Fetch(q);
  ASSERT_TRUE(page.ok());
  for (const auto& line : page->lines) {
    EXPECT_EQ(line.tags != 0, is_match((*all_)[line.index])) << line.index;
  }

  // NEXT from 3000: the first match at or after 3000.
  q.index = 3000;
  q.count = 1;
  q.direction = TableQuery::Direction::kNext;
  page = table.Fetch(q);
  ASSERT_TRUE(page.ok());
  uint64_t want = 3000;
  while (!is_match((*all_)[want])) ++want;
  ASSERT_EQ(page->lines.size(), 1u);
  EXPECT_EQ(page->lines[0].index, want);
  EXPECT_EQ(page->lines[0].tags, EventsTable::kHighlightTag);

  // PREVIOUS from 3000: the last match at or before 3000, across several
  // checkpoint intervals.
  q.direction = TableQuery::Direction::kPrevious;
  page = table.Fetch(q);
  ASSERT_TRUE(page.ok());
  want = 3000;
  while (!is_match((*all_)[want])) --want;
  ASSERT_EQ(page->lines.size(), 1u);
  EXPECT_EQ(page->lines[0].index, want);

  // No match: no lines, lowIndex is the requested index.
  q.search.insert_or_assign(EventsTable::kEventType, Re("no_such_event_name"));
  q.direction = TableQuery::Direction::kNext;
  page = table.Fetch(q);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->lines.empty());
  EXPECT_EQ(page->low_index, 3000u);
}

TEST_F(EventsTableTest, UnknownSearchColumnIsAnError) {
  EventsTable table(index_, {"k"});
  TableQuery q;
  q.index = 0;
  q.count = 1;
  q.search.insert_or_assign(12345, Re("x"));
  EXPECT_EQ(table.Fetch(q).status().code(), StatusCode::kInvalidArgument);
}

// Follows a search through its stops (each after max_scan events) until it
// finds a match or runs out; returns the match and counts the stops.
std::optional<uint64_t> SearchWithStops(const EventsTable& table, TableQuery q,
                                        int* stops) {
  *stops = 0;
  for (;;) {
    auto page = table.Fetch(q);
    EXPECT_TRUE(page.ok());
    if (!page.ok()) return std::nullopt;
    if (!page->lines.empty()) return page->lines[0].index;
    if (!page->search_stopped_at) return std::nullopt;
    EXPECT_EQ(page->low_index, *page->search_stopped_at);
    // Each stop is exactly max_scan events further.
    if (q.direction == TableQuery::Direction::kNext) {
      EXPECT_EQ(*page->search_stopped_at, *q.index + q.max_scan);
    } else {
      EXPECT_EQ(*page->search_stopped_at + q.max_scan, *q.index);
    }
    q.index = page->search_stopped_at;
    ++*stops;
  }
}

TEST_F(EventsTableTest, SearchStopsAfterMaxScanAndSaysWhereToContinue) {
  EventsTable table(index_, {"k"});
  const uint64_t n = all_->size();
  // The event name whose first occurrence is the latest, and the one whose
  // last occurrence is the earliest: long searches from either end.
  std::map<std::string, uint64_t> first, last;
  for (uint64_t i = 0; i < n; ++i) {
    first.emplace((*all_)[i].name, i);
    last[(*all_)[i].name] = i;
  }
  auto late = std::max_element(
      first.begin(), first.end(),
      [](const auto& a, const auto& b) { return a.second < b.second; });
  auto early = std::min_element(
      last.begin(), last.end(),
      [](const auto& a, const auto& b) { return a.second < b.second; });
  ASSERT_GT(late->second, 1000u);
  ASSERT_LT(early->second, n - 1000);

  TableQuery q;
  q.count = 1;
  q.max_scan = 300;  // not a multiple of the checkpoint interval (97)
  q.index = 0;
  q.direction = TableQuery::Direction::kNext;
  q.search.insert_or_assign(EventsTable::kEventType,
                            Re("^" + late->first + "$"));
  int stops = 0;
  EXPECT_EQ(SearchWithStops(table, q, &stops), late->second);
  EXPECT_EQ(stops, int(late->second / 300));

  q.index = n - 1;
  q.direction = TableQuery::Direction::kPrevious;
  q.search.insert_or_assign(EventsTable::kEventType,
                            Re("^" + early->first + "$"));
  EXPECT_EQ(SearchWithStops(table, q, &stops), early->second);
  EXPECT_EQ(stops, int((n - 1 - early->second) / 300));
  // Unbounded, in one request: the same match through growing chunks.
  q.max_scan = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(SearchWithStops(table, q, &stops), early->second);
  EXPECT_EQ(stops, 0);
  q.max_scan = 300;

  // No match anywhere: stops until the end, then an empty page with no
  // stop (the reference's "not found").
  q.index = n - 700;
  q.direction = TableQuery::Direction::kNext;
  q.search.insert_or_assign(EventsTable::kEventType, Re("no_such_event"));
  EXPECT_EQ(SearchWithStops(table, q, &stops), std::nullopt);
  EXPECT_EQ(stops, 2);
  q.index = 699;
  q.direction = TableQuery::Direction::kPrevious;
  EXPECT_EQ(SearchWithStops(table, q, &stops), std::nullopt);
  EXPECT_EQ(stops, 2);
}

}  // namespace
}  // namespace vmtrace::index
