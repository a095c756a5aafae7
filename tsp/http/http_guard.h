// HTTP guard: decides, before routing, whether a request may reach the
// routes and which CORS headers its answer carries. Pure functions of the
// request's method, path and headers and of the server's exposure options
// (no socket), so each rule is unit-testable.
//
// Rules, in order (the first that fails answers, with a TSP error body):
// 1. Host (DNS rebinding): the Host header, port removed, must be
//    localhost, an IP literal (127.0.0.1, [::1], any other: a rebinding
//    attack needs a DNS name), the --host value or an --allowed-host name.
//    Else 403. A request without Host (HTTP/1.0) passes.
// 2. Origin: when present it must be allowed (IsLoopbackOrigin, a VS Code
//    webview scheme, or an --allowed-origin); else 403, whatever the method.
//    Allowed origins are echoed in Access-Control-Allow-Origin, never "*".
// 3. OPTIONS (CORS preflight) is answered without the token (browsers do
//    not send credentials on a preflight).
// 4. Token: with a token configured, every other request but GET /health
//    needs `Authorization: Bearer <token>` (compared in constant time);
//    else 401 with `WWW-Authenticate: Bearer`.
// 5. Body type: a POST/PUT/DELETE with a non-empty body must be
//    `Content-Type: application/json` (parameters allowed, e.g. charset);
//    else 415. A browser page can then only send a body after a preflight.
#ifndef VMTRACE_TSP_HTTP_HTTP_GUARD_H_
#define VMTRACE_TSP_HTTP_HTTP_GUARD_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tsp/http/api.h"

namespace vmtrace::tsp {

struct GuardOptions {
  std::string bind_host = "127.0.0.1";  // the --host value
  // --allowed-host: more names accepted in the Host header (case-insensitive,
  // without port).
  std::vector<std::string> allowed_hosts;
  // --allowed-origin: exact origins (scheme://host[:port], or "null")
  // allowed besides the loopback and webview ones.
  std::vector<std::string> allowed_origins;
  // The bearer token (--token-file); empty: no authentication.
  std::string token;
};

// What the guard needs of a request. Header values are absent when the
// header is; body_size is the body's length in bytes.
struct GuardRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // e.g. "/tsp/api/health"
  std::optional<std::string> host;
  std::optional<std::string> origin;
  std::optional<std::string> authorization;
  std::optional<std::string> content_type;
  size_t body_size = 0;
};

struct GuardDecision {
  // Set when the request must not reach the routes: the answer to send.
  std::optional<ApiResponse> reject;
  // Headers for the answer (rejected or not): the CORS ones and Vary.
  std::vector<std::pair<std::string, std::string>> headers;
};

GuardDecision CheckRequest(const GuardOptions& options,
                           const GuardRequest& request);

// http(s) origins of localhost, *.localhost (e.g. Theia webviews at
// <uuid>.webview.localhost), 127.0.0.1 and [::1], any port.
bool IsLoopbackOrigin(const std::string& origin);
// True for the addresses only this machine reaches: localhost, 127.0.0.0/8,
// ::1 (with or without brackets).
bool IsLoopbackAddress(const std::string& host);
// Compares without an early exit on the first difference (the time taken
// does not tell how much of a guessed token is right).
bool ConstantTimeEquals(const std::string& a, const std::string& b);

// Why the server must not start with these settings ("" when it may): a
// non-loopback bind needs trace roots and a token, unless insecure.
std::string ExposureProblem(const std::string& host, bool has_trace_roots,
                            bool has_token, bool insecure);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_HTTP_HTTP_GUARD_H_
