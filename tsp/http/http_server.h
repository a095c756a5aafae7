// HttpServer: binds the routes of api.h to cpp-httplib under /tsp/api.
//
// Checks every request with the guard of http_guard.h (Host, Origin, token,
// body type) before routing. Adds what every response needs (CORS headers
// for allowed origins, exact JSON content type,
// TSP error bodies for unrouted paths, gzip when asked), answers OPTIONS
// preflights on every path, logs one line per request, and turns any
// exception escaping a handler into a 500 with a TSP error body.
#ifndef VMTRACE_TSP_HTTP_HTTP_SERVER_H_
#define VMTRACE_TSP_HTTP_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "tsp/http/api.h"
#include "tsp/http/http_guard.h"
#include "tsp/http/request_budget.h"

namespace httplib {
class Server;
}

namespace vmtrace::tsp {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see Bind())
  // Worker threads: each serves one connection at a time (cpp-httplib's
  // model), so this bounds concurrent connections (views fire ~5 requests
  // at once per open chart). Idle workers are cheap; CPU-bound work is
  // bounded by budget.max_heavy instead (tsp/request_budget.h).
  int threads = 128;
  RequestBudgetOptions budget;
  // Host/Origin/token/body-type rules; its bind_host is set from `host`.
  GuardOptions guard;
};

class HttpServer {
 public:
  HttpServer(std::vector<Route> routes, HttpOptions options);
  ~HttpServer();

  // Binds the socket. Returns the bound port; IoError if it cannot bind.
  StatusOr<int> Bind();
  // Serves until Stop(); call after Bind().
  void Serve();
  // Thread-safe; Serve() returns soon after.
  void Stop();

 private:
  std::vector<Route> routes_;
  HttpOptions options_;
  std::unique_ptr<RequestBudget> budget_;
  std::unique_ptr<httplib::Server> server_;
};

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_HTTP_HTTP_SERVER_H_
