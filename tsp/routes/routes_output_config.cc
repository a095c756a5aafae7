// Configuration of derived outputs (POST/DELETE under
// /experiments/{expUUID}/outputs/{outputId}, and the output's config
// types): served by the experiment's ConfigurableOutputs for that output,
// whichever it is (today the critical path).
#include "tsp/routes/output_routing.h"

namespace vmtrace::tsp {
namespace {

ApiResponse ConfigTypes(TraceService* svc, const ApiRequest& r) {
  auto exp = svc->OpenExperiment(r.params[0]);
  if (!exp.ok()) return ExperimentError(exp.status());
  for (const auto& o : (*exp)->outputs.List()) {
    if (o.id != r.params[1]) continue;
    Json types = Json::array();
    if (auto* c = (*exp)->outputs.Configurable(o.id)) {
      for (auto& t : c->ConfigTypes()) types.push_back(std::move(t));
    }
    return JsonResponse(types);
  }
  return ErrorResponse(404, "Data provider doesn't exist");
}

ApiResponse OneConfigType(TraceService* svc, const ApiRequest& r) {
  auto exp = svc->OpenExperiment(r.params[0]);
  if (!exp.ok()) return ExperimentError(exp.status());
  if (auto* c = (*exp)->outputs.Configurable(r.params[1])) {
    for (auto& t : c->ConfigTypes()) {
      if (t.value("id", std::string()) == r.params[2]) return JsonResponse(t);
    }
  }
  return ErrorResponse(404, "No such configuration type");
}

ApiResponse CreateDerived(TraceService* svc, const ApiRequest& r) {
  auto exp = svc->OpenExperiment(r.params[0]);
  if (!exp.ok()) return ExperimentError(exp.status());
  ConfigurableOutputs* c = (*exp)->outputs.Configurable(r.params[1]);
  if (c == nullptr) return ErrorResponse(404, "Data provider doesn't exist");
  auto body = ParseBody(r.body);
  if (!body.ok()) return FromStatus(body.status());
  auto d = c->Create(*body);
  if (!d.ok()) return FromStatus(d.status());
  return JsonResponse(DescriptorJson(*d));
}

ApiResponse DeleteDerived(TraceService* svc, const ApiRequest& r) {
  auto exp = svc->OpenExperiment(r.params[0]);
  if (!exp.ok()) return ExperimentError(exp.status());
  ConfigurableOutputs* c = (*exp)->outputs.Configurable(r.params[1]);
  if (c == nullptr) return ErrorResponse(404, "Data provider doesn't exist");
  for (const auto& o : (*exp)->outputs.List()) {
    if (o.id != r.params[2] || o.parent_id != r.params[1]) continue;
    Status st = c->Delete(o.id);
    if (!st.ok()) return FromStatus(st);
    return JsonResponse(DescriptorJson(o));
  }
  return ErrorResponse(404, "No such derived output");
}

}  // namespace

void AddOutputConfigRoutes(TraceService* svc, std::vector<Route>* routes) {
  auto add = [routes](std::string m, std::string p, ApiHandler h) {
    routes->push_back({std::move(m), std::move(p), std::move(h)});
  };
  const std::string base = "/experiments/{expUUID}/outputs";
  add("GET", base + "/{outputId}/configTypes",
      [svc](const ApiRequest& r) { return ConfigTypes(svc, r); });
  add("GET", base + "/{outputId}/configTypes/{typeId}",
      [svc](const ApiRequest& r) { return OneConfigType(svc, r); });
  add("POST", base + "/{outputId}",
      [svc](const ApiRequest& r) { return CreateDerived(svc, r); });
  add("DELETE", base + "/{outputId}/{derivedId}",
      [svc](const ApiRequest& r) { return DeleteDerived(svc, r); });
}

}  // namespace vmtrace::tsp
