// The HTTP-independent shape of our routes: a handler takes the path
// parameters and body and returns a status code and a body. The server
// (http_server.cc) binds these to cpp-httplib; the routes themselves are in
// tsp/routes/ (BuildRoutes, routes.h); tests can call them directly, and
// the OpenAPI test compares the templates with openapi/tsp.yaml.
#ifndef VMTRACE_TSP_HTTP_API_H_
#define VMTRACE_TSP_HTTP_API_H_

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace vmtrace::tsp {

struct ApiRequest {
  std::vector<std::string> params;  // path parameters, in template order
  std::map<std::string, std::string> query;
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Extra response headers (e.g. Retry-After, WWW-Authenticate).
  std::vector<std::pair<std::string, std::string>> headers;
};

using ApiHandler = std::function<ApiResponse(const ApiRequest&)>;

struct Route {
  std::string method;         // "GET", "POST", "DELETE", "PUT"
  std::string path_template;  // relative to /tsp/api, e.g. "/traces/{uuid}"
  ApiHandler handler;
};

struct ServerInfo {
  std::string version;
  std::string build_time;
  std::string openapi_yaml;  // served at /openapi.yaml
};

// Helpers shared by the route files.
ApiResponse JsonResponse(const nlohmann::json& body, int status = 200);
// {"title": title, "detail": detail-or-null} with the given code.
ApiResponse ErrorResponse(int status, const std::string& title,
                          const std::string& detail = "");
// Maps a Status to the TSP error response (the only place codes map).
ApiResponse FromStatus(const Status& status);
// Why an experiment could not be opened: 404 "No such trace" when it is
// unknown, else FromStatus (e.g. 503 while it is still closing).
ApiResponse ExperimentError(const Status& status);
// {"model": model, "status": ..., "statusMessage": ...}
ApiResponse Envelope(nlohmann::json model, bool running,
                     const std::string& message = "");

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_HTTP_API_H_
