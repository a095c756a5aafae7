// Routes for the server itself, traces, experiments and global config types.
#include <sys/utsname.h>
#include <unistd.h>

#include <thread>

#include "analyses/index/experiment_index.h"
#include "base/uuid.h"
#include "tsp/http/api.h"
#include "tsp/http/query.h"
#include "tsp/service/trace_service.h"

namespace vmtrace::tsp {
namespace {

const char* StateName(index::IndexState s) {
  switch (s) {
    case index::IndexState::kRunning:
      return "RUNNING";
    case index::IndexState::kCompleted:
      return "COMPLETED";
    case index::IndexState::kFailed:
      return "FAILED";
    case index::IndexState::kCancelled:
      return "CLOSED";
  }
  return "CLOSED";
}

Json TraceJson(const TraceInfo& t) {
  return Json{{"name", t.record.name},
              {"path", t.record.path},
              {"UUID", t.record.uuid},
              {"nbEvents", 0},
              {"start", 0},
              {"end", 0},
              {"properties", t.properties},
              {"indexingStatus", "CLOSED"}};
}

Json ExperimentJson(const ExperimentView& v) {
  Json traces = Json::array();
  Json j{{"name", v.record.name}, {"UUID", v.record.uuid}};
  if (!v.open) {
    for (const auto& t : v.traces) traces.push_back(TraceJson(t));
    j.update({{"nbEvents", 0},
              {"start", 0},
              {"end", 0},
              {"indexingStatus", "CLOSED"},
              {"traces", traces},
              {"properties", Json::object()}});
    return j;
  }
  index::IndexSnapshot s = v.open->Snapshot();
  const char* state = StateName(s.state);
  for (size_t i = 0; i < v.traces.size(); ++i) {
    Json t = TraceJson(v.traces[i]);
    if (i < s.traces.size()) {
      t["nbEvents"] = s.traces[i].nb_events;
      t["start"] = s.traces[i].start;
      t["end"] = s.traces[i].end;
    }
    t["indexingStatus"] = state;
    traces.push_back(std::move(t));
  }
  Json props = s.properties;
  if (!s.message.empty()) props["indexing.message"] = s.message;
  for (const auto& [k, val] : v.open->outputs.Properties()) props[k] = val;
  j.update({{"nbEvents", s.nb_events},
            {"start", s.start},
            {"end", s.end},
            {"indexingStatus", state},
            {"traces", traces},
            {"properties", props}});
  return j;
}

ApiResponse Identifier(const ServerInfo& info) {
  utsname u{};
  uname(&u);
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  Json j{{"version", info.version},
         {"os", u.sysname},
         {"osArch", u.machine},
         {"osVersion", u.release},
         {"cpuCount", std::thread::hardware_concurrency()},
         {"maxMemory", int64_t(pages) * int64_t(page)},
         {"launcherName", "vmtrace-server"},
         {"productId", "vmtrace"},
         {"tspVersion", "0.6.0"}};
  if (!info.build_time.empty()) j["buildTime"] = info.build_time;
  return JsonResponse(j);
}

ApiResponse PostTrace(TraceService* svc, const ApiRequest& r) {
  auto params = ParseParameters(r.body);
  if (!params.ok()) return FromStatus(params.status());
  auto uri = params->find("uri");
  if (uri == params->end() || uri->is_null()) {
    return FromStatus(Missing("uri"));
  }
  if (!uri->is_string()) return FromStatus(Invalid("uri"));
  std::optional<std::string> name;
  if (auto n = params->find("name"); n != params->end() && !n->is_null()) {
    if (!n->is_string()) return FromStatus(Invalid("name"));
    name = n->get<std::string>();
  }
  TraceInfo existing;
  auto t = svc->AddTrace(uri->get<std::string>(), name, &existing);
  if (!t.ok()) {
    ApiResponse e = FromStatus(t.status());
    if (t.status().code() == StatusCode::kAlreadyExists) {
      Json j{{"title", t.status().message()},
             {"detail",
              "A trace with this name exists with another path. "
              "Use a different name to avoid the conflict."},
             {"trace", TraceJson(existing)}};
      return JsonResponse(j, 409);
    }
    return e;
  }
  return JsonResponse(TraceJson(*t));
}

ApiResponse DeleteTraceReply(TraceService* svc, const ApiRequest& r) {
  auto t = svc->DeleteTrace(r.params[0]);
  if (t.ok()) return JsonResponse(TraceJson(*t));
  if (t.status().code() == StatusCode::kFailedPrecondition) {
    Json j{{"title", t.status().message()},
           {"detail",
            "Delete all experiments using this trace before deleting the "
            "trace."}};
    if (auto cur = svc->GetTrace(r.params[0]); cur.ok()) {
      j["trace"] = TraceJson(*cur);
    }
    return JsonResponse(j, 409);
  }
  return FromStatus(t.status());
}

ApiResponse PostExperiment(TraceService* svc, const ApiRequest& r) {
  auto params = ParseParameters(r.body);
  if (!params.ok()) return FromStatus(params.status());
  auto name = params->find("name");
  if (name == params->end() || name->is_null()) {
    return FromStatus(Missing("name"));
  }
  if (!name->is_string() || name->get<std::string>().empty()) {
    return FromStatus(Invalid("name"));
  }
  auto traces = params->find("traces");
  if (traces == params->end() || traces->is_null()) {
    return FromStatus(Missing("traces"));
  }
  if (!traces->is_array() || traces->empty()) {
    return FromStatus(Invalid("traces"));
  }
  std::vector<std::string> uuids;
  for (const auto& t : *traces) {
    if (!t.is_string()) return FromStatus(Invalid("traces"));
    uuids.push_back(t.get<std::string>());
  }
  ExperimentView existing;
  auto e = svc->AddExperiment(name->get<std::string>(), uuids, &existing);
  if (!e.ok()) {
    if (e.status().code() == StatusCode::kAlreadyExists) {
      Json j{{"title", e.status().message()},
             {"detail",
              "An experiment with this name exists with other traces. Use a "
              "different name to avoid the conflict."},
             {"experiment", ExperimentJson(existing)}};
      return JsonResponse(j, 409);
    }
    return FromStatus(e.status());
  }
  return JsonResponse(ExperimentJson(*e));
}

}  // namespace

void AddTraceRoutes(TraceService* svc, const ServerInfo& info,
                    std::vector<Route>* routes) {
  auto add = [routes](std::string m, std::string p, ApiHandler h) {
    routes->push_back({std::move(m), std::move(p), std::move(h)});
  };
  add("GET", "/health", [](const ApiRequest&) {
    return JsonResponse(Json{{"status", "UP"}});
  });
  add("GET", "/identifier",
      [info](const ApiRequest&) { return Identifier(info); });
  add("GET", "/openapi.yaml", [info](const ApiRequest&) {
    ApiResponse r;
    r.body = info.openapi_yaml;
    r.content_type = "application/yaml";
    return r;
  });

  add("GET", "/traces", [svc](const ApiRequest&) {
    Json a = Json::array();
    for (const auto& t : svc->ListTraces()) a.push_back(TraceJson(t));
    return JsonResponse(a);
  });
  add("POST", "/traces",
      [svc](const ApiRequest& r) { return PostTrace(svc, r); });
  add("GET", "/traces/{uuid}", [svc](const ApiRequest& r) {
    auto t = svc->GetTrace(r.params[0]);
    return t.ok() ? JsonResponse(TraceJson(*t)) : FromStatus(t.status());
  });
  add("DELETE", "/traces/{uuid}",
      [svc](const ApiRequest& r) { return DeleteTraceReply(svc, r); });

  add("GET", "/experiments", [svc](const ApiRequest&) {
    Json a = Json::array();
    for (const auto& e : svc->ListExperiments()) a.push_back(ExperimentJson(e));
    return JsonResponse(a);
  });
  add("POST", "/experiments",
      [svc](const ApiRequest& r) { return PostExperiment(svc, r); });
  add("GET", "/experiments/{expUUID}", [svc](const ApiRequest& r) {
    auto e = svc->GetExperiment(r.params[0]);
    return e.ok() ? JsonResponse(ExperimentJson(*e)) : FromStatus(e.status());
  });
  add("DELETE", "/experiments/{expUUID}", [svc](const ApiRequest& r) {
    auto e = svc->DeleteExperiment(r.params[0]);
    return e.ok() ? JsonResponse(ExperimentJson(*e)) : FromStatus(e.status());
  });
}

}  // namespace vmtrace::tsp
