// Transport-level behaviour: health, content type, CORS, OPTIONS, gzip,
// unrouted paths and methods, /identifier, /openapi.yaml.
#include <zlib.h>

#include "tests/tsp/http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

// A VS Code webview's origin (the one the fixture's Options() sends).
constexpr char kWebview[] = "vscode-webview://x";
const httplib::Headers kFromWebview = {{"Origin", kWebview}};

// CORS headers for an allowed origin: echoed, never "*".
void ExpectCors(const httplib::Result& r) {
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), kWebview);
  EXPECT_EQ(r->get_header_value("Vary"), "Origin");
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Headers"),
            "origin, content-type, accept, authorization");
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Methods"),
            "GET, POST, PUT, DELETE, OPTIONS, HEAD");
}

std::string Gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  std::string out;
  char buf[16384];
  int ret;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    ret = inflate(&zs, Z_NO_FLUSH);
    if (ret != Z_OK && ret != Z_STREAM_END) break;
    out.append(buf, sizeof(buf) - zs.avail_out);
  } while (ret != Z_STREAM_END);
  EXPECT_EQ(ret, Z_STREAM_END) << "not a complete gzip stream";
  inflateEnd(&zs);
  return out;
}

using HttpBasicsTest = HttpTest;

TEST_F(HttpBasicsTest, HealthIsUpWithExactJsonContentType) {
  auto r = Get("/health", kFromWebview);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"status":"UP"})");
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  ExpectCors(r);
}

TEST_F(HttpBasicsTest, CorsOnSuccessErrorsAndPreflight) {
  ExpectCors(Get("/traces", kFromWebview));
  ExpectCors(
      Get("/experiments/5648f6f1-c610-37b0-a8ac-1d695cfaed5b", kFromWebview));
  ExpectCors(Post("/traces", std::string("{"), kFromWebview));
  ExpectCors(Get("/no/such/path", kFromWebview));
  for (const char* path :
       {"/health", "/traces", "/experiments",
        "/experiments/5648f6f1-c610-37b0-a8ac-1d695cfaed5b/outputs/table/x/"
        "lines",
        "/not/routed"}) {
    auto r = Options(path);
    ASSERT_TRUE(r) << path;
    EXPECT_GE(r->status, 200) << path;
    EXPECT_LT(r->status, 300) << path;
    ExpectCors(r);
  }
}

TEST_F(HttpBasicsTest, GzipWhenAskedDecodesToTheSameJson) {
  Json exp = OpenIndexed("tracevizlab-simple-kernel-8cpu", "simple-kernel");
  ASSERT_TRUE(exp.is_object());
  const std::string path = Table(exp["UUID"], "lines");
  const std::string body =
      Json{{"parameters",
            {{"requested_table_index", 0}, {"requested_table_count", 200}}}}
          .dump();
  auto plain = Post(path, body);
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200);
  EXPECT_FALSE(plain->has_header("Content-Encoding"));

  auto zipped = Post(path, body, {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(zipped);
  ASSERT_EQ(zipped->status, 200);
  EXPECT_EQ(zipped->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(zipped->get_header_value("Content-Type"), "application/json");
  EXPECT_LT(zipped->body.size(), plain->body.size());
  EXPECT_EQ(Json::parse(Gunzip(zipped->body)), Json::parse(plain->body));

  auto list = Get("/traces", {{"Accept-Encoding", "gzip, deflate"}});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->get_header_value("Content-Encoding"), "gzip");
  EXPECT_TRUE(Json::parse(Gunzip(list->body)).is_array());
}

TEST_F(HttpBasicsTest, UnknownPathIs404WithTspErrorBody) {
  ExpectError(Get("/no/such/path"), 404);
  ExpectError(Post("/nothing", std::string("{}")), 404);
  ExpectError(Get("/experiments/not-a-uuid"), 404);
  ExpectError(Get("/experiments/5648f6f1-c610-37b0-a8ac-1d695cfaed5b"), 404);
  ExpectError(Get("/traces/5648f6f1-c610-37b0-a8ac-1d695cfaed5b"), 404);
}

TEST_F(HttpBasicsTest, WrongMethodOnExistingPathIs405) {
  ExpectError(Post("/health", std::string("{}")), 405);
  ExpectError(Delete("/traces"), 405);
  ExpectError(Get("/experiments/5648f6f1-c610-37b0-a8ac-1d695cfaed5b/outputs/"
                  "table/x/lines"),
              405);
}

TEST(HttpOptionsTest, DefaultsToLoopbackPort8080) {
  HttpOptions defaults;
  EXPECT_EQ(defaults.port, 8080);
  EXPECT_EQ(defaults.host, "127.0.0.1");
}

TEST_F(HttpBasicsTest, Identifier) {
  auto r = Get("/identifier");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  Json j = Body(r);
  ASSERT_TRUE(j.is_object());
  for (const char* k :
       {"version", "os", "osArch", "osVersion", "productId", "launcherName"}) {
    EXPECT_TRUE(j.contains(k) && j[k].is_string()) << k;
  }
  EXPECT_EQ(j["tspVersion"], "0.6.0");
  EXPECT_EQ(j["version"], "0.0.0-test");
  EXPECT_FALSE(j.contains("buildTime"));  // omitted when unknown
  EXPECT_TRUE(j["cpuCount"].is_number_integer());
  EXPECT_GT(j["cpuCount"].get<int64_t>(), 0);
  EXPECT_TRUE(j["maxMemory"].is_number_integer());
  EXPECT_GT(j["maxMemory"].get<int64_t>(), 0);
}

TEST_F(HttpBasicsTest, OpenApiDocumentIsServed) {
  auto r = Get("/openapi.yaml", kFromWebview);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, ReadFile(VMTRACE_OPENAPI_PATH));
  EXPECT_EQ(r->body.rfind("openapi: 3.0.1", 0), 0u);
  ExpectCors(r);
}

TEST_F(HttpBasicsTest, MalformedBodiesAre400) {
  for (const char* body : {"{", "[1,2]", "", "{\"parameters\": 5}"}) {
    Json e = ExpectError(Post("/traces", std::string(body)), 400);
    EXPECT_TRUE(e.is_object()) << body;
    ExpectError(Post("/experiments", std::string(body)), 400);
  }
}

}  // namespace
}  // namespace vmtrace::tsp::testing
