#include "tests/tsp/http_fixture.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "tsp/http/api.h"
#include "tsp/openapi_yaml.h"
#include "tsp/routes/routes.h"

namespace vmtrace::tsp::testing {

std::string TestData(const std::string& name) {
  return std::string(VMTRACE_TEST_DATA) + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ExpectWireNumbers(const Json& j, const std::string& where) {
  static const std::set<std::string> kTimes = {"start", "end", "time",
                                               "duration"};
  static const std::set<std::string> kSafe = {
      "id",       "parentId", "entryId", "seriesId", "index",
      "lowIndex", "size",     "tags",    "nbEvents"};
  constexpr int64_t kMaxSafe = (int64_t(1) << 53) - 1;
  auto safe = [&](const Json& v, const std::string& at) {
    if (v.is_string()) return;  // OutputDescriptor id/parentId are strings
    EXPECT_TRUE(v.is_number_integer()) << at << " = " << v.dump();
    if (v.is_number_unsigned()) {
      EXPECT_LE(v.get<uint64_t>(), uint64_t(kMaxSafe)) << at;
    } else if (v.is_number_integer()) {
      EXPECT_LE(std::abs(v.get<int64_t>()), kMaxSafe) << at;
    }
  };
  if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      ExpectWireNumbers(j[i], where + "[" + std::to_string(i) + "]");
    }
    return;
  }
  if (!j.is_object()) return;
  for (const auto& [k, v] : j.items()) {
    const std::string at = where + "." + k;
    if (kTimes.count(k) && !v.is_object()) {
      EXPECT_TRUE(v.is_number_integer()) << at << " = " << v.dump();
    } else if (kSafe.count(k)) {
      safe(v, at);
    } else if (k == "columnIds" && v.is_array()) {
      for (const auto& x : v) safe(x, at + "[]");
    } else if (k == "xValues" && v.is_array()) {
      for (const auto& x : v) {
        EXPECT_TRUE(x.is_number_integer()) << at << "[] = " << x.dump();
      }
    } else if (k == "yValues" && v.is_array()) {
      for (const auto& x : v) {
        EXPECT_TRUE(x.is_number()) << at << "[] = " << x.dump();
      }
    } else {
      ExpectWireNumbers(v, at);
    }
  }
}

HttpOptions TspServer::TestOptions() {
  HttpOptions http;
  http.port = 0;
  http.threads = 4;
  return http;
}

TspServer::TspServer(const std::string& data_dir, ServiceOptions options,
                     HttpOptions http) {
  options.data_dir = data_dir;
  auto service = TraceService::Open(options);
  EXPECT_TRUE(service.ok()) << service.status().ToString();
  if (!service.ok()) return;
  service_ = std::move(service).value();
  ServerInfo info{"0.0.0-test", "", kOpenApiYaml};
  http.port = 0;  // tests never take a fixed port
  http_ = std::make_unique<HttpServer>(BuildRoutes(service_.get(), info), http);
  auto port = http_->Bind();
  EXPECT_TRUE(port.ok()) << port.status().ToString();
  if (!port.ok()) return;
  port_ = *port;
  thread_ = std::thread([this] { http_->Serve(); });
}

TspServer::~TspServer() {
  if (http_) http_->Stop();
  if (thread_.joinable()) thread_.join();
  http_.reset();
  service_.reset();
}

void HttpTest::SetUp() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  data_dir_ = fs::temp_directory_path() /
              ("vmtrace_http_" + std::to_string(getpid()) + "_" +
               std::to_string(counter++) + "_" + info->name());
  fs::remove_all(data_dir_);
  fs::create_directories(data_dir_);
  StartServer();
}

void HttpTest::TearDown() {
  StopServer();
  std::error_code ec;
  fs::remove_all(data_dir_, ec);
}

void HttpTest::StartServer() {
  server_ = std::make_unique<TspServer>(data_dir_.string(), service_options_,
                                        http_options_);
  ASSERT_GT(server_->port(), 0);
  client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  client_->set_decompress(false);
  client_->set_read_timeout(120, 0);
  // Serve() runs on another thread: until it listens, a Stop() is lost and
  // the join in ~TspServer waits forever. One answer proves it listens.
  for (int i = 0; i < 500 && !client_->Get(std::string(kApi) + "/health");
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void HttpTest::StopServer() {
  client_.reset();
  server_.reset();
}

namespace {
// Without an explicit Accept-Encoding the client library may offer
// compression on its own; ask for none unless the test asks otherwise.
httplib::Headers WithEncoding(httplib::Headers headers) {
  if (headers.find("Accept-Encoding") == headers.end()) {
    headers.emplace("Accept-Encoding", "identity");
  }
  return headers;
}
}  // namespace

httplib::Result HttpTest::Get(const std::string& path,
                              const httplib::Headers& headers) {
  return client_->Get(kApi + path, WithEncoding(headers));
}

httplib::Result HttpTest::Post(const std::string& path, const std::string& body,
                               const httplib::Headers& headers) {
  return client_->Post(kApi + path, WithEncoding(headers), body,
                       "application/json");
}

httplib::Result HttpTest::Put(const std::string& path, const Json& body) {
  return client_->Put(kApi + path, WithEncoding({}), body.dump(),
                      "application/json");
}

httplib::Result HttpTest::Delete(const std::string& path) {
  return client_->Delete(kApi + path, WithEncoding({}));
}

httplib::Result HttpTest::Options(const std::string& path) {
  return client_->Options(
      kApi + path,
      WithEncoding({{"Origin", "vscode-webview://x"},
                    {"Access-Control-Request-Method", "POST"},
                    {"Access-Control-Request-Headers", "content-type"}}));
}

Json HttpTest::Body(const httplib::Result& r) {
  if (!r) {
    ADD_FAILURE() << "no response: " << httplib::to_string(r.error());
    return nullptr;
  }
  Json j = Json::parse(r->body, nullptr, false);
  if (j.is_discarded()) {
    ADD_FAILURE() << "not JSON: " << r->body.substr(0, 300);
    return nullptr;
  }
  ExpectWireNumbers(j);
  return j;
}

Json HttpTest::ExpectError(const httplib::Result& r, int status) {
  if (!r) {
    ADD_FAILURE() << "no response";
    return nullptr;
  }
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  Json j = Body(r);
  EXPECT_TRUE(j.is_object()) << r->body;
  if (!j.is_object()) return nullptr;
  EXPECT_TRUE(j.contains("title") && j["title"].is_string()) << r->body;
  EXPECT_TRUE(j.contains("detail") &&
              (j["detail"].is_string() || j["detail"].is_null()))
      << r->body;
  return j;
}

Json HttpTest::AddTrace(const std::string& path, const std::string& name) {
  auto r =
      Post("/traces", Json{{"parameters", {{"uri", path}, {"name", name}}}});
  Json j = Body(r);
  EXPECT_EQ(r ? r->status : 0, 200) << (r ? r->body : "");
  return j;
}

Json HttpTest::AddExperiment(const std::string& name,
                             const std::vector<std::string>& trace_uuids) {
  auto r =
      Post("/experiments",
           Json{{"parameters", {{"name", name}, {"traces", trace_uuids}}}});
  Json j = Body(r);
  EXPECT_EQ(r ? r->status : 0, 200) << (r ? r->body : "");
  return j;
}

Json HttpTest::PostUntilDone(const std::string& path, const Json& body) {
  Json j;
  // A guard against a hang, not a performance threshold.
  for (int i = 0; i < 6000; ++i) {
    auto r = Post(path, body);
    j = Body(r);
    if (!r || r->status != 200 || j.value("status", "") != "RUNNING") return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << path << " still RUNNING";
  return j;
}

Json HttpTest::WaitIndexed(const std::string& uuid) {
  uint64_t last_events = 0;
  int64_t last_end = std::numeric_limits<int64_t>::min();
  // A guard against a hang, not a performance threshold.
  for (int i = 0; i < 60000; ++i) {
    auto r = Get("/experiments/" + uuid);
    Json e = Body(r);
    if (!r || r->status != 200 || !e.is_object()) {
      ADD_FAILURE() << "GET /experiments/" << uuid << " failed";
      return e;
    }
    uint64_t n = e["nbEvents"].get<uint64_t>();
    int64_t end = e["end"].get<int64_t>();
    EXPECT_GE(n, last_events);
    if (n > 0) {
      EXPECT_GE(end, last_end);
    }
    last_events = n;
    if (n > 0) last_end = end;
    if (e["indexingStatus"] != "RUNNING") return e;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ADD_FAILURE() << "indexing never finished";
  return nullptr;
}

Json HttpTest::OpenIndexed(const std::string& trace, const std::string& name) {
  Json t = AddTrace(TestData(trace), name);
  if (!t.is_object()) return nullptr;
  Json e = AddExperiment(name, {t["UUID"].get<std::string>()});
  if (!e.is_object()) return nullptr;
  Json done = WaitIndexed(e["UUID"].get<std::string>());
  EXPECT_EQ(done["indexingStatus"], "COMPLETED") << done.dump();
  return done;
}

std::string HttpTest::Table(const std::string& exp, const std::string& what) {
  return Outputs(exp) +
         "/table/org.eclipse.tracecompass.internal.provisional.tmf.core.model."
         "events.TmfEventTableDataProvider/" +
         what;
}

std::string HttpTest::Xy(const std::string& exp, const std::string& what) {
  return Outputs(exp) + "/XY/" + kHistogramId + "/" + what;
}

Json HttpTest::Lines(const std::string& exp, const Json& parameters) {
  auto r = Post(Table(exp, "lines"), Json{{"parameters", parameters}});
  Json j = Body(r);
  EXPECT_EQ(r ? r->status : 0, 200) << (r ? r->body : "");
  if (!j.is_object()) return nullptr;
  EXPECT_EQ(j["status"], "COMPLETED");
  return j["model"];
}

Json HttpTest::XyModel(const std::string& exp, const Json& parameters) {
  auto r = Post(Xy(exp, "xy"), Json{{"parameters", parameters}});
  Json j = Body(r);
  EXPECT_EQ(r ? r->status : 0, 200) << (r ? r->body : "");
  if (!j.is_object()) return nullptr;
  EXPECT_TRUE(j.contains("status") && j.contains("statusMessage"));
  return j["model"];
}

}  // namespace vmtrace::tsp::testing
