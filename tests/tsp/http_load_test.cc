// Deadlines over HTTP: a server whose request timeout is already past when a
// heavy query starts answers 503 with the TSP error body and Retry-After,
// the work stops at its first check, cheap routes still answer, and the same
// server data with a normal timeout gives the same 200 answers as before.
#include <string>
#include <vector>

#include "tests/tsp/http_fixture.h"
#include "tsp/outputs/kernel/kernel_providers.h"

namespace vmtrace::tsp::testing {
namespace {

class HttpDeadlineTest : public HttpTest {
 protected:
  struct Query {
    std::string path;
    Json body;
  };
  // One query per kind of long loop: table page (event decoding), table
  // search (scan), histogram (counts from checkpoints), time-graph states
  // (sampled state history), XY of CPU usage (range state queries).
  std::vector<Query> HeavyQueries(const std::string& exp,
                                  const Json& thread_ids, const Json& cpu_ids,
                                  int64_t start, int64_t end) {
    const std::string out = Outputs(exp);
    Json range = {{"start", start}, {"end", end}, {"nbTimes", 200}};
    return {
        {out + "/table/" + kTableId + "/lines",
         {{"parameters",
           {{"requested_table_index", 0}, {"requested_table_count", 500}}}}},
        {out + "/table/" + kTableId + "/lines",
         {{"parameters",
           {{"requested_table_index", 0},
            {"requested_table_count", 10},
            {"table_search_expressions", {{"2", "no such event"}}},
            {"table_search_direction", "NEXT"}}}}},
        {out + "/XY/" + kHistogramId + "/xy",
         {{"parameters",
           {{"requested_timerange", range}, {"requested_items", {1}}}}}},
        {out + "/timeGraph/" + kThreadStatusId + "/states",
         {{"parameters",
           {{"requested_timerange", range}, {"requested_items", thread_ids}}}}},
        {out + "/XY/" + kCpuUsageId + "/xy",
         {{"parameters",
           {{"requested_timerange", range}, {"requested_items", cpu_ids}}}}},
    };
  }
};

TEST_F(HttpDeadlineTest, PastDeadlineIs503AndTheServerStaysUp) {
  Json exp = OpenIndexed(kTrace, "simple-kernel");
  const std::string uuid = exp["UUID"];
  Json tree =
      Body(Post(Outputs(uuid) + "/timeGraph/" + kThreadStatusId + "/tree",
                Json{{"parameters", Json::object()}}));
  Json ids = Json::array();
  for (const Json& e : tree["model"]["entries"]) ids.push_back(e["id"]);
  ASSERT_GT(ids.size(), 10u);
  Json cpu_tree = Body(Post(Outputs(uuid) + "/XY/" + kCpuUsageId + "/tree",
                            Json{{"parameters", Json::object()}}));
  Json cpu_ids = Json::array();
  for (const Json& e : cpu_tree["model"]["entries"]) cpu_ids.push_back(e["id"]);
  ASSERT_GT(cpu_ids.size(), 1u);
  auto queries = HeavyQueries(uuid, ids, cpu_ids, exp["start"], exp["end"]);
  std::vector<std::string> before;
  for (const Query& q : queries) {
    auto r = Post(q.path, q.body);
    ASSERT_TRUE(r) << q.path;
    ASSERT_EQ(r->status, 200) << q.path << " " << r->body;
    before.push_back(r->body);
  }

  // Every request of this server is past its deadline when it starts.
  StopServer();
  http_options_.budget.request_timeout = std::chrono::nanoseconds(1);
  StartServer();
  WaitIndexed(uuid);
  for (const Query& q : queries) {
    auto r = Post(q.path, q.body);
    Json err = ExpectError(r, 503);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->get_header_value("Retry-After"), "1") << q.path;
    EXPECT_NE(err.dump().find("deadline"), std::string::npos)
        << q.path << " " << err.dump();
    // Cheap routes do not check the deadline: the server still answers.
    auto h = Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
    auto e = Get("/experiments/" + uuid);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->status, 200);
  }

  // A normal deadline on the same data: the answers of the first server.
  StopServer();
  http_options_ = TspServer::TestOptions();
  StartServer();
  WaitIndexed(uuid);
  for (size_t i = 0; i < queries.size(); ++i) {
    auto r = Post(queries[i].path, queries[i].body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << queries[i].path;
    EXPECT_EQ(r->body, before[i]) << queries[i].path;
  }
}

}  // namespace
}  // namespace vmtrace::tsp::testing
