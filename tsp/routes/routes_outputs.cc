// Routes under /experiments/{expUUID}/outputs: the outputs list, one
// output's descriptor, styles, annotations and marker sets. The data routes
// are in routes_time_graph.cc and routes_xy_table.cc, the configuration of
// derived outputs in routes_output_config.cc.
#include "tsp/routes/output_routing.h"

namespace vmtrace::tsp {
namespace {

// Which kind of provider each output type has.
bool HasProvider(const OutputSet::Found& f, const std::string& type) {
  if (type == "TIME_GRAPH") return f.time_graph != nullptr;
  if (type == "TREE_TIME_XY") return f.xy != nullptr;
  if (type == "TABLE") return f.table != nullptr;
  if (type == "DATA_TREE") return f.data_tree != nullptr;
  return false;
}

ApiResponse OutputList(TraceService* svc, const ApiRequest& r) {
  auto exp = svc->OpenExperiment(r.params[0]);
  if (!exp.ok()) return ExperimentError(exp.status());
  Json a = Json::array();
  for (const auto& o : (*exp)->outputs.List()) a.push_back(DescriptorJson(o));
  return JsonResponse(a);
}

ApiResponse OneOutput(TraceService* svc, const ApiRequest& r) {
  auto exp = svc->OpenExperiment(r.params[0]);
  if (!exp.ok()) return ExperimentError(exp.status());
  for (const auto& o : (*exp)->outputs.List()) {
    if (o.id == r.params[1]) return JsonResponse(DescriptorJson(o));
  }
  return ErrorResponse(404, "Data provider doesn't exist");
}

ApiResponse OutputStyles(TraceService* svc, const ApiRequest& r) {
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
}

}  // namespace

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
  auto found = res.exp->outputs.Find(r.params[1]);
  if (!found || (want_type && (found->descriptor.type != want_type ||
                               !HasProvider(*found, want_type)))) {
    *error = ErrorResponse(405, "Analysis cannot run");
    return std::nullopt;
  }
  res.output = found->descriptor;
  res.time_graph = found->time_graph;
  res.xy = found->xy;
  res.table = found->table;
  res.data_tree = found->data_tree;
  return res;
}

Json TreeJson(const TreeModel& m, TreeKind kind) {
  Json headers = Json::array();
  for (const auto& h : m.headers) {
    headers.push_back(Json{{"name", h}, {"tooltip", ""}});
  }
  Json entries = Json::array();
  for (const auto& e : m.entries) {
    Json j{{"id", e.id}, {"parentId", e.parent_id}, {"labels", e.labels}};
    if (e.has_data) j["hasData"] = true;
    if (kind == TreeKind::kTimeGraph) {
      j["start"] = e.start;
      j["end"] = e.end;
    } else if (kind == TreeKind::kXy) {
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
  add("GET", base, [svc](const ApiRequest& r) { return OutputList(svc, r); });
  add("GET", base + "/markerSets", [svc](const ApiRequest& r) {
    auto exp = svc->OpenExperiment(r.params[0]);
    if (!exp.ok()) return ExperimentError(exp.status());
    return Envelope(Json::array(), false);
  });
  add("GET", base + "/{outputId}",
      [svc](const ApiRequest& r) { return OneOutput(svc, r); });
  add("POST", base + "/{outputId}/style",
      [svc](const ApiRequest& r) { return OutputStyles(svc, r); });
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
  AddOutputConfigRoutes(svc, routes);
  AddXyTableRoutes(svc, routes);
  AddTimeGraphRoutes(svc, routes);
}

}  // namespace vmtrace::tsp
