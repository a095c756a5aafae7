// Request limits over HTTP (tsp/limits.h, README "Limits"): hostile or
// careless requests get a 400 TSP error naming the parameter, or a bounded
// answer; never a crash, a hang or an unbounded reply. Also the exact
// instants of a legacy `requested_times` list.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "http_fixture.h"
#include "tsp/http/limits.h"
#include "tsp/outputs/kernel/kernel_providers.h"

namespace vmtrace::tsp::testing {
namespace {

std::string Deep(int depth) {
  return "{\"parameters\":{\"x\":" + std::string(depth, '[') +
         std::string(depth, ']') + "}}";
}

class HttpLimitsTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    Json exp = OpenIndexed(kTrace, "simple-kernel");
    ASSERT_TRUE(exp.is_object());
    exp_ = exp["UUID"];
    start_ = exp["start"];
    end_ = exp["end"];
  }

  std::string Tg(const std::string& what) {
    return Outputs(exp_) + "/timeGraph/" + kThreadStatusId + "/" + what;
  }
  // Thread Status entry ids with data.
  std::vector<int64_t> Rows() {
    Json tree = Body(Post(
        Tg("tree"),
        Json{{"parameters",
              {{"requested_timerange", {{"start", start_}, {"end", end_}}}}}}));
    std::vector<int64_t> ids;
    for (const auto& e : tree["model"]["entries"]) {
      if (e.value("hasData", false)) ids.push_back(e["id"]);
    }
    return ids;
  }
  int64_t ColumnId(const std::string& name) {
    Json j = Body(
        Post(Table(exp_, "columns"), Json{{"parameters", Json::object()}}));
    for (const auto& c : j["model"]) {
      if (c["name"] == name) return c["id"];
    }
    return -1;
  }
  bool HasOutput(const std::string& id) {
    for (const auto& o : Body(Get(Outputs(exp_)))) {
      if (o["id"] == id) return true;
    }
    return false;
  }
  // An analysis table (not the events table), or "".
  std::string OtherTable() {
    for (const auto& o : Body(Get(Outputs(exp_)))) {
      if (o["type"] == "TABLE" && o["id"] != kTableId) return o["id"];
    }
    return "";
  }
  // A 400 whose title is `title`.
  void Expect400(const httplib::Result& r, const std::string& title) {
    Json e = ExpectError(r, 400);
    if (e.is_object()) {
      EXPECT_EQ(e["title"], title);
    }
  }
  void ExpectAlive() {
    auto r = Get("/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }

  std::string exp_;
  int64_t start_ = 0, end_ = 0;
};

// 90,000 nested arrays used to overflow the stack (the JSON library copies
// values recursively) and kill the server.
TEST_F(HttpLimitsTest, DeepJsonIsRefusedOnEveryBody) {
  const std::string title =
      "Invalid query parameters: body (arrays and objects nested deeper than " +
      std::to_string(kMaxJsonDepth) + " levels)";
  const std::string deep = Deep(90000);
  Expect400(Post("/traces", deep), title);
  Expect400(Post("/experiments", deep), title);
  Expect400(Post(Tg("states"), deep), title);
  Expect400(Post(Table(exp_, "lines"), deep), title);
  if (HasOutput("vmtrace.critical-path")) {
    Expect400(Post(Outputs(exp_) + "/vmtrace.critical-path", deep), title);
  }
  Expect400(Post("/config/types/vmtrace.vm.vectors/configs", deep), title);
  // Just past the cap (the body and parameters are two levels).
  Expect400(Post(Table(exp_, "lines"), Deep(kMaxJsonDepth - 1)), title);
  ExpectAlive();
  // At the cap: parsed, then refused for what it says.
  Json e =
      ExpectError(Post(Table(exp_, "lines"), Deep(kMaxJsonDepth - 2)), 400);
  EXPECT_EQ(e["title"], "Incorrect query parameters");
  // Brackets inside strings are text, not nesting.
  Json lines = Lines(exp_, {{"requested_table_index", 0},
                            {"requested_table_count", 1},
                            {"x", std::string(100000, '[')}});
  EXPECT_EQ(lines["lines"].size(), 1u);
}

// A body past kMaxBodyBytes is refused before it is read or parsed.
TEST_F(HttpLimitsTest, HugeBodyIsRefused) {
  std::string body = "{\"parameters\":{\"requested_items\":[0";
  while (body.size() <= kMaxBodyBytes) body += ",0";
  body += "]}}";
  auto r = Post(Tg("states"), body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  Json e = Json::parse(r->body, nullptr, false);
  ASSERT_TRUE(e.is_object()) << r->body;
  EXPECT_TRUE(e.contains("title"));
  ExpectAlive();
}

// std::regex backtracked for ever on these (all "Timestamp ns" cells are
// 19 digits) and could not be cancelled.
TEST_F(HttpLimitsTest, CatastrophicSearchPatternsAnswerAtOnce) {
  const std::string ns = std::to_string(ColumnId("Timestamp ns"));
  for (const char* dir : {"NEXT", "PREVIOUS"}) {
    Json m = Lines(exp_, {{"requested_table_index", 6000},
                          {"requested_table_count", 1},
                          {"table_search_expressions", {{ns, "^(\\d+)+z$"}}},
                          {"table_search_direction", dir}});
    EXPECT_EQ(m["lines"], Json::array()) << dir;
  }
  Json page = Lines(exp_, {{"requested_table_index", 0},
                           {"requested_table_count", 100},
                           {"table_search_expressions", {{ns, "^(\\d+)+$"}}}});
  ASSERT_EQ(page["lines"].size(), 100u);
  for (const auto& l : page["lines"]) EXPECT_EQ(l["tags"], 8);
  ExpectAlive();
}

TEST_F(HttpLimitsTest, SearchPatternsAreCheckedAndCapped) {
  const std::string type = std::to_string(ColumnId("Event type"));
  auto search = [&](const Json& exprs) {
    return Post(Table(exp_, "lines"),
                Json{{"parameters",
                      {{"requested_table_index", 0},
                       {"requested_table_count", 1},
                       {"table_search_expressions", exprs},
                       {"table_search_direction", "NEXT"}}}});
  };
  // 50,000 nested groups used to overflow std::regex's recursion.
  Expect400(
      search({{type, std::string(50000, '(') + "a" + std::string(50000, ')')}}),
      "Invalid query parameters: table_search_expressions (pattern "
      "longer than 1000 characters)");
  Json e = ExpectError(search({{type, "([unclosed"}}), 400);
  EXPECT_EQ(e["title"].get<std::string>().rfind(
                "Invalid query parameters: table_search_expressions (invalid "
                "pattern: ",
                0),
            0u)
      << e.dump();
  Json many = Json::object();
  for (size_t i = 0; i <= kMaxPatterns; ++i) many[std::to_string(i)] = "x";
  Expect400(search(many),
            "Invalid query parameters: table_search_expressions (at most " +
                std::to_string(kMaxPatterns) + " patterns)");
  // The longest pattern allowed still works.
  std::string longest =
      "^sched_switch$|" + std::string(kMaxPatternLength - 15, 'q');
  ASSERT_EQ(longest.size(), kMaxPatternLength);
  Json m = Body(search({{type, longest}}));
  ASSERT_EQ(m["model"]["lines"].size(), 1u);
  EXPECT_EQ(m["model"]["lines"][0]["cells"].size(),
            m["model"]["columnIds"].size());
}

TEST_F(HttpLimitsTest, TimeGraphFiltersAreLinearAndCapped) {
  std::vector<int64_t> rows = Rows();
  ASSERT_FALSE(rows.empty());
  auto states = [&](const Json& map) {
    return Post(Tg("states"),
                Json{{"parameters",
                      {{"requested_timerange",
                        {{"start", start_}, {"end", end_}, {"nbTimes", 500}}},
                       {"requested_items", rows},
                       {"filter_query_parameters",
                        {{"filter_expressions_map", map}}}}}});
  };
  Json slow = Body(states({{"1", {"^(.+)+z$"}}}));
  ASSERT_TRUE(slow["model"]["rows"].is_array());
  // Case-insensitive, found anywhere in the label and style name.
  Json dimmed = Body(states({{"1", {"rUnNiNg"}}}));
  size_t tagged = 0;
  for (const auto& r : dimmed["model"]["rows"]) {
    for (const auto& s : r["states"]) tagged += s.value("tags", 0) == 1;
  }
  EXPECT_GT(tagged, 0u);
  Json e = ExpectError(states({{"4", {"(?<=x)y"}}}), 400);
  EXPECT_EQ(e["title"].get<std::string>().rfind(
                "Invalid query parameters: filter_expressions_map (invalid "
                "pattern: ",
                0),
            0u)
      << e.dump();
  Expect400(states({{"1", {std::string(kMaxPatternLength + 1, 'a')}}}),
            "Invalid query parameters: filter_expressions_map (pattern longer "
            "than 1000 characters)");
  Expect400(states({{"1", std::vector<std::string>(kMaxPatterns / 2 + 1, "a")},
                    {"4", std::vector<std::string>(kMaxPatterns / 2, "b")}}),
            "Invalid query parameters: filter_expressions_map (at most " +
                std::to_string(kMaxPatterns) + " patterns)");
  ExpectAlive();
}

// 10,000 copies of one id made a 502 MB reply.
TEST_F(HttpLimitsTest, RequestedItemsAreDeduplicatedAndCapped) {
  std::vector<int64_t> rows = Rows();
  ASSERT_GE(rows.size(), 3u);
  const Json range{{"start", start_}, {"end", end_}, {"nbTimes", 100}};
  std::vector<int64_t> copies(10000, rows[1]);
  copies.push_back(rows[0]);
  copies.push_back(rows[1]);
  Json m = Body(Post(Tg("states"), Json{{"parameters",
                                         {{"requested_timerange", range},
                                          {"requested_items", copies}}}}));
  std::vector<int64_t> got;
  for (const auto& r : m["model"]["rows"]) got.push_back(r["entryId"]);
  std::sort(got.begin(), got.end());
  std::vector<int64_t> want{rows[0], rows[1]};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);

  Json xy = XyModel(exp_, {{"requested_timerange", range},
                           {"requested_items", std::vector<int64_t>(5000, 1)}});
  EXPECT_EQ(xy["series"].size(), 1u);

  std::vector<int64_t> distinct(kMaxRequestedItems + 1);
  for (size_t i = 0; i < distinct.size(); ++i) distinct[i] = int64_t(i);
  const std::string title =
      "Invalid query parameters: requested_items (at most " +
      std::to_string(kMaxRequestedItems) + " distinct ids)";
  Expect400(Post(Tg("states"), Json{{"parameters",
                                     {{"requested_timerange", range},
                                      {"requested_items", distinct}}}}),
            title);
  Expect400(Post(Xy(exp_, "xy"), Json{{"parameters",
                                       {{"requested_timerange", range},
                                        {"requested_items", distinct}}}}),
            title);
  // Table columns: each once.
  const int64_t type = ColumnId("Event type");
  Json lines = Lines(exp_, {{"requested_table_index", 0},
                            {"requested_table_count", 2},
                            {"requested_table_column_ids",
                             std::vector<int64_t>(20000, type)}});
  EXPECT_EQ(lines["columnIds"], Json::array({type}));
  EXPECT_EQ(lines["lines"][0]["cells"].size(), 1u);
}

TEST_F(HttpLimitsTest, RowsTimesSamplesIsCapped) {
  // Exactly 65,536 samples (res = 1000).
  const Json range{{"start", 0}, {"end", 65535000}, {"nbTimes", 65536}};
  const size_t state_rows = kMaxStateRowsTimesSamples / 65536 + 1;
  std::vector<int64_t> ids(state_rows);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int64_t(i);
  Json e = ExpectError(
      Post(Tg("states"),
           Json{{"parameters",
                 {{"requested_timerange", range}, {"requested_items", ids}}}}),
      400);
  EXPECT_EQ(e["title"], "Invalid query parameters: requested_items (" +
                            std::to_string(state_rows) +
                            " items x 65536 times is more "
                            "than " +
                            std::to_string(kMaxStateRowsTimesSamples) +
                            "; ask fewer items or a smaller nbTimes)");
  // One row fewer is legal.
  ids.pop_back();
  auto ok =
      Post(Tg("states"),
           Json{{"parameters",
                 {{"requested_timerange", range}, {"requested_items", ids}}}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);

  const size_t series = kMaxXySeriesTimesSamples / 65536 + 1;
  std::vector<int64_t> sids(series);
  for (size_t i = 0; i < sids.size(); ++i) sids[i] = int64_t(i);
  e = ExpectError(
      Post(Xy(exp_, "xy"),
           Json{{"parameters",
                 {{"requested_timerange", range}, {"requested_items", sids}}}}),
      400);
  EXPECT_NE(e["title"].get<std::string>().find(
                "Invalid query parameters: requested_items ("),
            std::string::npos);
  ExpectAlive();
}

// 2^31-1 returned the whole table.
TEST_F(HttpLimitsTest, TablePageSizeIsCapped) {
  const std::string title =
      "Invalid query parameters: requested_table_count (at most " +
      std::to_string(kMaxTableCount) + ")";
  for (int64_t count : {kMaxTableCount + 1, int64_t(2147483647)}) {
    Expect400(
        Post(Table(exp_, "lines"), Json{{"parameters",
                                         {{"requested_table_index", 0},
                                          {"requested_table_count", count}}}}),
        title);
  }
  Json page = Lines(exp_, {{"requested_table_index", 0},
                           {"requested_table_count", kMaxTableCount}});
  EXPECT_EQ(page["lines"].size(), size_t(kMaxTableCount));
  // Analysis tables too (the VM tables of a KVM host trace).
  Json kvm = OpenIndexed("perf-kvm-tinyguest-2cpu", "perf-kvm");
  exp_ = kvm["UUID"];
  const std::string other = OtherTable();
  ASSERT_FALSE(other.empty());
  Expect400(Post(Outputs(exp_) + "/table/" + other + "/lines",
                 Json{{"parameters",
                       {{"requested_table_index", 0},
                        {"requested_table_count", kMaxTableCount + 1}}}}),
            title);
}

// A legacy requested_times list is the instants asked, not an evenly spaced
// range between its smallest and largest.
TEST_F(HttpLimitsTest, RequestedTimesAreExactInstants) {
  const int64_t third = start_ + (end_ - start_) / 3;
  const std::vector<int64_t> asked{end_, start_, third, start_ + 1, third};
  const std::vector<int64_t> want{start_, start_ + 1, third, end_};
  Json xy =
      XyModel(exp_, {{"requested_times", asked}, {"requested_items", {1}}});
  ASSERT_EQ(xy["series"].size(), 1u);
  EXPECT_EQ(xy["series"][0]["xValues"].get<std::vector<int64_t>>(), want);
  EXPECT_EQ(xy["series"][0]["yValues"].size(), want.size());

  // Every state returned holds one of the instants asked.
  std::vector<int64_t> rows = Rows();
  Json states = Body(Post(Tg("states"), Json{{"parameters",
                                              {{"requested_times", asked},
                                               {"requested_items", rows}}}}));
  size_t n = 0;
  for (const auto& r : states["model"]["rows"]) {
    for (const auto& s : r["states"]) {
      ++n;
      const int64_t a = s["start"], b = s["end"];
      EXPECT_TRUE(std::any_of(want.begin(), want.end(),
                              [&](int64_t t) { return a <= t && t <= b; }))
          << "entry " << r["entryId"] << " state [" << a << ", " << b << "]";
    }
  }
  EXPECT_GT(n, 0u);

  std::vector<int64_t> too_many(kMaxRequestedTimes + 1);
  for (size_t i = 0; i < too_many.size(); ++i) too_many[i] = int64_t(i);
  Expect400(
      Post(Xy(exp_, "xy"),
           Json{{"parameters",
                 {{"requested_times", too_many}, {"requested_items", {1}}}}}),
      "Invalid query parameters: requested_times (at most " +
          std::to_string(kMaxRequestedTimes) + " distinct times)");
}

}  // namespace
}  // namespace vmtrace::tsp::testing
