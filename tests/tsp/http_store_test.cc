// Persistence and robustness over HTTP: a restart reuses the finished index,
// an interrupted or corrupt index is rebuilt, a truncated stream ends
// indexing with the anomaly reported while the server keeps serving.
#include <atomic>
#include <thread>

#include "storage/index_store.h"
#include "tests/tsp/http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

// The answers a restart must not change.
struct Answers {
  Json lines_first, lines_middle, lines_last, lines_by_time, xy, tree;
  bool operator==(const Answers&) const = default;
};

class HttpStoreTest : public HttpTest {
 protected:
  Answers Collect(const Json& exp) {
    const std::string uuid = exp["UUID"];
    const uint64_t n = exp["nbEvents"];
    const int64_t start = exp["start"], end = exp["end"];
    Answers a;
    a.lines_first = Lines(
        uuid, {{"requested_table_index", 0}, {"requested_table_count", 100}});
    a.lines_middle = Lines(uuid, {{"requested_table_index", n / 2},
                                  {"requested_table_count", 100}});
    a.lines_last = Lines(uuid, {{"requested_table_index", n - 1},
                                {"requested_table_count", 100}});
    a.lines_by_time =
        Lines(uuid, {{"requested_times", {start + (end - start) / 3}},
                     {"requested_table_count", 10}});
    a.xy = XyModel(uuid, {{"requested_timerange",
                           {{"start", start}, {"end", end}, {"nbTimes", 200}}},
                          {"requested_items", {1, 2}}});
    a.tree = Body(Post(Xy(uuid, "tree"), Json{{"parameters", Json::object()}}));
    return a;
  }
  bool LoadedFromStore(const std::string& uuid) {
    auto e = service()->OpenExperiment(uuid);
    EXPECT_TRUE(e.ok());
    return e.ok() && (*e)->index->loaded_from_store();
  }
  // A copy of simple-kernel whose biggest stream file is cut in the middle
  // of a packet.
  fs::path TruncatedCopy() {
    const fs::path copy = data_dir_ / "traces" / "truncated";
    fs::create_directories(copy.parent_path());
    fs::copy(TestData("tracevizlab-simple-kernel-8cpu"), copy,
             fs::copy_options::recursive);
    // Cut the biggest stream file in the middle of a packet.
    fs::path victim;
    for (const auto& f : fs::directory_iterator(copy)) {
      if (f.is_regular_file() && f.path().filename() != "metadata" &&
          (victim.empty() || f.file_size() > fs::file_size(victim))) {
        victim = f.path();
      }
    }
    if (victim.empty()) return {};
    const auto size = fs::file_size(victim);
    fs::resize_file(victim, size / 2 + 1001);
    return copy;
  }
  std::string IndexDir(const std::string& uuid) {
    return (data_dir_ / "experiments" / uuid / "index").string();
  }
};

TEST_F(HttpStoreTest, RestartKeepsRegistryAndDoesNotReindex) {
  Json exp = OpenIndexed("tracevizlab-simple-kernel-8cpu", "simple-kernel");
  ASSERT_TRUE(exp.is_object());
  const std::string uuid = exp["UUID"];
  Answers before = Collect(exp);
  Json traces_before = Body(Get("/traces"));

  StopServer();
  StartServer();

  EXPECT_EQ(Body(Get("/traces")), traces_before);
  Json list = Body(Get("/experiments"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["UUID"], uuid);
  EXPECT_EQ(list[0]["name"], "simple-kernel");
  EXPECT_EQ(list[0]["indexingStatus"], "CLOSED");  // not opened yet

  // Opening it again answers at once from the stored index.
  Json reopened = Body(Get("/experiments/" + uuid));
  EXPECT_EQ(reopened["indexingStatus"], "COMPLETED");
  EXPECT_EQ(reopened["nbEvents"], exp["nbEvents"]);
  EXPECT_EQ(reopened["start"], exp["start"]);
  EXPECT_EQ(reopened["end"], exp["end"]);
  EXPECT_TRUE(LoadedFromStore(uuid));
  EXPECT_TRUE(Collect(reopened) == before);
}

TEST_F(HttpStoreTest, IncompleteStoredIndexIsRebuilt) {
  Json exp = OpenIndexed("tracevizlab-simple-kernel-8cpu", "simple-kernel");
  ASSERT_TRUE(exp.is_object());
  const std::string uuid = exp["UUID"];
  Answers before = Collect(exp);
  StopServer();

  {  // What a crash between BeginBuild() and Finish() leaves behind.
    auto store = storage::IndexStore::Open(IndexDir(uuid));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto meta = (*store)->ReadMeta();
    ASSERT_TRUE(meta.has_value());
    ASSERT_TRUE(meta->complete);
    meta->complete = false;
    ASSERT_TRUE((*store)->Finish(*meta).ok());
  }

  StartServer();
  Json reopened = Body(Get("/experiments/" + uuid));
  EXPECT_FALSE(LoadedFromStore(uuid));
  Json done = WaitIndexed(uuid);
  EXPECT_EQ(done["indexingStatus"], "COMPLETED");
  EXPECT_EQ(done["nbEvents"], exp["nbEvents"]);
  EXPECT_TRUE(Collect(done) == before);
}

TEST_F(HttpStoreTest, IndexInterruptedByShutdownIsRebuilt) {
  // The biggest test trace, so that indexing is still running when the
  // server goes away right after the POST.
  Json t = AddTrace(TestData("lttng-synctraces-scp"), "scp");
  Json e = AddExperiment("scp", {t["UUID"].get<std::string>()});
  ASSERT_TRUE(e.is_object());
  const std::string uuid = e["UUID"];
  const bool was_running = e["indexingStatus"] == "RUNNING";
  StopServer();

  StartServer();
  Json first = Body(Get("/experiments/" + uuid));
  ASSERT_TRUE(first.is_object());
  if (was_running) {
    EXPECT_FALSE(LoadedFromStore(uuid));
  }
  Json done = WaitIndexed(uuid);
  EXPECT_EQ(done["indexingStatus"], "COMPLETED");
  EXPECT_EQ(done["nbEvents"], 110771 + 85729);  // tests/data README
  Answers rebuilt = Collect(done);

  // The rebuilt index is complete: the next start loads it, same answers.
  StopServer();
  StartServer();
  Json again = Body(Get("/experiments/" + uuid));
  EXPECT_EQ(again["indexingStatus"], "COMPLETED");
  EXPECT_TRUE(LoadedFromStore(uuid));
  EXPECT_EQ(again["nbEvents"], done["nbEvents"]);
  EXPECT_EQ(again["properties"], done["properties"]);  // anomalies persist
  EXPECT_TRUE(Collect(again) == rebuilt);
}

TEST_F(HttpStoreTest, TruncatedStreamEndsIndexingAndIsReported) {
  const fs::path copy = TruncatedCopy();
  ASSERT_FALSE(copy.empty());

  Json t = AddTrace(copy.string(), "truncated");
  ASSERT_TRUE(t.is_object());
  Json e = AddExperiment("truncated", {t["UUID"].get<std::string>()});
  ASSERT_TRUE(e.is_object());
  const std::string uuid = e["UUID"];
  Json done = WaitIndexed(uuid);  // finishes, never hangs
  ASSERT_TRUE(done.is_object());
  EXPECT_NE(done["indexingStatus"], "RUNNING");
  EXPECT_GT(done["nbEvents"].get<uint64_t>(), 0u);
  EXPECT_LT(done["nbEvents"].get<uint64_t>(), 11980u);
  bool reported = false;
  for (const auto& [k, v] : done["properties"].items()) {
    reported |= k.rfind("reader.", 0) == 0 || k.rfind("indexing.", 0) == 0;
  }
  EXPECT_TRUE(reported) << done.dump();

  // The server keeps serving, this experiment included.
  auto h = Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  const uint64_t n = done["nbEvents"];
  Json first = Lines(
      uuid, {{"requested_table_index", 0}, {"requested_table_count", 10}});
  EXPECT_EQ(first["lines"].size(), 10u);
  Json last = Lines(
      uuid, {{"requested_table_index", n - 1}, {"requested_table_count", 10}});
  EXPECT_EQ(last["lines"].size(), 1u);
  EXPECT_EQ(last["size"], n);
  Json xy = XyModel(
      uuid,
      {{"requested_timerange",
        {{"start", done["start"]}, {"end", done["end"]}, {"nbTimes", 20}}},
       {"requested_items", {1}}});
  ASSERT_EQ(xy["series"].size(), 1u);
  double sum = 0;
  for (const auto& y : xy["series"][0]["yValues"]) sum += y.get<double>();
  EXPECT_EQ(sum, double(n));
  // Other experiments still work.
  Json ok = OpenIndexed("perf-kvm-tinyguest-2cpu", "perf");
  EXPECT_EQ(ok["nbEvents"], 3612);
}

// Passes with the pending experiment_index.cc change that restores the
// pass's message when a complete index is loaded; on HEAD the
// `indexing.message` property is lost after a restart.
TEST_F(HttpStoreTest, TruncatedReportSurvivesRestart) {
  const fs::path copy = TruncatedCopy();
  ASSERT_FALSE(copy.empty());
  Json t = AddTrace(copy.string(), "truncated");
  Json e = AddExperiment("truncated", {t["UUID"].get<std::string>()});
  const std::string uuid = e["UUID"];
  Json done = WaitIndexed(uuid);
  const uint64_t n = done["nbEvents"];
  Json last = Lines(
      uuid, {{"requested_table_index", n - 1}, {"requested_table_count", 10}});
  StopServer();
  StartServer();
  Json again = Body(Get("/experiments/" + uuid));
  EXPECT_TRUE(LoadedFromStore(uuid));
  EXPECT_EQ(again["indexingStatus"], done["indexingStatus"]);
  EXPECT_EQ(again["nbEvents"], done["nbEvents"]);
  EXPECT_EQ(again["properties"], done["properties"]);
  EXPECT_EQ(Lines(uuid, {{"requested_table_index", n - 1},
                         {"requested_table_count", 10}}),
            last);
}

TEST_F(HttpStoreTest, DeleteWhileIndexingThenRecreate) {
  Json t = AddTrace(TestData("lttng-synctraces-scp"), "scp");
  const std::string tu = t["UUID"];
  Json e = AddExperiment("scp", {tu});
  const std::string uuid = e["UUID"];
  auto del = Delete("/experiments/" + uuid);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(Body(del)["UUID"], uuid);
  ExpectError(Get("/experiments/" + uuid), 404);
  EXPECT_EQ(Body(Get("/experiments")), Json::array());
  EXPECT_FALSE(fs::exists(data_dir_ / "experiments" / uuid));

  Json again = AddExperiment("scp", {tu});
  EXPECT_EQ(again["UUID"], uuid);
  Json done = WaitIndexed(uuid);
  EXPECT_EQ(done["indexingStatus"], "COMPLETED");
  EXPECT_EQ(done["nbEvents"], 110771 + 85729);
}

TEST_F(HttpStoreTest, ConcurrentRequestsWhileIndexing) {
  Json t = AddTrace(TestData("lttng-synctraces-scp"), "scp");
  Json e = AddExperiment("scp", {t["UUID"].get<std::string>()});
  const std::string uuid = e["UUID"];
  const int port = server_->port();
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(120, 0);
      const std::string api = kApi;
      for (int i = 0; i < 2000 && (!done || i < 3); ++i) {
        auto request = [&]() -> httplib::Result {
          switch ((i + k) % 4) {
            case 0:
              return c.Get(api + "/experiments/" + uuid);
            case 1:
              return c.Post(api + Table(uuid, "lines"),
                            R"({"parameters":{"requested_table_index":0,)"
                            R"("requested_table_count":50}})",
                            "application/json");
            case 2:
              return c.Post(api + Xy(uuid, "tree"), "{}", "application/json");
            default:
              return c.Post(api + Xy(uuid, "xy"),
                            R"({"parameters":{"requested_timerange":)"
                            R"({"start":1361214076525090092,)"
                            R"("end":1361214099530082855,"nbTimes":100},)"
                            R"("requested_items":[1,2]}})",
                            "application/json");
          }
        };
        httplib::Result r = request();
        if (!r || r->status != 200 ||
            Json::parse(r->body, nullptr, false).is_discarded()) {
          ++failures;
        }
      }
    });
  }
  Json finished = WaitIndexed(uuid);
  done = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(finished["nbEvents"], 110771 + 85729);
  // Once indexed, everything is COMPLETED and the table size is final.
  Json tree = Body(Post(Xy(uuid, "tree"), std::string("{}")));
  EXPECT_EQ(tree["status"], "COMPLETED");
  Json page =
      Lines(uuid, {{"requested_table_index", 0}, {"requested_table_count", 1}});
  EXPECT_EQ(page["size"], finished["nbEvents"]);
}

TEST_F(HttpStoreTest, TraceFilesGoneAfterRestart) {
  const fs::path copy = data_dir_ / "traces" / "perf";
  fs::create_directories(copy.parent_path());
  fs::copy(TestData("perf-kvm-tinyguest-2cpu"), copy,
           fs::copy_options::recursive);
  Json t = AddTrace(copy.string(), "perf");
  Json e = AddExperiment("perf", {t["UUID"].get<std::string>()});
  const std::string uuid = e["UUID"];
  WaitIndexed(uuid);
  StopServer();
  fs::remove_all(copy);
  StartServer();

  Json list = Body(Get("/experiments"));
  ASSERT_EQ(list.size(), 1u);
  auto r = Get("/experiments/" + uuid);
  ASSERT_TRUE(r);
  // Still listed and described, with the reason it cannot be opened.
  EXPECT_EQ(r->status, 200) << r->body;
  Json e2 = Body(r);
  EXPECT_EQ(e2["indexingStatus"], "CLOSED");
  ASSERT_EQ(e2["traces"].size(), 1u);
  EXPECT_TRUE(e2["traces"][0]["properties"].contains("indexing.error"))
      << r->body;
  // Its outputs are unavailable: 404 with a TSP body.
  ExpectError(
      Post(Table(uuid, "lines"), Json{{"parameters",
                                       {{"requested_table_index", 0},
                                        {"requested_table_count", 1}}}}),
      404);
  EXPECT_EQ(Get("/health")->status, 200);
  // The trace can still be forgotten once its experiment is.
  EXPECT_EQ(Delete("/experiments/" + uuid)->status, 200);
  EXPECT_EQ(Delete("/traces/" + t["UUID"].get<std::string>())->status, 200);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
