// Routes of XY and TABLE outputs: XY trees and series, table columns and
// lines. Every output of these kinds (the histogram, the events table, the
// analyses' charts and tables, derived outputs) is served by its provider.
#include <limits>

#include "tsp/http/limits.h"
#include "tsp/routes/output_routing.h"

namespace vmtrace::tsp {
namespace {

Json XyModelJson(const XyModel& m, const std::vector<int64_t>& times,
                 const char* series_type) {
  Json out = Json::array();
  for (const auto& s : m.series) {
    out.push_back(Json{
        {"seriesId", s.id},
        {"seriesName", s.name},
        {"style", {{"values", {{"series-type", series_type}}}}},
        {"xValues", times},
        {"yValues", s.y},
        {"xValuesDescription",
         {{"label", "Time"}, {"unit", "ns"}, {"dataType", "TIMESTAMP"}}},
        {"yValuesDescription",
         {{"label", m.y_label}, {"unit", m.y_unit}, {"dataType", "NUMBER"}}}});
  }
  return Json{{"title", m.title}, {"series", out}};
}

ApiResponse XyTree(TraceService* svc, const ApiRequest& r) {
  // Tree endpoints validate their parameters before the experiment lookup.
  auto params = ParseParameters(r.body);
  if (!params.ok()) return FromStatus(params.status());
  auto range = GetTimeRange(*params);
  if (!range.ok()) return FromStatus(range.status());
  ApiResponse err;
  auto res = Resolve(svc, r, "TREE_TIME_XY", &err);
  if (!res) return err;
  const auto snap = res->exp->Snapshot();
  int64_t start = *range ? (*range)->start : snap.start;
  int64_t end = *range ? (*range)->end : snap.end;
  auto tree = res->xy->Tree(start, end);
  if (!tree.ok()) return FromStatus(tree.status());
  return Envelope(TreeJson(*tree, TreeKind::kXy), tree->running);
}

ApiResponse XyFetch(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TREE_TIME_XY", &err);
  if (!res) return err;
  auto range = GetTimeRange(res->params);
  if (!range.ok()) return FromStatus(range.status());
  if (!*range) return FromStatus(Missing("requested_timerange"));
  auto items = GetItems(res->params, "requested_items", true);
  if (!items.ok()) return FromStatus(items.status());
  auto times = SampleTimes(**range);
  if (!times.ok()) return FromStatus(times.status());
  Status size = CheckRowsTimesSamples(items->size(), times->size(),
                                      kMaxXySeriesTimesSamples);
  if (!size.ok()) return FromStatus(size);
  auto m = res->xy->Fetch(*times, *items);
  if (!m.ok()) return FromStatus(m.status());
  return Envelope(XyModelJson(*m, *times, m->series_type.c_str()), m->running);
}

ApiResponse TableColumns(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TABLE", &err);
  if (!res) return err;
  Json cols = Json::array();
  for (const auto& c : res->table->Columns()) {
    cols.push_back(Json{{"id", c.id},
                        {"name", c.name},
                        {"description", c.description},
                        {"type", c.type}});
  }
  return Envelope(std::move(cols), false);
}

StatusOr<index::TableQuery> ParseTableQuery(const Json& p) {
  const Status bad = InvalidArgument("Incorrect query parameters");
  index::TableQuery q;
  int64_t v;
  auto count = p.find("requested_table_count");
  if (count == p.end() || !AsInt64(*count, &v) || v < 0 ||
      v > std::numeric_limits<int32_t>::max()) {
    return bad;
  }
  if (v > kMaxTableCount) {
    return Invalid("requested_table_count",
                   "at most " + std::to_string(kMaxTableCount));
  }
  q.count = uint64_t(v);
  if (auto it = p.find("requested_table_index");
      it != p.end() && !it->is_null()) {
    if (!AsInt64(*it, &v) || v < 0) return bad;
    q.index = uint64_t(v);
  } else if (auto t = p.find("requested_times");
             t != p.end() && !t->is_null()) {
    if (!t->is_array() || t->empty() || !AsInt64((*t)[0], &v)) return bad;
    q.time = v;
  } else {
    return bad;
  }
  auto cols = GetItems(p, "requested_table_column_ids", false);
  if (!cols.ok()) return cols.status();
  q.column_ids = *cols;
  if (auto s = p.find("table_search_expressions");
      s != p.end() && !s->is_null()) {
    if (!s->is_object()) return bad;
    if (s->size() > kMaxPatterns) {
      return Invalid("table_search_expressions",
                     "at most " + std::to_string(kMaxPatterns) + " patterns");
    }
    for (const auto& [k, expr] : s->items()) {
      if (!expr.is_string()) return bad;
      char* end = nullptr;
      long long col = strtoll(k.c_str(), &end, 10);
      if (k.empty() || *end) return bad;
      const std::string& text = expr.get_ref<const std::string&>();
      if (text.empty()) continue;
      auto re = UserRegex::Compile(text);
      if (!re.ok()) {
        return Invalid("table_search_expressions", re.status().message());
      }
      q.search.insert_or_assign(col, std::move(re).value());
    }
  }
  q.max_scan = kMaxSearchScan;
  if (auto d = p.find("table_search_direction");
      d != p.end() && !d->is_null()) {
    if (*d == "NEXT") {
      q.direction = index::TableQuery::Direction::kNext;
    } else if (*d == "PREVIOUS") {
      q.direction = index::TableQuery::Direction::kPrevious;
    } else {
      return bad;
    }
  }
  return q;
}

// The statusMessage of a NEXT/PREVIOUS search that stopped without a match
// (lines [], lowIndex = `next`): the viewers only read lines[0], so they see
// "no match"; a script continues from `next` in the same direction.
std::string SearchStoppedMessage(uint64_t scanned, uint64_t next) {
  return "Search stopped after " + std::to_string(scanned) +
         " events without a match; continue from index " + std::to_string(next);
}

ApiResponse TableLines(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TABLE", &err);
  if (!res) return err;
  auto q = ParseTableQuery(res->params);
  if (!q.ok()) return FromStatus(q.status());
  auto lines_model = res->table->Lines(*q);
  if (!lines_model.ok()) return FromStatus(lines_model.status());
  const index::TablePage& page = lines_model->page;
  const std::string message =
      page.search_stopped_at
          ? SearchStoppedMessage(q->max_scan, *page.search_stopped_at)
          : std::string();
  Json lines = Json::array();
  for (const auto& l : page.lines) {
    Json cells = Json::array();
    for (const auto& c : l.cells) cells.push_back(Json{{"content", c}});
    Json line{{"index", l.index}, {"cells", std::move(cells)}};
    if (l.tags) line["tags"] = l.tags;
    lines.push_back(std::move(line));
  }
  Json model{{"lowIndex", page.low_index},
             {"size", page.size},
             {"columnIds", page.column_ids},
             {"lines", std::move(lines)}};
  return Envelope(std::move(model), lines_model->running, message);
}

}  // namespace

void AddXyTableRoutes(TraceService* svc, std::vector<Route>* routes) {
  const std::string base = "/experiments/{expUUID}/outputs";
  auto add = [routes](std::string p, ApiHandler h) {
    routes->push_back({"POST", std::move(p), std::move(h)});
  };
  add(base + "/XY/{outputId}/tree",
      [svc](const ApiRequest& r) { return XyTree(svc, r); });
  add(base + "/XY/{outputId}/xy",
      [svc](const ApiRequest& r) { return XyFetch(svc, r); });
  add(base + "/table/{outputId}/columns",
      [svc](const ApiRequest& r) { return TableColumns(svc, r); });
  add(base + "/table/{outputId}/lines",
      [svc](const ApiRequest& r) { return TableLines(svc, r); });
}

}  // namespace vmtrace::tsp
