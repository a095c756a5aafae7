// Test harness for the HTTP-level TSP tests: the real server (TraceService +
// HttpServer) started in-process on an ephemeral loopback port with a
// temporary data dir, and an httplib::Client talking to it.
#ifndef VMTRACE_TESTS_TSP_HTTP_FIXTURE_H_
#define VMTRACE_TESTS_TSP_HTTP_FIXTURE_H_

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tsp/http/http_server.h"
#include "tsp/service/trace_service.h"

namespace vmtrace::tsp::testing {

using Json = nlohmann::json;
namespace fs = std::filesystem;

inline constexpr char kHistogramId[] =
    "org.eclipse.tracecompass.internal.tmf.core.histogram."
    "HistogramDataProvider";
inline constexpr char kApi[] = "/tsp/api";
// The events table's output id (the reference server's).
inline constexpr char kTableId[] =
    "org.eclipse.tracecompass.internal.provisional.tmf.core.model.events."
    "TmfEventTableDataProvider";
// The small real LTTng kernel trace most HTTP tests open (tests/data).
inline constexpr char kTrace[] = "tracevizlab-simple-kernel-8cpu";

std::string TestData(const std::string& name);  // VMTRACE_TEST_DATA/name
std::string ReadFile(const std::string& path);

// Checks the wire rules for numbers anywhere in `j` (tsp.md section 0, items
// 3 and 4): time fields (start, end, time, duration, xValues[]) are JSON
// integers; ids, indexes, counts and tags (id, parentId, entryId, seriesId,
// index, lowIndex, size, columnIds[], tags, nbEvents) are integers within
// +-(2^53 - 1); yValues[] are numbers.
void ExpectWireNumbers(const Json& j, const std::string& where = "");

// A server and its service on `data_dir`, serving on a thread. `options`
// and `http` are used as given but for the data dir, port (any free one) and
// thread count.
class TspServer {
 public:
  explicit TspServer(const std::string& data_dir, ServiceOptions options = {},
                     HttpOptions http = TestOptions());
  // Port 0 (any free one), 4 workers, the default request budget.
  static HttpOptions TestOptions();
  ~TspServer();  // stops the server, then destroys the service
  int port() const { return port_; }
  TraceService* service() { return service_.get(); }

 private:
  std::unique_ptr<TraceService> service_;
  std::unique_ptr<HttpServer> http_;
  std::thread thread_;
  int port_ = 0;
};

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  void StartServer();
  void StopServer();
  TraceService* service() { return server_->service(); }

  // Requests on /tsp/api + path. Headers are sent as given; the client
  // does not decompress.
  httplib::Result Get(const std::string& path,
                      const httplib::Headers& headers = {});
  httplib::Result Post(const std::string& path, const std::string& body,
                       const httplib::Headers& headers = {});
  httplib::Result Post(const std::string& path, const Json& body) {
    return Post(path, body.dump());
  }
  httplib::Result Put(const std::string& path, const Json& body);
  httplib::Result Delete(const std::string& path);
  httplib::Result Options(const std::string& path);

  // Parses a response body; fails the test (and returns null) if invalid.
  static Json Body(const httplib::Result& r);
  // Asserts a TSP error: the status, Content-Type, {"title","detail"}.
  static Json ExpectError(const httplib::Result& r, int status);

  // POST /traces; asserts 200 and returns the Trace.
  Json AddTrace(const std::string& path, const std::string& name);
  // POST /experiments; asserts 200 and returns the Experiment.
  Json AddExperiment(const std::string& name,
                     const std::vector<std::string>& trace_uuids);
  // Polls GET /experiments/{uuid} until indexing is no longer RUNNING,
  // checking that nbEvents and end never decrease; returns the last answer.
  Json WaitIndexed(const std::string& uuid);
  // POSTs `body` to `path` until the reply's status is no longer RUNNING
  // (outputs computed in the background after the pass); returns it.
  Json PostUntilDone(const std::string& path, const Json& body);
  // Trace + experiment named `name` over TestData(trace), indexed.
  Json OpenIndexed(const std::string& trace, const std::string& name);

  // Data endpoint paths of an experiment.
  static std::string Outputs(const std::string& exp) {
    return "/experiments/" + exp + "/outputs";
  }
  static std::string Table(const std::string& exp, const std::string& what);
  static std::string Xy(const std::string& exp, const std::string& what);
  // POST .../table/.../lines; asserts 200 COMPLETED and returns the model.
  Json Lines(const std::string& exp, const Json& parameters);
  // POST .../XY/.../xy; asserts 200 and returns the model.
  Json XyModel(const std::string& exp, const Json& parameters);

  fs::path data_dir_;
  // What StartServer() passes to the server (set before it runs).
  ServiceOptions service_options_;
  HttpOptions http_options_ = TspServer::TestOptions();
  std::unique_ptr<TspServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace vmtrace::tsp::testing

#endif  // VMTRACE_TESTS_TSP_HTTP_FIXTURE_H_
