// Routes under /experiments/{expUUID}/outputs: the outputs list, XY
// outputs (the histogram and the analyses' XY charts), the events table,
// and the per-output styles/annotations/config types.
#include <algorithm>
#include <limits>

#include "analyses/index/events_table.h"
#include "analyses/index/histogram.h"
#include "tsp/http/api.h"
#include "tsp/outputs/critical_path/critical_path_outputs.h"
#include "tsp/http/limits.h"
#include "tsp/routes/output_routing.h"
#include "tsp/http/query.h"
#include "tsp/service/trace_service.h"

namespace vmtrace::tsp {
namespace {

const OutputDescriptor kTable{
    kEventsTableId, "Events Table",
    "Every event of the experiment with its time, type, CPU, thread and "
    "payload",
    "TABLE"};
const OutputDescriptor kHistogram{kHistogramId, "Histogram",
                                  "Number of events over time, per trace",
                                  "TREE_TIME_XY"};

bool Running(const Experiment& e) {
  return e.index->Snapshot().state == index::IndexState::kRunning;
}

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
  const auto snap = res->exp->index->Snapshot();
  int64_t start = *range ? (*range)->start : snap.start;
  int64_t end = *range ? (*range)->end : snap.end;
  if (res->xy) {
    auto tree = res->xy->Tree(start, end);
    if (!tree.ok()) return FromStatus(tree.status());
    return Envelope(TreeJson(*tree, false), tree->running);
  }
  TreeModel m;
  m.headers = {"Name"};
  for (const auto& e : res->exp->histogram->Entries()) {
    m.entries.push_back(
        {e.id, e.parent_id, {e.name}, e.has_data, e.is_default, start, end});
  }
  return Envelope(TreeJson(m, false), Running(*res->exp));
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
  if (res->xy) {
    auto m = res->xy->Fetch(*times, *items);
    if (!m.ok()) return FromStatus(m.status());
    return Envelope(XyModelJson(*m, *times, "line"), m->running);
  }
  auto series = res->exp->histogram->Fetch(*times, *items);
  if (!series.ok()) return FromStatus(series.status());
  XyModel m;
  m.title = "Histogram";
  m.y_label = "Events";
  for (auto& s : *series) m.series.push_back({s.id, s.name, std::move(s.y)});
  return Envelope(XyModelJson(m, *times, "bar"), Running(*res->exp));
}

ApiResponse TableColumns(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TABLE", &err);
  if (!res) return err;
  Json cols = Json::array();
  if (res->table) {
    for (const auto& c : res->table->Columns()) {
      cols.push_back(Json{{"id", c.id},
                          {"name", c.name},
                          {"description", c.description},
                          {"type", c.type}});
    }
    return Envelope(std::move(cols), false);
  }
  for (const auto& c : res->exp->table->columns()) {
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

// Lines of an analysis table: the whole table is computed, then paged and
// searched here with the events table's semantics.
ApiResponse ProviderTableLines(const TableProvider& provider,
                               const index::TableQuery& q) {
  auto table = provider.Table();
  if (!table.ok()) return FromStatus(table.status());
  std::vector<int64_t> ids;
  std::vector<size_t> pos;
  auto column_pos = [&table](int64_t id) -> int {
    for (size_t i = 0; i < table->columns.size(); ++i) {
      if (table->columns[i].id == id) return int(i);
    }
    return -1;
  };
  if (q.column_ids.empty()) {
    for (size_t i = 0; i < table->columns.size(); ++i) {
      ids.push_back(table->columns[i].id);
      pos.push_back(i);
    }
  } else {
    for (int64_t id : q.column_ids) {
      if (int p = column_pos(id); p >= 0) {
        ids.push_back(id);
        pos.push_back(size_t(p));
      }
    }
  }
  std::vector<std::pair<size_t, const UserRegex*>> search;
  for (const auto& [col, re] : q.search) {
    int p = column_pos(col);
    if (p < 0) return FromStatus(InvalidArgument("Incorrect query parameters"));
    search.emplace_back(size_t(p), &re);
  }
  const auto& rows = table->rows;
  auto matches = [&](size_t r) {
    if (search.empty()) return false;
    for (const auto& [p, re] : search) {
      if (p >= rows[r].size() || !re->PartialMatch(rows[r][p])) return false;
    }
    return true;
  };
  uint64_t start = q.index.value_or(0);
  Json lines = Json::array();
  if (q.direction != index::TableQuery::Direction::kNone && !search.empty()) {
    // The events table's bound: at most max_scan rows are tested.
    std::optional<uint64_t> found, stopped;
    uint64_t budget = q.max_scan;
    if (q.direction == index::TableQuery::Direction::kNext) {
      uint64_t r = start;
      for (; r < rows.size() && budget > 0 && !found; ++r, --budget) {
        if (matches(r)) found = r;
      }
      if (!found && r < rows.size()) stopped = r;
    } else {
      uint64_t r = std::min<uint64_t>(start + 1, rows.size());
      for (; r > 0 && budget > 0; --budget) {
        if (matches(--r)) {
          found = r;
          break;
        }
      }
      if (!found && r > 0) stopped = r - 1;
    }
    if (!found) {
      return Envelope(
          Json{{"lowIndex", stopped.value_or(start)},
               {"size", rows.size()},
               {"columnIds", ids},
               {"lines", lines}},
          table->running,
          stopped ? SearchStoppedMessage(q.max_scan, *stopped) : std::string());
    }
    start = *found;
  }
  for (uint64_t r = start; r < rows.size() && r < start + q.count; ++r) {
    Json cells = Json::array();
    for (size_t p : pos) {
      cells.push_back(Json{{"content", p < rows[r].size() ? rows[r][p] : ""}});
    }
    Json line{{"index", r}, {"cells", std::move(cells)}};
    if (matches(r)) line["tags"] = index::EventsTable::kHighlightTag;
    lines.push_back(std::move(line));
  }
  return Envelope(Json{{"lowIndex", start},
                       {"size", rows.size()},
                       {"columnIds", ids},
                       {"lines", std::move(lines)}},
                  table->running);
}

ApiResponse TableLines(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TABLE", &err);
  if (!res) return err;
  auto q = ParseTableQuery(res->params);
  if (!q.ok()) return FromStatus(q.status());
  if (res->table) return ProviderTableLines(*res->table, *q);
  auto page = res->exp->table->Fetch(*q);
  if (!page.ok()) return FromStatus(page.status());
  const std::string message =
      page->search_stopped_at
          ? SearchStoppedMessage(q->max_scan, *page->search_stopped_at)
          : std::string();
  Json lines = Json::array();
  for (const auto& l : page->lines) {
    Json cells = Json::array();
    for (const auto& c : l.cells) cells.push_back(Json{{"content", c}});
    Json line{{"index", l.index}, {"cells", std::move(cells)}};
    if (l.tags) line["tags"] = l.tags;
    lines.push_back(std::move(line));
  }
  Json model{{"lowIndex", page->low_index},
             {"size", page->size},
             {"columnIds", page->column_ids},
             {"lines", std::move(lines)}};
  return Envelope(std::move(model), false, message);
}

}  // namespace

std::vector<OutputDescriptor> ExperimentOutputs(const Experiment& exp) {
  std::vector<OutputDescriptor> out = {kTable, kHistogram};
  for (const auto& p : exp.time_graphs) out.push_back(p->descriptor());
  for (const auto& p : exp.xys) out.push_back(p->descriptor());
  for (const auto& p : exp.tables) out.push_back(p->descriptor());
  if (exp.critical_paths) {
    for (auto& d : exp.critical_paths->Derived()) out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Json DescriptorJson(const OutputDescriptor& d) {
  Json j{{"id", d.id},
         {"name", d.name},
         {"description", d.description},
         {"type", d.type}};
  if (!d.parent_id.empty()) j["parentId"] = d.parent_id;
  return j;
}

std::optional<Resolved> Resolve(TraceService* svc, const ApiRequest& r,
                                const char* want_type, ApiResponse* error) {
  Resolved res;
  auto params = ParseParameters(r.body);
  if (!params.ok()) {
    *error = FromStatus(params.status());
    return std::nullopt;
  }
  res.params = std::move(params).value();
  auto exp = svc->OpenExperiment(r.params[0]);
  if (!exp.ok()) {
    *error = ExperimentError(exp.status());
    return std::nullopt;
  }
  res.exp = *exp;
  const std::string& id = r.params[1];
  bool found = false;
  for (const auto& d : ExperimentOutputs(*res.exp)) {
    if (d.id == id) {
      res.output = d;
      found = true;
    }
  }
  for (const auto& p : res.exp->time_graphs) {
    if (p->descriptor().id == id) res.time_graph = p.get();
  }
  for (const auto& p : res.exp->xys) {
    if (p->descriptor().id == id) res.xy = p.get();
  }
  for (const auto& p : res.exp->tables) {
    if (p->descriptor().id == id) res.table = p.get();
  }
  if (res.exp->critical_paths) {  // derived outputs
    if (!res.time_graph)
      res.time_graph = res.exp->critical_paths->TimeGraph(id);
    if (!res.table) res.table = res.exp->critical_paths->Table(id);
  }
  if (!found || (want_type && res.output.type != want_type)) {
    *error = ErrorResponse(405, "Analysis cannot run");
    return std::nullopt;
  }
  return res;
}

Json TreeJson(const TreeModel& m, bool time_graph) {
  Json headers = Json::array();
  for (const auto& h : m.headers) {
    headers.push_back(Json{{"name", h}, {"tooltip", ""}});
  }
  Json entries = Json::array();
  for (const auto& e : m.entries) {
    Json j{{"id", e.id}, {"parentId", e.parent_id}, {"labels", e.labels}};
    if (e.has_data) j["hasData"] = true;
    if (time_graph) {
      j["start"] = e.start;
      j["end"] = e.end;
    } else {
      j["isDefault"] = e.is_default;
    }
    entries.push_back(std::move(j));
  }
  return Json{
      {"headers", headers}, {"entries", entries}, {"autoExpandLevel", -1}};
}

void AddOutputRoutes(TraceService* svc, std::vector<Route>* routes) {
  auto add = [routes](std::string m, std::string p, ApiHandler h) {
    routes->push_back({std::move(m), std::move(p), std::move(h)});
  };
  const std::string base = "/experiments/{expUUID}/outputs";

  add("GET", base, [svc](const ApiRequest& r) {
    auto exp = svc->OpenExperiment(r.params[0]);
    if (!exp.ok()) return ExperimentError(exp.status());
    Json a = Json::array();
    for (const auto& o : ExperimentOutputs(**exp))
      a.push_back(DescriptorJson(o));
    return JsonResponse(a);
  });
  add("GET", base + "/markerSets", [svc](const ApiRequest& r) {
    auto exp = svc->OpenExperiment(r.params[0]);
    if (!exp.ok()) return ExperimentError(exp.status());
    return Envelope(Json::array(), false);
  });
  add("GET", base + "/{outputId}", [svc](const ApiRequest& r) {
    auto exp = svc->OpenExperiment(r.params[0]);
    if (!exp.ok()) return ExperimentError(exp.status());
    for (const auto& o : ExperimentOutputs(**exp)) {
      if (o.id == r.params[1]) return JsonResponse(DescriptorJson(o));
    }
    return ErrorResponse(404, "Data provider doesn't exist");
  });

  add("POST", base + "/{outputId}/style", [svc](const ApiRequest& r) {
    ApiResponse err;
    auto res = Resolve(svc, r, nullptr, &err);
    if (!res) return err;
    Json styles = Json::object();
    if (res->time_graph) {
      for (const auto& [key, values] : res->time_graph->Styles()) {
        styles[key] = Json{{"values", values}};
      }
    }
    return Envelope(Json{{"styles", styles}}, false);
  });
  // No output has annotations or marker sets yet: valid empty models.
  add("GET", base + "/{outputId}/annotations", [svc](const ApiRequest& r) {
    ApiRequest copy = r;
    copy.body = "{}";
    ApiResponse err;
    if (!Resolve(svc, copy, nullptr, &err)) return err;
    return Envelope(Json{{"annotationCategories", Json::array()}}, false);
  });
  add("POST", base + "/{outputId}/annotations", [svc](const ApiRequest& r) {
    ApiResponse err;
    auto res = Resolve(svc, r, nullptr, &err);
    if (!res) return err;
    auto range = GetTimeRange(res->params);
    if (!range.ok()) return FromStatus(range.status());
    if (!*range) return FromStatus(Missing("requested_timerange"));
    return Envelope(Json{{"annotations", Json::object()}}, false);
  });
  add("GET", base + "/{outputId}/configTypes", [svc](const ApiRequest& r) {
    auto exp = svc->OpenExperiment(r.params[0]);
    if (!exp.ok()) return ExperimentError(exp.status());
    for (const auto& o : ExperimentOutputs(**exp)) {
      if (o.id != r.params[1]) continue;
      Json types = Json::array();
      if (o.id == kCriticalPathId && (*exp)->critical_paths) {
        types.push_back(CriticalPathOutputs::ConfigType());
      }
      return JsonResponse(types);
    }
    return ErrorResponse(404, "Data provider doesn't exist");
  });
  add("GET", base + "/{outputId}/configTypes/{typeId}",
      [svc](const ApiRequest& r) {
        auto exp = svc->OpenExperiment(r.params[0]);
        if (!exp.ok()) return ExperimentError(exp.status());
        if (r.params[1] == kCriticalPathId && (*exp)->critical_paths &&
            r.params[2] == kCriticalPathConfigTypeId) {
          return JsonResponse(CriticalPathOutputs::ConfigType());
        }
        return ErrorResponse(404, "No such configuration type");
      });
  // Output configuration (derived outputs): the critical path only.
  add("POST", base + "/{outputId}", [svc](const ApiRequest& r) {
    auto exp = svc->OpenExperiment(r.params[0]);
    if (!exp.ok()) return ExperimentError(exp.status());
    if (r.params[1] != kCriticalPathId || !(*exp)->critical_paths) {
      return ErrorResponse(404, "Data provider doesn't exist");
    }
    auto body = ParseBody(r.body);
    if (!body.ok()) return FromStatus(body.status());
    auto d = (*exp)->critical_paths->Create(*body);
    if (!d.ok()) return FromStatus(d.status());
    return JsonResponse(DescriptorJson(*d));
  });
  add("DELETE", base + "/{outputId}/{derivedId}", [svc](const ApiRequest& r) {
    auto exp = svc->OpenExperiment(r.params[0]);
    if (!exp.ok()) return ExperimentError(exp.status());
    if (r.params[1] != kCriticalPathId || !(*exp)->critical_paths) {
      return ErrorResponse(404, "Data provider doesn't exist");
    }
    for (const auto& o : ExperimentOutputs(**exp)) {
      if (o.id != r.params[2] || o.parent_id != kCriticalPathId) continue;
      Status st = (*exp)->critical_paths->Delete(o.id);
      if (!st.ok()) return FromStatus(st);
      return JsonResponse(DescriptorJson(o));
    }
    return ErrorResponse(404, "No such derived output");
  });

  add("POST", base + "/XY/{outputId}/tree",
      [svc](const ApiRequest& r) { return XyTree(svc, r); });
  add("POST", base + "/XY/{outputId}/xy",
      [svc](const ApiRequest& r) { return XyFetch(svc, r); });
  add("POST", base + "/table/{outputId}/columns",
      [svc](const ApiRequest& r) { return TableColumns(svc, r); });
  add("POST", base + "/table/{outputId}/lines",
      [svc](const ApiRequest& r) { return TableLines(svc, r); });

  AddTimeGraphRoutes(svc, routes);
}

}  // namespace vmtrace::tsp
