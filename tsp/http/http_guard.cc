#include "tsp/http/http_guard.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace vmtrace::tsp {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

bool IsIpv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool IsIpv6(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// "Host" or origin authority without its port, lowercase; IPv6 literals
// keep their brackets ("[::1]:80" -> "[::1]"). "" if malformed.
std::string HostName(const std::string& authority) {
  std::string a = Lower(Trim(authority));
  if (!a.empty() && a[0] == '[') {
    size_t close = a.find(']');
    if (close == std::string::npos) return "";
    std::string rest = a.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return "";
    return a.substr(0, close + 1);
  }
  size_t colon = a.find(':');
  if (colon != std::string::npos &&
      a.find(':', colon + 1) != std::string::npos) {
    return IsIpv6(a) ? "[" + a + "]" : "";  // bare IPv6 (not valid in Host)
  }
  return a.substr(0, colon);
}

bool IsIpLiteral(const std::string& name) {
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    return IsIpv6(name.substr(1, name.size() - 2));
  }
  return IsIpv4(name);
}

bool IsLoopbackName(const std::string& name) {
  if (name == "localhost" || name == "[::1]") return true;
  if (name.size() > 10 && name.ends_with(".localhost")) return true;
  return IsIpv4(name) && name.rfind("127.", 0) == 0;
}

bool HostAllowed(const GuardOptions& o, const std::string& header) {
  const std::string name = HostName(header);
  if (name.empty()) return false;
  if (name == "localhost" || IsIpLiteral(name)) return true;
  if (name == HostName(o.bind_host)) return true;
  return std::any_of(
      o.allowed_hosts.begin(), o.allowed_hosts.end(),
      [&name](const std::string& h) { return HostName(h) == name; });
}

bool OriginAllowed(const GuardOptions& o, const std::string& origin) {
  std::string lower = Lower(Trim(origin));
  while (!lower.empty() && lower.back() == '/') lower.pop_back();
  if (std::any_of(o.allowed_origins.begin(), o.allowed_origins.end(),
                  [&lower](std::string a) {
                    a = Lower(Trim(a));
                    while (!a.empty() && a.back() == '/') a.pop_back();
                    return a == lower;
                  })) {
    return true;
  }
  // VS Code webviews (vscode-webview://<id>) and its desktop app's pages.
  if (lower.rfind("vscode-webview://", 0) == 0 ||
      lower.rfind("vscode-file://", 0) == 0) {
    return true;
  }
  return IsLoopbackOrigin(lower);
}

bool IsBodyMethod(const std::string& m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

}  // namespace

bool IsLoopbackOrigin(const std::string& origin) {
  const std::string o = Lower(Trim(origin));
  size_t sep = o.find("://");
  if (sep == std::string::npos) return false;
  const std::string scheme = o.substr(0, sep);
  if (scheme != "http" && scheme != "https") return false;
  std::string authority = o.substr(sep + 3);
  if (size_t slash = authority.find('/'); slash != std::string::npos) {
    authority.resize(slash);
  }
  if (authority.find('@') != std::string::npos) return false;
  return IsLoopbackName(HostName(authority));
}

bool IsLoopbackAddress(const std::string& host) {
  std::string h = Lower(Trim(host));
  if (h == "::1") return true;
  return IsLoopbackName(h) && h.find(".localhost") == std::string::npos;
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  // The length is not secret (the token file's is fixed); the bytes are
  // all compared whatever differs.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

GuardDecision CheckRequest(const GuardOptions& o, const GuardRequest& r) {
  GuardDecision d;
  d.headers.emplace_back("Vary", "Origin");
  if (r.host && !HostAllowed(o, *r.host)) {
    d.reject = ErrorResponse(
        403, "Host not allowed",
        "The Host header '" + *r.host +
            "' is not a name of this server; start it with --allowed-host "
            "NAME to accept it");
    return d;
  }
  if (r.origin) {
    if (!OriginAllowed(o, *r.origin)) {
      d.reject = ErrorResponse(
          403, "Origin not allowed",
          "Requests from origin '" + *r.origin +
              "' are refused; start the server with --allowed-origin ORIGIN "
              "to accept them");
      return d;
    }
    d.headers.emplace_back("Access-Control-Allow-Origin", *r.origin);
  }
  if (r.method == "OPTIONS") return d;
  const bool health =
      (r.method == "GET" || r.method == "HEAD") && r.path == "/tsp/api/health";
  if (!o.token.empty() && !health) {
    static constexpr char kBearer[] = "bearer ";
    const std::string& auth = r.authorization.value_or("");
    bool ok =
        auth.size() > sizeof(kBearer) - 1 &&
        Lower(auth.substr(0, sizeof(kBearer) - 1)) == kBearer &&
        ConstantTimeEquals(Trim(auth.substr(sizeof(kBearer) - 1)), o.token);
    if (!ok) {
      d.reject = ErrorResponse(
          401, "Unauthorized",
          "This server needs 'Authorization: Bearer <token>' (the token of "
          "its --token-file)");
      d.reject->headers.emplace_back("WWW-Authenticate",
                                     "Bearer realm=\"vmtrace\"");
      return d;
    }
  }
  if (IsBodyMethod(r.method) && r.body_size > 0) {
    std::string type = Lower(Trim(r.content_type.value_or("")));
    if (size_t semi = type.find(';'); semi != std::string::npos) {
      type = Trim(type.substr(0, semi));
    }
    if (type != "application/json") {
      d.reject = ErrorResponse(
          415, "Unsupported media type",
          "Request bodies must be sent with Content-Type: application/json");
      return d;
    }
  }
  return d;
}

std::string ExposureProblem(const std::string& host, bool has_trace_roots,
                            bool has_token, bool insecure) {
  if (insecure || IsLoopbackAddress(host)) return "";
  if (has_trace_roots && has_token) return "";
  std::string missing;
  if (!has_trace_roots) missing = "--trace-root DIR";
  if (!has_token) {
    missing +=
        std::string(missing.empty() ? "" : " and ") + "--token-file FILE";
  }
  return "--host " + host +
         " is not a loopback address: anyone who reaches it could open files "
         "and drive the server. Give " +
         missing +
         ", or --insecure to accept the risk (or keep the default 127.0.0.1 "
         "and reach the server through an SSH tunnel: ssh -L "
         "8080:127.0.0.1:8080 HOST)";
}

}  // namespace vmtrace::tsp
