// Exposure over HTTP: CORS only for allowed origins, JSON-only bodies, the
// Host check, the bearer token, trace roots that tell nothing about files
// outside them, a NUL byte in `uri`, and 503 (not 404) while an experiment
// is still closing.
#include <unistd.h>

#include "tests/tsp/http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

using HttpExposureTest = HttpTest;

TEST_F(HttpExposureTest, CorsEchoesOnlyAllowedOrigins) {
  auto none = Get("/health");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 200);
  EXPECT_FALSE(none->has_header("Access-Control-Allow-Origin"))
      << none->get_header_value("Access-Control-Allow-Origin");
  EXPECT_EQ(none->get_header_value("Vary"), "Origin");

  for (const char* origin : {"http://localhost:3000", "vscode-webview://abc"}) {
    auto r = Get("/traces", {{"Origin", origin}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << origin;
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), origin);
  }
  // A page elsewhere: refused with a TSP error, no CORS header, whatever
  // the method (its POSTs would have side effects).
  const httplib::Headers evil = {{"Origin", "https://evil.example"}};
  auto get = Get("/traces", evil);
  ExpectError(get, 403);
  EXPECT_FALSE(get->has_header("Access-Control-Allow-Origin"));
  auto post =
      Post("/traces",
           Json{{"parameters", {{"uri", TestData("synthetic")}}}}.dump(), evil);
  ExpectError(post, 403);
  EXPECT_TRUE(Body(Get("/traces")).empty()) << "nothing was added";
  auto pre = client_->Options(std::string(kApi) + "/traces",
                              {{"Origin", "https://evil.example"},
                               {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 403);
  EXPECT_FALSE(pre->has_header("Access-Control-Allow-Origin"));
}

TEST_F(HttpExposureTest, AllowedOriginOption) {
  StopServer();
  http_options_.guard.allowed_origins = {"https://ide.example.org"};
  StartServer();
  auto r = Get("/health", {{"Origin", "https://ide.example.org"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"),
            "https://ide.example.org");
}

TEST_F(HttpExposureTest, BodiesMustBeJson) {
  const std::string body =
      Json{{"parameters", {{"uri", TestData("synthetic")}}}}.dump();
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded"}) {
    auto r = client_->Post(std::string(kApi) + "/traces", body, type);
    Json e = ExpectError(r, 415);
    EXPECT_NE(e["detail"].get<std::string>().find("application/json"),
              std::string::npos);
  }
  EXPECT_TRUE(Body(Get("/traces")).empty()) << "nothing was added";
  // The connection is usable again after a refused body.
  auto ok = client_->Post(std::string(kApi) + "/traces", body,
                          "application/json; charset=utf-8");
  ASSERT_TRUE(ok);
  EXPECT_NE(ok->status, 415) << ok->body;
}

TEST_F(HttpExposureTest, HostHeaderChecked) {
  for (const char* host :
       {"localhost:8080", "127.0.0.1", "[::1]:8080", "192.168.0.7:8080"}) {
    auto r = Get("/health", {{"Host", host}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << host;
  }
  // A DNS name rebound to 127.0.0.1 by an attacker's page.
  Json e =
      ExpectError(Get("/traces", {{"Host", "rebind.evil.example:8080"}}), 403);
  EXPECT_NE(e["detail"].get<std::string>().find("--allowed-host"),
            std::string::npos);

  StopServer();
  http_options_.guard.allowed_hosts = {"tracebox.lan"};
  StartServer();
  auto r = Get("/traces", {{"Host", "tracebox.lan:8080"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpExposureTest, BearerToken) {
  StopServer();
  http_options_.guard.token = "s3cret-token-0123456789";
  StartServer();
  auto r = Get("/traces");
  ExpectError(r, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u);
  ExpectError(Get("/traces", {{"Authorization", "Bearer wrong"}}), 401);
  ExpectError(Post("/traces", Json{{"parameters", {{"uri", "/"}}}}), 401);
  // Allowed origins can read the 401 (to tell the user why).
  auto cors = Get("/traces", {{"Origin", "http://localhost:3000"}});
  ExpectError(cors, 401);
  EXPECT_EQ(cors->get_header_value("Access-Control-Allow-Origin"),
            "http://localhost:3000");
  // Health checks and preflights need no token.
  auto health = Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto pre = Options("/traces");
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 200);

  client_->set_bearer_token_auth("s3cret-token-0123456789");
  auto ok = Get("/traces");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

class HttpTraceRootTest : public HttpTest {
 protected:
  void SetUp() override {
    // Two roots: the test data, and a folder holding a symlink to /etc
    // (which must not lead out).
    root_ = fs::temp_directory_path() /
            ("vmtrace_root_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "inside");
    fs::create_directory_symlink("/etc", root_ / "escape");
    service_options_.trace_roots = {TestData(""), root_.string()};
    HttpTest::SetUp();
  }
  void TearDown() override {
    HttpTest::TearDown();
    fs::remove_all(root_);
  }
  httplib::Result AddPath(const std::string& uri) {
    return Post("/traces", Json{{"parameters", {{"uri", uri}}}});
  }
  fs::path root_;
};

TEST_F(HttpTraceRootTest, OutsideTheRootsOneAnswerWhetherOrNotItExists) {
  ASSERT_TRUE(fs::exists("/etc/passwd"));
  std::string first;
  for (const std::string& uri :
       {std::string("/etc/passwd"), std::string("/etc/no-such-file"),
        std::string("/etc"), std::string("/no/such/dir"),
        TestData("../CMakeLists.txt"), TestData("../no-such-file"),
        (root_ / "inside/../../etc/passwd").string(),
        (root_ / "escape/passwd").string(),
        (root_ / "escape/no-such-file").string(), std::string("relative")}) {
    auto r = AddPath(uri);
    ExpectError(r, 403);
    if (first.empty()) first = r->body;
    EXPECT_EQ(r->body, first) << uri;
  }
  EXPECT_TRUE(Body(Get("/traces")).empty());
  // Inside a root: what exists there may be told.
  ExpectError(AddPath((root_ / "inside/none").string()), 404);
  auto ok = AddPath(TestData("tracevizlab-simple-kernel-8cpu"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto dots = AddPath(TestData("synthetic/../tracevizlab-simple-kernel-8cpu"));
  ASSERT_TRUE(dots);
  EXPECT_EQ(dots->status, 200) << dots->body;
}

TEST_F(HttpExposureTest, NulByteInUriIsInvalid) {
  // "\u0000" in JSON: the path would be cut at the NUL by every system call.
  const std::string body = R"({"parameters":{"uri":")" +
                           TestData("tracevizlab-simple-kernel-8cpu") +
                           R"(\u0000/whatever"}})";
  Json e = ExpectError(Post("/traces", body), 400);
  EXPECT_EQ(e["title"], "Invalid query parameters: uri");
  EXPECT_TRUE(Body(Get("/traces")).empty());
}

TEST_F(HttpExposureTest, ExperimentStillClosingIs503WithRetryAfter) {
  StopServer();
  service_options_.close_wait = std::chrono::milliseconds(0);
  StartServer();
  Json exp = OpenIndexed("tracevizlab-simple-kernel-8cpu", "simple-kernel");
  const std::string uuid = exp["UUID"];
  // A request still holds the experiment while a configuration change
  // closes it: the next open cannot reuse its stores yet.
  auto held = service()->OpenExperiment(uuid);
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(service()
                  ->PutConfig({"vmtrace.vm.vectors", "test", "test", "",
                               R"({"timer":[236]})"})
                  .ok());
  auto r = Get(Outputs(uuid));
  Json e = ExpectError(r, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  held->reset();
  auto again = Get(Outputs(uuid));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
}

}  // namespace
}  // namespace vmtrace::tsp::testing
