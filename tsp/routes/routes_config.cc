// Global configuration routes (/config/types/...): the VM interrupt vectors
// (vm_vectors_config.h) and the VM names (vm_names_config.h).
#include "base/uuid.h"
#include "tsp/http/api.h"
#include "tsp/http/query.h"
#include "tsp/outputs/vm/vm_names_config.h"
#include "tsp/outputs/vm/vm_vectors_config.h"
#include "tsp/service/trace_service.h"

namespace vmtrace::tsp {
namespace {

Json ConfigJson(const storage::ConfigRecord& r) {
  Json params = Json::parse(r.parameters_json, nullptr, false);
  if (params.is_discarded()) params = Json::object();
  return Json{{"id", r.id},
              {"name", r.name},
              {"description", r.description},
              {"sourceTypeId", r.type_id},
              {"parameters", params}};
}

bool KnownType(const std::string& id) {
  return id == kVmVectorsTypeId || id == kVmNamesTypeId;
}

Json TypeJson(const std::string& id) {
  return id == kVmNamesTypeId ? VmNamesConfigType() : VmVectorsConfigType();
}

// The parameters checked against the type's schema.
Status CheckParameters(const std::string& type, const Json& params) {
  if (type == kVmNamesTypeId) return ParseVmNames(params).status();
  return ParseVectorRule(params).status();
}

ApiResponse NoType() {
  return ErrorResponse(404, "Configuration source type doesn't exist");
}

// Body: {name, description?, parameters} at the top level (not wrapped).
StatusOr<storage::ConfigRecord> ParseConfig(const std::string& type,
                                            const std::string& body) {
  VMTRACE_ASSIGN_OR_RETURN(Json j, ParseBody(body));
  auto name = j.find("name");
  if (name == j.end() || name->is_null()) return Missing("name");
  if (!name->is_string() || name->get<std::string>().empty()) {
    return Invalid("name");
  }
  std::string description;
  if (auto d = j.find("description"); d != j.end() && !d->is_null()) {
    if (!d->is_string()) return Invalid("description");
    description = d->get<std::string>();
  }
  auto params = j.find("parameters");
  if (params == j.end() || params->is_null()) return Missing("parameters");
  VMTRACE_RETURN_IF_ERROR(CheckParameters(type, *params));
  std::string n = name->get<std::string>();
  return storage::ConfigRecord{type, NameUuidFromBytes(type + "/" + n), n,
                               description, params->dump()};
}

ApiResponse Create(TraceService* svc, const ApiRequest& r) {
  if (!KnownType(r.params[0])) return NoType();
  auto rec = ParseConfig(r.params[0], r.body);
  if (!rec.ok()) return FromStatus(rec.status());
  if (svc->GetConfig(rec->type_id, rec->id)) {
    return ErrorResponse(409, "Configuration already exists",
                         "A configuration named '" + rec->name +
                             "' exists; update it with PUT or use another "
                             "name.");
  }
  Status st = svc->PutConfig(*rec);
  return st.ok() ? JsonResponse(ConfigJson(*rec)) : FromStatus(st);
}

}  // namespace

void AddConfigRoutes(TraceService* svc, std::vector<Route>* routes) {
  auto add = [routes](std::string m, std::string p, ApiHandler h) {
    routes->push_back({std::move(m), std::move(p), std::move(h)});
  };
  add("GET", "/config/types", [](const ApiRequest&) {
    return JsonResponse(
        Json::array({VmVectorsConfigType(), VmNamesConfigType()}));
  });
  add("GET", "/config/types/{typeId}", [](const ApiRequest& r) {
    if (!KnownType(r.params[0])) return NoType();
    return JsonResponse(TypeJson(r.params[0]));
  });
  add("GET", "/config/types/{typeId}/configs", [svc](const ApiRequest& r) {
    if (!KnownType(r.params[0])) return NoType();
    Json a = Json::array();
    for (const auto& c : svc->ListConfigs(r.params[0])) {
      a.push_back(ConfigJson(c));
    }
    return JsonResponse(a);
  });
  add("POST", "/config/types/{typeId}/configs",
      [svc](const ApiRequest& r) { return Create(svc, r); });
  // tsp-typescript-client's createConfiguration() posts here (no /configs).
  add("POST", "/config/types/{typeId}",
      [svc](const ApiRequest& r) { return Create(svc, r); });
  add("GET", "/config/types/{typeId}/configs/{configId}",
      [svc](const ApiRequest& r) {
        if (!KnownType(r.params[0])) return NoType();
        auto c = svc->GetConfig(r.params[0], r.params[1]);
        if (!c) {
          return ErrorResponse(404,
                               "Configuration instance doesn't exist for "
                               "type " +
                                   r.params[0]);
        }
        return JsonResponse(ConfigJson(*c));
      });
  add("PUT", "/config/types/{typeId}/configs/{configId}",
      [svc](const ApiRequest& r) {
        if (!KnownType(r.params[0])) return NoType();
        auto old = svc->GetConfig(r.params[0], r.params[1]);
        if (!old) {
          return ErrorResponse(404,
                               "Configuration instance doesn't exist for "
                               "type " +
                                   r.params[0]);
        }
        auto rec = ParseConfig(r.params[0], r.body);
        if (!rec.ok()) return FromStatus(rec.status());
        rec->id = old->id;  // the id names the instance, whatever its name
        Status st = svc->PutConfig(*rec);
        return st.ok() ? JsonResponse(ConfigJson(*rec)) : FromStatus(st);
      });
  add("DELETE", "/config/types/{typeId}/configs/{configId}",
      [svc](const ApiRequest& r) {
        if (!KnownType(r.params[0])) return NoType();
        auto old = svc->GetConfig(r.params[0], r.params[1]);
        if (!old) {
          return ErrorResponse(404,
                               "Configuration instance doesn't exist for "
                               "type " +
                                   r.params[0]);
        }
        Status st = svc->DeleteConfig(r.params[0], r.params[1]);
        return st.ok() ? JsonResponse(ConfigJson(*old)) : FromStatus(st);
      });
}

}  // namespace vmtrace::tsp
