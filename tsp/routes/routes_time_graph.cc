// Time-graph routes: tree, states (sampled, with DIMMED/EXCLUDED filters),
// arrows and tooltips, served from the experiment's TimeGraphProviders.
#include <algorithm>

#include "base/user_regex.h"
#include "tsp/http/json_writer.h"
#include "tsp/http/limits.h"
#include "tsp/routes/output_routing.h"

namespace vmtrace::tsp {
namespace {

ApiResponse TimeGraphTree(TraceService* svc, const ApiRequest& r) {
  auto params = ParseParameters(r.body);
  if (!params.ok()) return FromStatus(params.status());
  auto range = GetTimeRange(*params);
  if (!range.ok()) return FromStatus(range.status());
  ApiResponse err;
  auto res = Resolve(svc, r, "TIME_GRAPH", &err);
  if (!res) return err;
  const auto snap = res->exp->Snapshot();
  int64_t start = *range ? (*range)->start : snap.start;
  int64_t end = *range ? (*range)->end : snap.end;
  auto tree = res->time_graph->Tree(start, end);
  if (!tree.ok()) return FromStatus(tree.status());
  return Envelope(TreeJson(*tree, TreeKind::kTimeGraph), tree->running,
                  tree->message);
}

struct Filter {
  int tag;
  UserRegex re;
};

// filter_query_parameters.filter_expressions_map: {"1": [...], "4": [...]},
// case-insensitive patterns matched anywhere in a state's label and style
// name; at most kMaxPatterns, each at most kMaxPatternLength bytes.
StatusOr<std::vector<Filter>> ParseFilters(const Json& params) {
  std::vector<Filter> out;
  auto f = params.find("filter_query_parameters");
  if (f == params.end() || f->is_null()) return out;
  if (!f->is_object()) return Invalid("filter_query_parameters");
  auto m = f->find("filter_expressions_map");
  if (m == f->end() || m->is_null()) return out;
  if (!m->is_object()) return Invalid("filter_expressions_map");
  for (const auto& [key, exprs] : m->items()) {
    char* end = nullptr;
    long tag = strtol(key.c_str(), &end, 10);
    if (key.empty() || *end || !exprs.is_array()) {
      return Invalid("filter_expressions_map");
    }
    for (const auto& e : exprs) {
      if (!e.is_string()) return Invalid("filter_expressions_map");
      if (out.size() == kMaxPatterns) {
        return Invalid("filter_expressions_map",
                       "at most " + std::to_string(kMaxPatterns) + " patterns");
      }
      auto re = UserRegex::Compile(e.get_ref<const std::string&>(),
                                   /*case_insensitive=*/true);
      if (!re.ok()) {
        return Invalid("filter_expressions_map", re.status().message());
      }
      out.push_back({int(tag), std::move(re).value()});
    }
  }
  return out;
}

ApiResponse TimeGraphStates(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TIME_GRAPH", &err);
  if (!res) return err;
  auto range = GetTimeRange(res->params);
  if (!range.ok()) return FromStatus(range.status());
  if (!*range) return FromStatus(Missing("requested_timerange"));
  auto items = GetItems(res->params, "requested_items", true);
  if (!items.ok()) return FromStatus(items.status());
  auto filters = ParseFilters(res->params);
  if (!filters.ok()) return FromStatus(filters.status());
  auto times = SampleTimes(**range);
  if (!times.ok()) return FromStatus(times.status());
  Status size = CheckRowsTimesSamples(items->size(), times->size(),
                                      kMaxStateRowsTimesSamples);
  if (!size.ok()) return FromStatus(size);
  auto model = res->time_graph->States(*times, *items);
  if (!model.ok()) return FromStatus(model.status());
  // Filters match the state's style name and label (e.g. "Wait for CPU").
  StyleMap styles = res->time_graph->Styles();
  // Written without a DOM: this reply can hold 100,000+ states.
  ApiResponse out;
  std::string& body = out.body;
  size_t n = 0;
  for (const auto& row : model->rows) n += row.states.size();
  body.reserve(64 + model->rows.size() * 32 + n * 96);
  JsonWriter w(&body);
  w.Raw("{\"model\":{\"rows\":[");
  bool first_row = true;
  for (const auto& row : model->rows) {
    if (!first_row) w.Raw(",");
    first_row = false;
    w.Raw("{\"entryId\":").Int(row.entry_id).Raw(",\"states\":[");
    bool first = true;
    for (const auto& s : row.states) {
      if (!first) w.Raw(",");
      first = false;
      w.Raw("{\"start\":").Int(s.start).Raw(",\"end\":").Int(s.end);
      if (!s.label.empty()) w.Raw(",\"label\":").Str(s.label);
      int tags = 0;
      if (!filters->empty()) {
        std::string text = s.label;
        if (auto it = styles.find(s.style); it != styles.end()) {
          text += " " + it->second.value("style-name", std::string());
        }
        for (const auto& f : *filters) {
          if (f.re.PartialMatch(text)) tags |= f.tag;
        }
      }
      if (tags) w.Raw(",\"tags\":").Int(tags);
      w.Raw(",\"style\":{\"parentKey\":").Str(s.style).Raw(",\"values\":{}}}");
    }
    w.Raw("]}");
  }
  w.Raw("]},\"status\":")
      .Str(model->running ? "RUNNING" : "COMPLETED")
      .Raw(",\"statusMessage\":")
      .Str(model->running ? "Running" : "Completed")
      .Raw("}");
  return out;
}

ApiResponse TimeGraphArrows(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TIME_GRAPH", &err);
  if (!res) return err;
  auto range = GetTimeRange(res->params);
  if (!range.ok()) return FromStatus(range.status());
  if (!*range) return FromStatus(Missing("requested_timerange"));
  auto times = SampleTimes(**range);
  if (!times.ok()) return FromStatus(times.status());
  auto arrows = res->time_graph->Arrows(*times);
  if (!arrows.ok()) return FromStatus(arrows.status());
  Json a = Json::array();
  for (const auto& x : *arrows) {
    a.push_back(Json{
        {"sourceId", x.source_id},
        {"targetId", x.target_id},
        {"start", x.start},
        {"end", x.end},
        {"style", Json{{"parentKey", x.style}, {"values", Json::object()}}}});
  }
  return Envelope(std::move(a), false);
}

ApiResponse TimeGraphTooltip(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TIME_GRAPH", &err);
  if (!res) return err;
  const Json& p = res->params;
  auto times = p.find("requested_times");
  if (times == p.end() || times->is_null()) {
    return FromStatus(Missing("requested_times"));
  }
  int64_t t;
  if (!times->is_array() || times->empty() || !AsInt64((*times)[0], &t)) {
    return FromStatus(Invalid("requested_times"));
  }
  auto items = GetItems(p, "requested_items", true);
  if (!items.ok()) return FromStatus(items.status());
  auto el = p.find("requested_element");
  if (el == p.end() || el->is_null()) {
    return FromStatus(Missing("requested_element"));
  }
  if (!el->is_object()) return FromStatus(Invalid("requested_element"));
  std::string type = el->value("elementType", std::string());
  std::transform(type.begin(), type.end(), type.begin(), ::tolower);
  Json model = Json::object();
  if (type == "state" && !items->empty()) {
    auto tip = res->time_graph->Tooltip(items->front(), t);
    if (!tip.ok()) return FromStatus(tip.status());
    for (const auto& [k, v] : *tip) model[k] = v;
  }
  return Envelope(std::move(model), false);
}

// Statistics of the requested range (the viewer's selection), the whole
// experiment without one.
ApiResponse DataTree(TraceService* svc, const ApiRequest& r) {
  auto params = ParseParameters(r.body);
  if (!params.ok()) return FromStatus(params.status());
  auto range = GetTimeRange(*params);
  if (!range.ok()) return FromStatus(range.status());
  if (*range && (*range)->end < (*range)->start) {
    return FromStatus(Invalid("requested_timerange", "end is before start"));
  }
  ApiResponse err;
  auto res = Resolve(svc, r, "DATA_TREE", &err);
  if (!res) return err;
  const auto snap = res->exp->Snapshot();
  const int64_t start = *range ? (*range)->start : snap.start;
  const int64_t end = *range ? (*range)->end : snap.end;
  auto tree = res->data_tree->Tree(start, end);
  if (!tree.ok()) return FromStatus(tree.status());
  return Envelope(TreeJson(*tree, TreeKind::kData), tree->running,
                  tree->message);
}

}  // namespace

void AddTimeGraphRoutes(TraceService* svc, std::vector<Route>* routes) {
  const std::string base = "/experiments/{expUUID}/outputs";
  auto add = [routes](std::string p, ApiHandler h) {
    routes->push_back({"POST", std::move(p), std::move(h)});
  };
  add(base + "/timeGraph/{outputId}/tree",
      [svc](const ApiRequest& r) { return TimeGraphTree(svc, r); });
  add(base + "/timeGraph/{outputId}/states",
      [svc](const ApiRequest& r) { return TimeGraphStates(svc, r); });
  add(base + "/timeGraph/{outputId}/arrows",
      [svc](const ApiRequest& r) { return TimeGraphArrows(svc, r); });
  add(base + "/timeGraph/{outputId}/tooltip",
      [svc](const ApiRequest& r) { return TimeGraphTooltip(svc, r); });
  add(base + "/data/{outputId}/tree",
      [svc](const ApiRequest& r) { return DataTree(svc, r); });
}

}  // namespace vmtrace::tsp
