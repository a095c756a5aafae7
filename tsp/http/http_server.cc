#include "tsp/http/http_server.h"

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <regex>

#include "base/log.h"
#include "tsp/http/limits.h"

namespace vmtrace::tsp {
namespace {

constexpr char kPrefix[] = "/tsp/api";

// "/traces/{uuid}" -> "/tsp/api/traces/([^/]+)"
std::string TemplateToRegex(const std::string& tmpl) {
  static const std::regex kParam(R"(\{[^}]+\})");
  return kPrefix + std::regex_replace(tmpl, kParam, "([^/]+)");
}

thread_local std::chrono::steady_clock::time_point t_request_start;

GuardRequest ToGuardRequest(const httplib::Request& req) {
  GuardRequest g;
  g.method = req.method;
  g.path = req.path;
  auto header = [&req](const char* name) -> std::optional<std::string> {
    if (!req.has_header(name)) return std::nullopt;
    return req.get_header_value(name);
  };
  g.host = header("Host");
  g.origin = header("Origin");
  g.authorization = header("Authorization");
  g.content_type = header("Content-Type");
  // The body is not read yet: its announced size (chunked: unknown, > 0).
  if (req.has_header("Transfer-Encoding")) {
    g.body_size = 1;
  } else if (auto len = header("Content-Length")) {
    g.body_size = std::strtoull(len->c_str(), nullptr, 10);
  }
  return g;
}

// Every request passes the guard (Host, Origin, token, body type) before
// routing, and is logged with its time.
void InstallGuard(httplib::Server* server, GuardOptions guard_options) {
  httplib::Server& svr = *server;
  svr.set_pre_routing_handler(
      [guard = std::move(guard_options)](const httplib::Request& req,
                                         httplib::Response& res) {
        t_request_start = std::chrono::steady_clock::now();
        const GuardRequest g = ToGuardRequest(req);
        GuardDecision d = CheckRequest(guard, g);
        for (const auto& [k, v] : d.headers) res.set_header(k, v);
        if (!d.reject) return httplib::Server::HandlerResponse::Unhandled;
        // The body (if any) is not read before routing: close the connection
        // so its bytes are not taken for the next request.
        if (g.body_size > 0) res.set_header("Connection", "close");
        for (const auto& [k, v] : d.reject->headers) res.set_header(k, v);
        res.status = d.reject->status;
        res.set_content(d.reject->body, d.reject->content_type.c_str());
        return httplib::Server::HandlerResponse::Handled;
      });
  svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - t_request_start)
                  .count();
    VMTRACE_LOG(kInfo, "%s %s %d %.3f ms", req.method.c_str(), req.path.c_str(),
                res.status, us / 1000.0);
  });
}

// The cpp-httplib handler of a route: path parameters, query and body in;
// the budget (heavy slots, deadline), exceptions as 500, the reply out.
httplib::Server::Handler BindRoute(const Route& route, RequestBudget* budget) {
  ApiHandler handler = route.handler;
  const bool heavy = RequestBudget::IsHeavy(route.method, route.path_template);
  return [handler, heavy, budget](const httplib::Request& req,
                                  httplib::Response& res) {
    ApiRequest ar;
    for (size_t i = 1; i < req.matches.size(); ++i) {
      ar.params.push_back(req.matches[i].str());
    }
    for (const auto& [k, v] : req.params) ar.query[k] = v;
    ar.body = req.body;
    ApiResponse out;
    try {
      out = budget->Run(heavy, t_request_start,
                        [&handler, &ar] { return handler(ar); });
    } catch (const std::exception& e) {
      out = ErrorResponse(500, "Internal server error", e.what());
    }
    res.status = out.status;
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    if (out.status == 503 && !res.has_header("Retry-After")) {
      res.set_header("Retry-After", "1");
    }
    // Moved, not copied: replies can be hundreds of MB.
    res.body = std::move(out.body);
    res.set_header("Content-Type", out.content_type);
  };
}

void InstallErrorHandler(httplib::Server* server,
                         const std::vector<Route>& routes) {
  httplib::Server& svr = *server;
  // Unrouted requests: 405 if the path exists with another method, else
  // 404; both with a TSP error body.
  std::vector<std::regex> known;
  for (const Route& route : routes) {
    known.emplace_back(TemplateToRegex(route.path_template));
  }
  svr.set_error_handler(httplib::Server::HandlerWithResponse(
      [known](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        ApiResponse out;
        if (res.status == 404) {
          bool other_method = std::any_of(
              known.begin(), known.end(), [&req](const std::regex& re) {
                return std::regex_match(req.path, re);
              });
          out = other_method ? ErrorResponse(405, "Method not allowed",
                                             req.method + " " + req.path)
                             : ErrorResponse(404, "Not found", req.path);
        } else {
          out = ErrorResponse(res.status,
                              "HTTP error " + std::to_string(res.status));
        }
        res.status = out.status;
        res.set_content(out.body, "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
}

}  // namespace

HttpServer::HttpServer(std::vector<Route> routes, HttpOptions options)
    : routes_(std::move(routes)),
      options_(std::move(options)),
      server_(std::make_unique<httplib::Server>()) {
  httplib::Server& svr = *server_;
  const int threads = std::max(1, options_.threads);
  RequestBudgetOptions budget_options = options_.budget;
  // Waiting heavy requests hold workers: leave half of them to the rest.
  if (budget_options.max_queued <= 0) {
    budget_options.max_queued = std::max(1, threads / 2);
  }
  budget_ = std::make_unique<RequestBudget>(budget_options);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Without TCP_NODELAY, small keep-alive replies wait ~40 ms for delayed
  // ACKs (anchors.md B.5: 286 vs 34,900 requests/s).
  svr.set_tcp_nodelay(true);
  svr.set_payload_max_length(kMaxBodyBytes);
  // Access-Control-Allow-Origin is set per request by the guard, for
  // allowed origins only.
  svr.set_default_headers({{"Access-Control-Allow-Headers",
                            "origin, content-type, accept, authorization"},
                           {"Access-Control-Allow-Methods",
                            "GET, POST, PUT, DELETE, OPTIONS, HEAD"}});

  options_.guard.bind_host = options_.host;
  InstallGuard(&svr, options_.guard);

  for (const Route& route : routes_) {
    auto bound = BindRoute(route, budget_.get());
    std::string pattern = TemplateToRegex(route.path_template);
    if (route.method == "GET")
      svr.Get(pattern, bound);
    else if (route.method == "POST")
      svr.Post(pattern, bound);
    else if (route.method == "DELETE")
      svr.Delete(pattern, bound);
    else if (route.method == "PUT")
      svr.Put(pattern, bound);
  }
  svr.Options(R"(.*)", [](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
  });

  InstallErrorHandler(&svr, routes_);
}

HttpServer::~HttpServer() { Stop(); }

StatusOr<int> HttpServer::Bind() {
  int port;
  if (options_.port == 0) {
    port = server_->bind_to_any_port(options_.host);
  } else {
    port = server_->bind_to_port(options_.host, options_.port) ? options_.port
                                                               : -1;
  }
  if (port <= 0) {
    return IoError("cannot listen on " + options_.host + ":" +
                   std::to_string(options_.port));
  }
  return port;
}

void HttpServer::Serve() { server_->listen_after_bind(); }

void HttpServer::Stop() {
  if (server_) server_->stop();
}

}  // namespace vmtrace::tsp
