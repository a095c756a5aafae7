// The request guard (tsp/http_guard.h) as a pure function: Host, Origin,
// token and body-type rules, and the start-up exposure check.
#include "tsp/http/http_guard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace vmtrace::tsp {
namespace {

GuardRequest Get(const std::string& path = "/tsp/api/traces") {
  GuardRequest r;
  r.method = "GET";
  r.path = path;
  r.host = "127.0.0.1:8080";
  return r;
}

GuardRequest PostJson(const std::string& type = "application/json") {
  GuardRequest r = Get();
  r.method = "POST";
  r.content_type = type;
  r.body_size = 20;
  return r;
}

int Status(const GuardDecision& d) { return d.reject ? d.reject->status : 0; }

std::string Header(const GuardDecision& d, const std::string& name) {
  for (const auto& [k, v] : d.headers) {
    if (k == name) return v;
  }
  return "";
}

void ExpectTspError(const GuardDecision& d, int status) {
  ASSERT_TRUE(d.reject.has_value());
  EXPECT_EQ(d.reject->status, status);
  EXPECT_EQ(d.reject->content_type, "application/json");
  auto j = nlohmann::json::parse(d.reject->body);
  EXPECT_TRUE(j["title"].is_string()) << d.reject->body;
  EXPECT_TRUE(j.contains("detail")) << d.reject->body;
}

TEST(HttpGuardTest, HostHeaderMustNameThisServer) {
  GuardOptions o;
  for (const char* ok :
       {"localhost", "localhost:8080", "LOCALHOST:1", "127.0.0.1", "[::1]:80",
        "[::1]", "10.1.2.3:8080", "[fe80::1]:8080"}) {
    GuardRequest r = Get();
    r.host = ok;
    EXPECT_EQ(Status(CheckRequest(o, r)), 0) << ok;
  }
  for (const char* bad :
       {"evil.example", "evil.example:8080", "localhost.evil.example",
        "127.0.0.1.nip.io:8080", "", "[::1", "[::1]x"}) {
    GuardRequest r = Get();
    r.host = bad;
    ExpectTspError(CheckRequest(o, r), 403);
  }
  // The --host value and --allowed-host names.
  o.bind_host = "tracebox.lan";
  o.allowed_hosts = {"Viewer.Example"};
  GuardRequest r = Get();
  r.host = "tracebox.lan:8080";
  EXPECT_EQ(Status(CheckRequest(o, r)), 0);
  r.host = "viewer.example";
  EXPECT_EQ(Status(CheckRequest(o, r)), 0);
  r.host.reset();  // HTTP/1.0
  EXPECT_EQ(Status(CheckRequest(o, r)), 0);
}

TEST(HttpGuardTest, OnlyAllowedOriginsAreEchoedNeverAStar) {
  GuardOptions o;
  for (const char* ok :
       {"http://localhost:3000", "http://127.0.0.1:9999", "http://[::1]:3000",
        "https://localhost", "vscode-webview://1abc2def",
        "vscode-file://vscode-app",
        "http://0a1b2c3d-uuid.webview.localhost:3000"}) {
    GuardRequest r = PostJson();
    r.origin = ok;
    GuardDecision d = CheckRequest(o, r);
    EXPECT_EQ(Status(d), 0) << ok;
    EXPECT_EQ(Header(d, "Access-Control-Allow-Origin"), ok);
    EXPECT_EQ(Header(d, "Vary"), "Origin");
  }
  for (const char* bad :
       {"https://evil.example", "http://localhost.evil.example",
        "http://127.0.0.1.evil.example", "null", "file://",
        "http://user@evil.example", "ftp://localhost"}) {
    for (const char* method : {"GET", "POST", "DELETE", "OPTIONS"}) {
      GuardRequest r = Get();
      r.method = method;
      r.origin = bad;
      GuardDecision d = CheckRequest(o, r);
      ExpectTspError(d, 403);
      EXPECT_EQ(Header(d, "Access-Control-Allow-Origin"), "") << bad;
    }
  }
  // No Origin (curl, the node client): no CORS header, still Vary.
  GuardDecision d = CheckRequest(o, Get());
  EXPECT_EQ(Status(d), 0);
  EXPECT_EQ(Header(d, "Access-Control-Allow-Origin"), "");
  EXPECT_EQ(Header(d, "Vary"), "Origin");
  // --allowed-origin: exact (case and a trailing slash aside).
  o.allowed_origins = {"https://IDE.example.org/"};
  GuardRequest r = Get();
  r.origin = "https://ide.example.org";
  EXPECT_EQ(Status(CheckRequest(o, r)), 0);
  r.origin = "https://ide.example.org.evil";
  EXPECT_EQ(Status(CheckRequest(o, r)), 403);
}

TEST(HttpGuardTest, BodiesMustBeJson) {
  GuardOptions o;
  EXPECT_EQ(Status(CheckRequest(o, PostJson())), 0);
  EXPECT_EQ(
      Status(CheckRequest(o, PostJson("Application/JSON; charset=utf-8"))), 0);
  for (const char* bad :
       {"text/plain", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "", "application/jsonp"}) {
    ExpectTspError(CheckRequest(o, PostJson(bad)), 415);
  }
  GuardRequest none = PostJson();
  none.content_type.reset();
  ExpectTspError(CheckRequest(o, none), 415);
  GuardRequest put = PostJson("text/plain");
  put.method = "PUT";
  ExpectTspError(CheckRequest(o, put), 415);
  // No body: nothing to check (DELETE, an empty POST).
  GuardRequest empty = PostJson("text/plain");
  empty.body_size = 0;
  EXPECT_EQ(Status(CheckRequest(o, empty)), 0);
}

TEST(HttpGuardTest, BearerTokenWhenConfigured) {
  GuardOptions o;
  o.token = "0123456789abcdef0123";
  GuardRequest r = Get();
  GuardDecision d = CheckRequest(o, r);
  ExpectTspError(d, 401);
  bool challenge = false;
  for (const auto& [k, v] : d.reject->headers) {
    challenge |= k == "WWW-Authenticate" && v.rfind("Bearer", 0) == 0;
  }
  EXPECT_TRUE(challenge);
  for (const char* bad :
       {"Bearer 0123456789abcdef012", "Bearer 0123456789abcdef01234",
        "Basic MDEyMzQ1Njc4OWFiY2RlZjAxMjM=", "0123456789abcdef0123", "Bearer ",
        "Bearer"}) {
    r.authorization = bad;
    EXPECT_EQ(Status(CheckRequest(o, r)), 401) << bad;
  }
  r.authorization = "Bearer 0123456789abcdef0123";
  EXPECT_EQ(Status(CheckRequest(o, r)), 0);
  r.authorization = "bearer 0123456789abcdef0123";
  EXPECT_EQ(Status(CheckRequest(o, r)), 0);
  // /health (supervisors) and preflights (browsers send no credentials).
  EXPECT_EQ(Status(CheckRequest(o, Get("/tsp/api/health"))), 0);
  GuardRequest pre = Get();
  pre.method = "OPTIONS";
  pre.origin = "vscode-webview://x";
  EXPECT_EQ(Status(CheckRequest(o, pre)), 0);
  // The token is checked before the body type (401, not 415).
  EXPECT_EQ(Status(CheckRequest(o, PostJson("text/plain"))), 401);
}

TEST(HttpGuardTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), "a"));
}

TEST(HttpGuardTest, NonLoopbackBindNeedsRootsAndTokenOrInsecure) {
  for (const char* lo :
       {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"}) {
    EXPECT_TRUE(IsLoopbackAddress(lo)) << lo;
    EXPECT_EQ(ExposureProblem(lo, false, false, false), "") << lo;
  }
  for (const char* wide : {"0.0.0.0", "::", "192.168.1.5", "tracebox.lan"}) {
    EXPECT_FALSE(IsLoopbackAddress(wide)) << wide;
    const std::string both = ExposureProblem(wide, false, false, false);
    EXPECT_NE(both.find("--trace-root"), std::string::npos) << both;
    EXPECT_NE(both.find("--token-file"), std::string::npos) << both;
    EXPECT_NE(both.find("ssh -L"), std::string::npos) << both;
    const std::string token = ExposureProblem(wide, true, false, false);
    EXPECT_EQ(token.find("--trace-root"), std::string::npos) << token;
    EXPECT_NE(token.find("--token-file"), std::string::npos) << token;
    EXPECT_NE(ExposureProblem(wide, false, true, false), "");
    EXPECT_EQ(ExposureProblem(wide, true, true, false), "");
    EXPECT_EQ(ExposureProblem(wide, false, false, true), "");
  }
}

}  // namespace
}  // namespace vmtrace::tsp
