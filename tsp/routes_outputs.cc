// Routes under /experiments/{expUUID}/outputs: the outputs list, the events
// table, the histogram, and the per-output styles/annotations/config types.
#include <algorithm>
#include <limits>

#include "analyses/index/events_table.h"
#include "analyses/index/histogram.h"
#include "tsp/api.h"
#include "tsp/query.h"
#include "tsp/trace_service.h"

namespace vmtrace::tsp {
namespace {

// The ids both viewers look for (tsp.md section 0, item 15).
constexpr char kHistogramId[] =
    "org.eclipse.tracecompass.internal.tmf.core.histogram.HistogramDataProvider";
constexpr char kEventsTableId[] =
    "org.eclipse.tracecompass.internal.provisional.tmf.core.model.events."
    "TmfEventTableDataProvider";

struct OutputDesc {
  const char* id;
  const char* name;
  const char* description;
  const char* type;
};

// Sorted by name, as the reference server lists them.
const std::vector<OutputDesc>& Outputs() {
  static const std::vector<OutputDesc> kOutputs = {
      {kEventsTableId, "Events Table",
       "Every event of the experiment with its time, type, CPU, thread and "
       "payload",
       "TABLE"},
      {kHistogramId, "Histogram", "Number of events over time, per trace",
       "TREE_TIME_XY"},
  };
  return kOutputs;
}

const OutputDesc* FindOutput(const std::string& id) {
  for (const auto& o : Outputs()) {
    if (id == o.id) return &o;
  }
  return nullptr;
}

Json DescJson(const OutputDesc& o) {
  return Json{{"id", o.id},
              {"name", o.name},
              {"description", o.description},
              {"type", o.type}};
}

// Check order of the reference server for data endpoints: body, then the
// experiment (404), then the output (405), then the parameters (400).
struct Resolved {
  std::shared_ptr<Experiment> exp;
  const OutputDesc* output = nullptr;
  Json params;
};

StatusOr<Resolved> Resolve(TraceService* svc, const ApiRequest& r,
                           const char* want_type, ApiResponse* error) {
  Resolved res;
  auto params = ParseParameters(r.body);
  if (!params.ok()) {
    *error = FromStatus(params.status());
    return params.status();
  }
  res.params = std::move(params).value();
  auto exp = svc->OpenExperiment(r.params[0]);
  if (!exp.ok()) {
    *error = ErrorResponse(404, "No such trace");
    return exp.status();
  }
  res.exp = *exp;
  res.output = FindOutput(r.params[1]);
  if (!res.output || (want_type && std::string(res.output->type) != want_type)) {
    *error = ErrorResponse(405, "Analysis cannot run");
    return NotFound("no such output");
  }
  return res;
}

bool Running(const Experiment& e) {
  return e.index->Snapshot().state == index::IndexState::kRunning;
}

ApiResponse XyTree(TraceService* svc, const ApiRequest& r) {
  // Tree endpoints validate their parameters before the experiment lookup.
  auto params = ParseParameters(r.body);
  if (!params.ok()) return FromStatus(params.status());
  auto range = GetTimeRange(*params);
  if (!range.ok()) return FromStatus(range.status());
  ApiResponse err;
  auto res = Resolve(svc, r, "TREE_TIME_XY", &err);
  if (!res.ok()) return err;
  Json entries = Json::array();
  for (const auto& e : res->exp->histogram->Entries()) {
    Json j{{"id", e.id},
           {"parentId", e.parent_id},
           {"labels", {e.name}},
           {"isDefault", e.is_default}};
    if (e.has_data) j["hasData"] = true;
    entries.push_back(std::move(j));
  }
  Json model{{"headers", {{{"name", "Name"}, {"tooltip", ""}}}},
             {"entries", entries},
             {"autoExpandLevel", -1}};
  return Envelope(std::move(model), Running(*res->exp));
}

ApiResponse XyFetch(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TREE_TIME_XY", &err);
  if (!res.ok()) return err;
  auto range = GetTimeRange(res->params);
  if (!range.ok()) return FromStatus(range.status());
  if (!*range) return FromStatus(Missing("requested_timerange"));
  auto items = GetItems(res->params, "requested_items", true);
  if (!items.ok()) return FromStatus(items.status());
  auto times = SampleTimes(**range);
  if (!times.ok()) return FromStatus(times.status());
  auto series = res->exp->histogram->Fetch(*times, *items);
  if (!series.ok()) return FromStatus(series.status());
  Json out = Json::array();
  for (const auto& s : *series) {
    out.push_back(Json{
        {"seriesId", s.id},
        {"seriesName", s.name},
        {"style", {{"values", {{"series-type", "bar"}}}}},
        {"xValues", *times},
        {"yValues", s.y},
        {"xValuesDescription",
         {{"label", "Time"}, {"unit", "ns"}, {"dataType", "TIMESTAMP"}}},
        {"yValuesDescription",
         {{"label", "Events"}, {"unit", ""}, {"dataType", "NUMBER"}}}});
  }
  return Envelope(Json{{"title", "Histogram"}, {"series", out}},
                  Running(*res->exp));
}

ApiResponse TableColumns(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TABLE", &err);
  if (!res.ok()) return err;
  Json cols = Json::array();
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
  q.count = uint64_t(v);
  if (auto it = p.find("requested_table_index");
      it != p.end() && !it->is_null()) {
    if (!AsInt64(*it, &v) || v < 0) return bad;
    q.index = uint64_t(v);
  } else if (auto t = p.find("requested_times"); t != p.end() && !t->is_null()) {
    if (!t->is_array() || t->empty() || !AsInt64((*t)[0], &v)) return bad;
    q.time = v;
  } else {
    return bad;
  }
  auto cols = GetItems(p, "requested_table_column_ids", false);
  if (!cols.ok()) return bad;
  q.column_ids = *cols;
  if (auto s = p.find("table_search_expressions");
      s != p.end() && !s->is_null()) {
    if (!s->is_object()) return bad;
    for (const auto& [k, expr] : s->items()) {
      if (!expr.is_string()) return bad;
      char* end = nullptr;
      long long col = strtoll(k.c_str(), &end, 10);
      if (k.empty() || *end) return bad;
      if (!expr.get<std::string>().empty()) q.search[col] = expr;
    }
  }
  if (auto d = p.find("table_search_direction"); d != p.end() && !d->is_null()) {
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

ApiResponse TableLines(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TABLE", &err);
  if (!res.ok()) return err;
  auto q = ParseTableQuery(res->params);
  if (!q.ok()) return FromStatus(q.status());
  auto page = res->exp->table->Fetch(*q);
  if (!page.ok()) return FromStatus(page.status());
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
  return Envelope(std::move(model), false);
}

}  // namespace

void AddOutputRoutes(TraceService* svc, std::vector<Route>* routes) {
  auto add = [routes](std::string m, std::string p, ApiHandler h) {
    routes->push_back({std::move(m), std::move(p), std::move(h)});
  };
  const std::string base = "/experiments/{expUUID}/outputs";

  add("GET", base, [svc](const ApiRequest& r) {
    if (!svc->OpenExperiment(r.params[0]).ok()) {
      return ErrorResponse(404, "No such trace");
    }
    Json a = Json::array();
    for (const auto& o : Outputs()) a.push_back(DescJson(o));
    return JsonResponse(a);
  });
  add("GET", base + "/markerSets", [svc](const ApiRequest& r) {
    if (!svc->OpenExperiment(r.params[0]).ok()) {
      return ErrorResponse(404, "No such trace");
    }
    return Envelope(Json::array(), false);
  });
  add("GET", base + "/{outputId}", [svc](const ApiRequest& r) {
    if (!svc->OpenExperiment(r.params[0]).ok()) {
      return ErrorResponse(404, "No such trace");
    }
    const OutputDesc* o = FindOutput(r.params[1]);
    if (!o) return ErrorResponse(404, "Data provider doesn't exist");
    return JsonResponse(DescJson(*o));
  });

  // Styles, annotations and config types: none of our current outputs has
  // any, so each answers a valid empty model (never model:null).
  add("POST", base + "/{outputId}/style", [svc](const ApiRequest& r) {
    ApiResponse err;
    auto res = Resolve(svc, r, nullptr, &err);
    if (!res.ok()) return err;
    return Envelope(Json{{"styles", Json::object()}}, false);
  });
  add("GET", base + "/{outputId}/annotations", [svc](const ApiRequest& r) {
    ApiRequest copy = r;
    copy.body = "{}";
    ApiResponse err;
    auto res = Resolve(svc, copy, nullptr, &err);
    if (!res.ok()) return err;
    return Envelope(Json{{"annotationCategories", Json::array()}}, false);
  });
  add("POST", base + "/{outputId}/annotations", [svc](const ApiRequest& r) {
    ApiResponse err;
    auto res = Resolve(svc, r, nullptr, &err);
    if (!res.ok()) return err;
    auto range = GetTimeRange(res->params);
    if (!range.ok()) return FromStatus(range.status());
    if (!*range) return FromStatus(Missing("requested_timerange"));
    return Envelope(Json{{"annotations", Json::object()}}, false);
  });
  add("GET", base + "/{outputId}/configTypes", [svc](const ApiRequest& r) {
    if (!svc->OpenExperiment(r.params[0]).ok()) {
      return ErrorResponse(404, "No such trace");
    }
    if (!FindOutput(r.params[1])) {
      return ErrorResponse(404, "Data provider doesn't exist");
    }
    return JsonResponse(Json::array());
  });
  add("GET", base + "/{outputId}/configTypes/{typeId}",
      [](const ApiRequest&) {
        return ErrorResponse(404, "No such configuration type");
      });

  add("POST", base + "/XY/{outputId}/tree",
      [svc](const ApiRequest& r) { return XyTree(svc, r); });
  add("POST", base + "/XY/{outputId}/xy",
      [svc](const ApiRequest& r) { return XyFetch(svc, r); });
  add("POST", base + "/table/{outputId}/columns",
      [svc](const ApiRequest& r) { return TableColumns(svc, r); });
  add("POST", base + "/table/{outputId}/lines",
      [svc](const ApiRequest& r) { return TableLines(svc, r); });

  // Time-graph and data-tree endpoints: no output of those types exists yet,
  // so any output id is "Analysis cannot run" after the usual checks.
  for (const char* p :
       {"/timeGraph/{outputId}/tree", "/timeGraph/{outputId}/states",
        "/timeGraph/{outputId}/arrows", "/timeGraph/{outputId}/tooltip",
        "/data/{outputId}/tree"}) {
    add("POST", base + p, [svc](const ApiRequest& r) {
      ApiResponse err;
      auto res = Resolve(svc, r, "TIME_GRAPH", &err);
      return err;
    });
  }
}

}  // namespace vmtrace::tsp
