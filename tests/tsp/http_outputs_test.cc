// Outputs over HTTP: the outputs list, the histogram (XY tree, sampling,
// counts), the events table, the empty styles/annotations/markers, the
// 404/405 rules of data endpoints (golden cases: http_golden_test.cc).
#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "tests/tsp/http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

constexpr char kUnknownExp[] = "00000000-0000-3000-8000-000000000000";

class HttpOutputsTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    exp_json_ = OpenIndexed(kTrace, "simple-kernel");
    ASSERT_TRUE(exp_json_.is_object());
    exp_ = exp_json_["UUID"];
    nb_events_ = exp_json_["nbEvents"];
    start_ = exp_json_["start"];
    end_ = exp_json_["end"];
    ASSERT_EQ(nb_events_, 11980u);
  }

  // Column id by name (-1 if absent).
  int64_t ColumnId(const std::string& name) {
    auto r = Post(Table(exp_, "columns"), Json{{"parameters", Json::object()}});
    Json j = Body(r);
    for (const auto& c : j["model"]) {
      if (c["name"] == name) return c["id"];
    }
    return -1;
  }
  // "Timestamp ns" of each line of a model.
  std::vector<int64_t> Times(const Json& model) {
    int64_t col = ColumnId("Timestamp ns");
    auto ids = model["columnIds"].get<std::vector<int64_t>>();
    size_t k = std::find(ids.begin(), ids.end(), col) - ids.begin();
    std::vector<int64_t> out;
    for (const auto& l : model["lines"]) {
      out.push_back(std::stoll(l["cells"][k]["content"].get<std::string>()));
    }
    return out;
  }
  std::vector<int64_t> XValues(const Json& range) {
    Json m = XyModel(
        exp_, {{"requested_timerange", range}, {"requested_items", {1}}});
    EXPECT_EQ(m["series"].size(), 1u) << m.dump();
    if (m["series"].empty()) return {};
    EXPECT_EQ(m["series"][0]["xValues"].size(),
              m["series"][0]["yValues"].size());
    return m["series"][0]["xValues"].get<std::vector<int64_t>>();
  }

  Json exp_json_;
  std::string exp_;
  uint64_t nb_events_ = 0;
  int64_t start_ = 0, end_ = 0;
};

TEST_F(HttpOutputsTest, OutputsListAndDescriptors) {
  auto r = Get(Outputs(exp_));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  Json list = Body(r);
  ASSERT_TRUE(list.is_array());
  ASSERT_GE(list.size(), 2u);
  static const std::set<std::string> kTypes = {
      "TABLE", "TREE_TIME_XY", "TIME_GRAPH",     "DATA_TREE",
      "NONE",  "GANTT_CHART",  "TREE_GENERIC_XY"};
  std::set<std::string> ids;
  for (const auto& o : list) ids.insert(o["id"].get<std::string>());
  std::vector<std::string> names;
  for (const auto& o : list) {
    EXPECT_TRUE(o["id"].is_string());
    EXPECT_TRUE(o["name"].is_string());
    EXPECT_TRUE(o["description"].is_string());
    EXPECT_TRUE(kTypes.count(o["type"].get<std::string>())) << o.dump();
    if (o.contains("parentId")) {
      EXPECT_TRUE(ids.count(o["parentId"]));
    }
    names.push_back(o["name"]);
    // The descriptor equals the list entry.
    auto one = Get(Outputs(exp_) + "/" + o["id"].get<std::string>());
    ASSERT_TRUE(one);
    EXPECT_EQ(one->status, 200);
    EXPECT_EQ(Body(one), o);
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  // The two outputs of the foundation (others may be listed too).
  auto find = [&list](const std::string& id) {
    for (const auto& o : list) {
      if (o["id"] == id) return o;
    }
    return Json();
  };
  Json histogram = find(kHistogramId), table = find(kTableId);
  EXPECT_EQ(histogram["name"], "Histogram");
  EXPECT_EQ(histogram["type"], "TREE_TIME_XY");
  EXPECT_EQ(table["name"], "Events Table");
  EXPECT_EQ(table["type"], "TABLE");

  EXPECT_EQ(ExpectError(Get(Outputs(kUnknownExp)), 404)["title"],
            "No such trace");
  EXPECT_EQ(
      ExpectError(Get(Outputs(kUnknownExp) + "/" + kHistogramId), 404)["title"],
      "No such trace");
  EXPECT_EQ(ExpectError(Get(Outputs(exp_) + "/nope"), 404)["title"],
            "Data provider doesn't exist");
  Json ct = Body(Get(Outputs(exp_) + "/" + kHistogramId + "/configTypes"));
  EXPECT_EQ(ct, Json::array());
  ExpectError(Get(Outputs(exp_) + "/" + kHistogramId + "/configTypes/x"), 404);
  // Global types are covered by http_config_test.cc; an unknown one is 404.
  EXPECT_TRUE(Body(Get("/config/types")).is_array());
  ExpectError(Get("/config/types/x"), 404);
}

TEST_F(HttpOutputsTest, XyTree) {
  for (const Json& params :
       {Json::object(),
        Json{{"requested_timerange", {{"start", start_}, {"end", end_}}}},
        Json{{"requested_times", {start_, end_}}}}) {
    auto r = Post(Xy(exp_, "tree"), Json{{"parameters", params}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    Json j = Body(r);
    EXPECT_EQ(j["status"], "COMPLETED");
    EXPECT_TRUE(j["statusMessage"].is_string());
    const Json& m = j["model"];
    ASSERT_TRUE(m["entries"].is_array());
    ASSERT_TRUE(m["headers"].is_array());
    std::set<int64_t> ids;
    for (const auto& e : m["entries"]) ids.insert(e["id"].get<int64_t>());
    int defaults = 0;
    for (const auto& e : m["entries"]) {
      EXPECT_TRUE(e["id"].is_number_integer());
      ASSERT_TRUE(e["labels"].is_array());
      for (const auto& l : e["labels"]) EXPECT_TRUE(l.is_string());
      EXPECT_TRUE(e["isDefault"].is_boolean()) << e.dump();
      defaults += e["isDefault"].get<bool>();
      if (e.contains("parentId")) {
        EXPECT_TRUE(e["parentId"] == -1 || ids.count(e["parentId"]))
            << e.dump();
      }
      if (e.contains("style")) {
        EXPECT_TRUE(e["style"]["values"].is_object());
      }
    }
    EXPECT_GE(defaults, 1);
    EXPECT_EQ(m["entries"].size(), 3u);  // experiment, Total, one trace
  }
  EXPECT_EQ(ExpectError(Post(Xy(exp_, "tree"),
                             Json{{"parameters", {{"requested_times", {5}}}}}),
                        400)["title"],
            "Invalid query parameters: requested_times");
  // Tree parameters are validated before the experiment lookup.
  ExpectError(Post(Xy(kUnknownExp, "tree"),
                   Json{{"parameters", {{"requested_times", {5}}}}}),
              400);
  ExpectError(Post(Xy(kUnknownExp, "tree"), Json{{"parameters", {}}}), 404);
}

TEST_F(HttpOutputsTest, XySampling) {
  EXPECT_EQ(XValues({{"start", 0}, {"end", 1000}, {"nbTimes", 5}}),
            (std::vector<int64_t>{0, 250, 500, 750, 1000}));
  EXPECT_EQ(XValues({{"start", 0}, {"end", 10}, {"nbTimes", 4}}),
            (std::vector<int64_t>{0, 3, 6, 9, 10}));
  EXPECT_EQ(XValues({{"start", 0}, {"end", 3}, {"nbTimes", 1000}}),
            (std::vector<int64_t>{0, 1, 2, 3}));
  auto capped = XValues({{"start", 0}, {"end", 6553500}, {"nbTimes", 100000}});
  ASSERT_EQ(capped.size(), 65536u);
  EXPECT_EQ(capped[1], 100);
  EXPECT_EQ(capped.back(), 6553500);
  EXPECT_EQ(XValues({{"start", start_}, {"end", end_}}),
            (std::vector<int64_t>{start_, end_}));
  EXPECT_EQ(XValues({{"start", start_}, {"end", end_}, {"nbTimes", 1}}),
            (std::vector<int64_t>{start_, end_}));

  Json m = XyModel(exp_, {{"requested_timerange",
                           {{"start", start_}, {"end", end_}, {"nbTimes", 50}}},
                          {"requested_items", {0, 1, 2}}});
  EXPECT_TRUE(m["title"].is_string());
  ASSERT_EQ(m["series"].size(), 2u);  // 0 is a grouping row without data
  for (const auto& s : m["series"]) {
    EXPECT_TRUE(s["seriesId"] == 1 || s["seriesId"] == 2);
    EXPECT_TRUE(s["seriesName"].is_string());
    EXPECT_EQ(s["xValues"].size(), s["yValues"].size());
    static const std::set<std::string> kKinds = {"line", "scatter", "bar",
                                                 "area"};
    EXPECT_TRUE(kKinds.count(s["style"]["values"]["series-type"]))
        << s["style"].dump();
    for (const char* d : {"xValuesDescription", "yValuesDescription"}) {
      EXPECT_TRUE(s[d]["label"].is_string());
      EXPECT_TRUE(s[d]["unit"].is_string());
      EXPECT_TRUE(s[d]["dataType"].is_string());
    }
  }
  EXPECT_EQ(XyModel(exp_, {{"requested_timerange", {{"start", 0}, {"end", 9}}},
                           {"requested_items", Json::array()}})["series"],
            Json::array());
}

TEST_F(HttpOutputsTest, XyValidation) {
  const std::string path = Xy(exp_, "xy");
  EXPECT_EQ(ExpectError(Post(path, Json{{"parameters", Json::object()}}),
                        400)["title"],
            "Missing query parameters: requested_timerange");
  EXPECT_EQ(ExpectError(Post(path, Json{{"parameters",
                                         {{"requested_timerange",
                                           {{"start", 0}, {"end", 9}}}}}}),
                        400)["title"],
            "Missing query parameters: requested_items");
  EXPECT_EQ(
      ExpectError(
          Post(path, Json{{"parameters",
                           {{"requested_timerange", {{"start", 0}, {"end", 9}}},
                            {"requested_items", 5}}}}),
          400)["title"],
      "Invalid query parameters: requested_items");
  EXPECT_EQ(ExpectError(Post(path, Json{{"parameters",
                                         {{"requested_timerange",
                                           {{"start", "0"}, {"end", 9}}},
                                          {"requested_items", {1}}}}}),
                        400)["title"],
            "Invalid query parameters: requested_timerange");
  ExpectError(Post(path, std::string("{\"parameters\":")), 400);
}

TEST_F(HttpOutputsTest, HistogramSumOverFullRangeIsNbEvents) {
  for (int nb : {2, 7, 100, 1000}) {
    Json m =
        XyModel(exp_, {{"requested_timerange",
                        {{"start", start_}, {"end", end_}, {"nbTimes", nb}}},
                       {"requested_items", {1, 2}}});
    ASSERT_EQ(m["series"].size(), 2u);
    for (const auto& s : m["series"]) {
      double sum = 0;
      for (const auto& y : s["yValues"]) sum += y.get<double>();
      EXPECT_EQ(sum, double(nb_events_))
          << "nbTimes " << nb << " series " << s["seriesId"];
    }
  }
}

TEST_F(HttpOutputsTest, Int64RoundTripWithoutPrecisionLoss) {
  // Sent and checked as raw text: a double would turn ...806 into ...808.
  const std::string body =
      R"({"parameters":{"requested_timerange":{"start":9223372036854775806,)"
      R"("end":9223372036854775807},"requested_items":[1]}})";
  auto r = Post(Xy(exp_, "xy"), body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(
      r->body.find(R"("xValues":[9223372036854775806,9223372036854775807])"),
      std::string::npos)
      << r->body;
  const std::string lines_body =
      R"({"parameters":{"requested_times":[9223372036854775806],)"
      R"("requested_table_count":1}})";
  auto l = Post(Table(exp_, "lines"), lines_body);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->status, 200) << l->body;
  // Time fields of the experiment are bare integers.
  auto e = Get("/experiments/" + exp_);
  ASSERT_TRUE(e);
  EXPECT_NE(e->body.find("\"start\":" + std::to_string(start_)),
            std::string::npos);
  EXPECT_NE(e->body.find("\"end\":" + std::to_string(end_)), std::string::npos);
}

TEST_F(HttpOutputsTest, TableColumns) {
  auto r = Post(Table(exp_, "columns"), Json{{"parameters", Json::object()}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  Json j = Body(r);
  EXPECT_EQ(j["status"], "COMPLETED");
  ASSERT_TRUE(j["model"].is_array());
  std::set<int64_t> ids;
  std::set<std::string> names;
  for (const auto& c : j["model"]) {
    EXPECT_TRUE(c["id"].is_number_integer());
    EXPECT_TRUE(ids.insert(c["id"].get<int64_t>()).second) << "duplicate id";
    EXPECT_TRUE(c["name"].is_string());
    names.insert(c["name"]);
    EXPECT_TRUE(c["description"].is_string() || c["description"].is_null());
    EXPECT_TRUE(c["type"].is_string());
  }
  for (const char* n :
       {"Timestamp ns", "Timestamp", "Event type", "CPU", "Contents"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  // Empty body is also accepted as "no parameters".
  auto e = Post(Table(exp_, "columns"), std::string("{}"));
  ASSERT_TRUE(e);
  EXPECT_EQ(Body(e), j);
}

TEST_F(HttpOutputsTest, TableLinesFirstMiddleLast) {
  Json first = Lines(
      exp_, {{"requested_table_index", 0}, {"requested_table_count", 100}});
  ASSERT_TRUE(first.is_object());
  EXPECT_EQ(first["lowIndex"], 0);
  EXPECT_EQ(first["size"], nb_events_);
  ASSERT_EQ(first["lines"].size(), 100u);
  const size_t ncols = first["columnIds"].size();
  Json columns = Body(Post(Table(exp_, "columns"), std::string("{}")))["model"];
  EXPECT_EQ(ncols, columns.size());  // all columns by default
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(first["lines"][i]["index"], i);
    EXPECT_EQ(first["lines"][i]["cells"].size(), ncols);
    EXPECT_FALSE(first["lines"][i].contains("tags"));
  }
  auto t0 = Times(first);
  EXPECT_EQ(t0.front(), start_);
  EXPECT_TRUE(std::is_sorted(t0.begin(), t0.end()));

  const uint64_t mid = nb_events_ / 2;
  Json middle = Lines(exp_, {{"requested_table_index", mid},
                             {"requested_table_count", 50},
                             {"requested_table_column_ids", Json::array()}});
  EXPECT_EQ(middle["lowIndex"], mid);
  ASSERT_EQ(middle["lines"].size(), 50u);
  EXPECT_EQ(middle["lines"][0]["index"], mid);
  EXPECT_EQ(middle["lines"][49]["index"], mid + 49);
  auto tm = Times(middle);
  EXPECT_TRUE(std::is_sorted(tm.begin(), tm.end()));
  EXPECT_GE(tm.front(), t0.back());

  Json last = Lines(exp_, {{"requested_table_index", nb_events_ - 1},
                           {"requested_table_count", 100}});
  ASSERT_EQ(last["lines"].size(), 1u);
  EXPECT_EQ(last["lines"][0]["index"], nb_events_ - 1);
  EXPECT_EQ(Times(last).back(), end_);

  // A page that crosses the end is cut; the next ones are empty.
  Json tail = Lines(exp_, {{"requested_table_index", nb_events_ - 10},
                           {"requested_table_count", 100}});
  EXPECT_EQ(tail["lines"].size(), 10u);
  auto tt = Times(tail);
  EXPECT_TRUE(std::is_sorted(tt.begin(), tt.end()));
  EXPECT_GE(tt.front(), tm.back());
}

TEST_F(HttpOutputsTest, TableLinesByTime) {
  Json page = Lines(
      exp_, {{"requested_table_index", 0}, {"requested_table_count", 300}});
  auto times = Times(page);
  ASSERT_EQ(times.size(), 300u);
  for (size_t k : {0, 1, 57, 150, 298}) {
    for (int64_t t : {times[k], times[k] + 1}) {
      size_t want =
          std::lower_bound(times.begin(), times.end(), t) - times.begin();
      if (want >= times.size()) continue;
      Json m =
          Lines(exp_, {{"requested_times", {t}}, {"requested_table_count", 1}});
      ASSERT_EQ(m["lines"].size(), 1u) << t;
      EXPECT_EQ(m["lines"][0]["index"], want) << "t=" << t;
      EXPECT_EQ(m["lowIndex"], want);
      EXPECT_GE(Times(m)[0], t);
    }
  }
  Json before =
      Lines(exp_, {{"requested_times", {0}}, {"requested_table_count", 1}});
  EXPECT_EQ(before["lines"][0]["index"], 0);
}

TEST_F(HttpOutputsTest, TableColumnSelection) {
  const int64_t ts = ColumnId("Timestamp ns"), type = ColumnId("Event type");
  ASSERT_GE(ts, 0);
  ASSERT_GE(type, 0);
  Json all = Lines(
      exp_, {{"requested_table_index", 20}, {"requested_table_count", 10}});
  Json sel = Lines(exp_, {{"requested_table_index", 20},
                          {"requested_table_count", 10},
                          {"requested_table_column_ids", {type, ts}}});
  EXPECT_EQ(sel["columnIds"], Json({type, ts}));
  auto all_ids = all["columnIds"].get<std::vector<int64_t>>();
  size_t ki = std::find(all_ids.begin(), all_ids.end(), ts) - all_ids.begin();
  size_t kt = std::find(all_ids.begin(), all_ids.end(), type) - all_ids.begin();
  ASSERT_EQ(sel["lines"].size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    ASSERT_EQ(sel["lines"][i]["cells"].size(), 2u);
    EXPECT_EQ(sel["lines"][i]["cells"][0], all["lines"][i]["cells"][kt]);
    EXPECT_EQ(sel["lines"][i]["cells"][1], all["lines"][i]["cells"][ki]);
  }
  // Unknown columns only: no columns, no lines.
  Json none = Lines(exp_, {{"requested_table_index", 0},
                           {"requested_table_count", 10},
                           {"requested_table_column_ids", {4242}}});
  EXPECT_EQ(none["columnIds"], Json::array());
  EXPECT_EQ(none["lines"], Json::array());
}

TEST_F(HttpOutputsTest, TableSearch) {
  const int64_t type = ColumnId("Event type");
  const std::string type_key = std::to_string(type);
  Json all = Lines(exp_, {{"requested_table_index", 0},
                          {"requested_table_count", 2000},
                          {"requested_table_column_ids", {type}}});
  std::vector<size_t> matches;
  for (const auto& l : all["lines"]) {
    if (l["cells"][0]["content"] == "sched_switch")
      matches.push_back(l["index"]);
  }
  ASSERT_GE(matches.size(), 3u);

  Json tagged = Lines(
      exp_, {{"requested_table_index", 0},
             {"requested_table_count", 2000},
             {"requested_table_column_ids", {type}},
             {"table_search_expressions", {{type_key, "^sched_switch$"}}}});
  ASSERT_EQ(tagged["lines"].size(), all["lines"].size());
  for (const auto& l : tagged["lines"]) {
    bool m = std::binary_search(matches.begin(), matches.end(),
                                l["index"].get<size_t>());
    if (m) {
      EXPECT_EQ(l.value("tags", 0), 8) << l.dump();
    } else {
      EXPECT_FALSE(l.contains("tags") && l["tags"] != 0) << l.dump();
    }
  }

  // NEXT from just after the first match finds the second.
  Json next =
      Lines(exp_, {{"requested_table_index", matches[0] + 1},
                   {"requested_table_count", 5},
                   {"table_search_expressions", {{type_key, "^sched_switch$"}}},
                   {"table_search_direction", "NEXT"}});
  ASSERT_FALSE(next["lines"].empty());
  EXPECT_EQ(next["lowIndex"], matches[1]);
  EXPECT_EQ(next["lines"][0]["index"], matches[1]);
  EXPECT_EQ(next["lines"][0]["tags"], 8);
  EXPECT_EQ(next["lines"].size(), 5u);
  // NEXT at a match returns that match.
  Json at =
      Lines(exp_, {{"requested_table_index", matches[1]},
                   {"requested_table_count", 1},
                   {"table_search_expressions", {{type_key, "^sched_switch$"}}},
                   {"table_search_direction", "NEXT"}});
  ASSERT_EQ(at["lines"].size(), 1u);
  EXPECT_EQ(at["lines"][0]["index"], matches[1]);
  // PREVIOUS from just before the third match finds the second.
  Json prev =
      Lines(exp_, {{"requested_table_index", matches[2] - 1},
                   {"requested_table_count", 1},
                   {"table_search_expressions", {{type_key, "^sched_switch$"}}},
                   {"table_search_direction", "PREVIOUS"}});
  ASSERT_EQ(prev["lines"].size(), 1u);
  EXPECT_EQ(prev["lines"][0]["index"], matches[1]);
  // No match: no lines, lowIndex = the requested index.
  Json none = Lines(
      exp_, {{"requested_table_index", 10},
             {"requested_table_count", 5},
             {"table_search_expressions", {{type_key, "^no_such_event_xyz$"}}},
             {"table_search_direction", "NEXT"}});
  EXPECT_EQ(none["lines"], Json::array());
  EXPECT_EQ(none["lowIndex"], 10);
}

TEST_F(HttpOutputsTest, TableValidation) {
  const std::string path = Table(exp_, "lines");
  auto bad = [&](const Json& p) {
    Json e = ExpectError(Post(path, Json{{"parameters", p}}), 400);
    EXPECT_TRUE(e.is_object()) << p.dump();
  };
  bad({{"requested_table_index", 0}, {"requested_table_count", "10"}});
  bad({{"requested_table_index", 0}});
  bad({{"requested_table_count", 10}});  // neither index nor times
  bad({{"requested_table_index", "0"}, {"requested_table_count", 10}});
  bad({{"requested_table_index", 0},
       {"requested_table_count", 10},
       {"table_search_direction", "SIDEWAYS"}});
  bad({{"requested_table_index", 0},
       {"requested_table_count", 10},
       {"requested_table_column_ids", "all"}});
  ExpectError(Post(path, std::string("not json")), 400);
}

TEST_F(HttpOutputsTest, StylesAnnotationsMarkerSetsAreValidEmptyModels) {
  for (const std::string& id :
       {std::string(kHistogramId), std::string(kTableId)}) {
    const std::string base = Outputs(exp_) + "/" + id;
    Json s = Body(Post(base + "/style", Json{{"parameters", Json::object()}}));
    EXPECT_EQ(s["status"], "COMPLETED");
    EXPECT_TRUE(s["model"]["styles"].is_object()) << s.dump();
    Json c = Body(Get(base + "/annotations"));
    EXPECT_TRUE(c["model"]["annotationCategories"].is_array()) << c.dump();
    Json c2 = Body(Get(base + "/annotations?markerSetId=-1"));
    EXPECT_TRUE(c2["model"]["annotationCategories"].is_array());
    Json a =
        Body(Post(base + "/annotations",
                  Json{{"parameters",
                        {{"requested_timerange",
                          {{"start", start_}, {"end", end_}, {"nbTimes", 10}}},
                         {"requested_marker_set", "-1"},
                         {"requested_marker_categories", {"A"}}}}}));
    EXPECT_TRUE(a["model"]["annotations"].is_object()) << a.dump();
    EXPECT_TRUE(a["model"]["annotations"].empty() ||
                (a["model"]["annotations"].size() == 1 &&
                 a["model"]["annotations"].contains("A")));
  }
  Json m = Body(Get(Outputs(exp_) + "/markerSets"));
  EXPECT_TRUE(m["model"].is_array()) << m.dump();
  EXPECT_EQ(m["status"], "COMPLETED");
  ExpectError(Get(Outputs(kUnknownExp) + "/markerSets"), 404);
}

TEST_F(HttpOutputsTest, UnknownOutputOnDataEndpointIs405) {
  const std::string base = Outputs(exp_);
  const Json range = {{"start", start_}, {"end", end_}, {"nbTimes", 10}};
  struct Case {
    std::string path;
    Json params;
  };
  const std::vector<Case> cases = {
      {base + "/XY/nope/tree", Json::object()},
      {base + "/XY/nope/xy",
       {{"requested_timerange", range}, {"requested_items", {1}}}},
      {base + "/table/nope/columns", Json::object()},
      {base + "/table/nope/lines",
       {{"requested_table_index", 0}, {"requested_table_count", 1}}},
      {base + "/nope/style", Json::object()},
      {base + "/nope/annotations", {{"requested_timerange", range}}},
      // An existing output on an endpoint of another type.
      {base + "/table/" + kHistogramId + "/columns", Json::object()},
      {base + "/XY/" + kTableId + "/tree", Json::object()},
      {base + "/timeGraph/nope/tree", Json::object()},
      {base + "/timeGraph/nope/states",
       {{"requested_timerange", range}, {"requested_items", {1}}}},
      {base + "/timeGraph/nope/arrows", {{"requested_timerange", range}}},
      {base + "/timeGraph/nope/tooltip", Json::object()},
      {base + "/data/nope/tree", Json::object()},
  };
  for (const auto& c : cases) {
    Json e = ExpectError(Post(c.path, Json{{"parameters", c.params}}), 405);
    EXPECT_EQ(e["title"], "Analysis cannot run") << c.path;
  }
  ExpectError(Get(base + "/nope/annotations"), 405);
  // An unknown experiment is 404 on data endpoints.
  EXPECT_EQ(ExpectError(Post(Table(kUnknownExp, "lines"),
                             Json{{"parameters",
                                   {{"requested_table_index", 0},
                                    {"requested_table_count", 1}}}}),
                        404)["title"],
            "No such trace");
  ExpectError(
      Post(Xy(kUnknownExp, "xy"),
           Json{{"parameters",
                 {{"requested_timerange", range}, {"requested_items", {1}}}}}),
      404);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
