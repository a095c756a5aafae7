// Time-graph routes: tree, states (sampled, with DIMMED/EXCLUDED filters),
// arrows and tooltips, served from the experiment's TimeGraphProviders.
#include <algorithm>
#include <regex>

#include "tsp/output_routing.h"

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
  const auto snap = res->exp->index->Snapshot();
  int64_t start = *range ? (*range)->start : snap.start;
  int64_t end = *range ? (*range)->end : snap.end;
  auto tree = res->time_graph->Tree(start, end);
  if (!tree.ok()) return FromStatus(tree.status());
  return Envelope(TreeJson(*tree, true), tree->running);
}

struct Filter {
  int tag;
  std::regex re;
};

// filter_query_parameters.filter_expressions_map: {"1": [...], "4": [...]}.
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
      try {
        out.push_back({int(tag), std::regex(e.get<std::string>(),
                                            std::regex::icase)});
      } catch (const std::regex_error&) {
        return Invalid("filter_expressions_map");
      }
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
  auto model = res->time_graph->States(*times, *items);
  if (!model.ok()) return FromStatus(model.status());
  // Filters match the state's style name and label (e.g. "Wait for CPU").
  StyleMap styles = res->time_graph->Styles();
  Json rows = Json::array();
  for (const auto& row : model->rows) {
    Json states = Json::array();
    for (const auto& s : row.states) {
      Json j{{"start", s.start},
             {"end", s.end},
             {"style", {{"parentKey", s.style}, {"values", Json::object()}}}};
      if (!s.label.empty()) j["label"] = s.label;
      int tags = 0;
      if (!filters->empty()) {
        std::string text = s.label;
        if (auto it = styles.find(s.style); it != styles.end()) {
          text += " " + it->second.value("style-name", std::string());
        }
        for (const auto& f : *filters) {
          if (std::regex_search(text, f.re)) tags |= f.tag;
        }
      }
      if (tags) j["tags"] = tags;
      states.push_back(std::move(j));
    }
    rows.push_back(Json{{"entryId", row.entry_id}, {"states", states}});
  }
  return Envelope(Json{{"rows", rows}}, model->running);
}

ApiResponse TimeGraphArrows(TraceService* svc, const ApiRequest& r) {
  ApiResponse err;
  auto res = Resolve(svc, r, "TIME_GRAPH", &err);
  if (!res) return err;
  auto range = GetTimeRange(res->params);
  if (!range.ok()) return FromStatus(range.status());
  if (!*range) return FromStatus(Missing("requested_timerange"));
  // No kernel view has arrows; the critical path will.
  return Envelope(Json::array(), false);
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
  // No DATA_TREE output exists yet: every id is "Analysis cannot run".
  add(base + "/data/{outputId}/tree", [svc](const ApiRequest& r) {
    ApiResponse err;
    Resolve(svc, r, "DATA_TREE", &err);
    return err;
  });
}

}  // namespace vmtrace::tsp
