// Traces and experiments over HTTP: registration, idempotence, conflicts,
// validation, indexing progress, deletion.
#include <fstream>
#include <regex>

#include "tests/tsp/http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

// Java UUID.nameUUIDFromBytes("simple-kernel".getBytes()), computed
// independently with python3:
//   uuid.UUID(bytes=hashlib.md5(b"simple-kernel").digest(), version=3)
constexpr char kSimpleKernelUuid[] = "5648f6f1-c610-37b0-a8ac-1d695cfaed5b";

bool IsCanonicalUuid(const std::string& s) {
  static const std::regex kRe(
      "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  return std::regex_match(s, kRe);
}

void ExpectTraceShape(const Json& t) {
  ASSERT_TRUE(t.is_object()) << t.dump();
  EXPECT_TRUE(t["name"].is_string());
  EXPECT_TRUE(t["path"].is_string());
  EXPECT_TRUE(t["UUID"].is_string() && IsCanonicalUuid(t["UUID"])) << t.dump();
  EXPECT_TRUE(t["nbEvents"].is_number_integer());
  EXPECT_TRUE(t["start"].is_number_integer());
  EXPECT_TRUE(t["end"].is_number_integer());
  EXPECT_TRUE(t["properties"].is_object());
  for (const auto& [k, v] : t["properties"].items()) {
    EXPECT_TRUE(v.is_string()) << k;
  }
  EXPECT_TRUE(t["indexingStatus"].is_string());
}

using HttpTracesTest = HttpTest;

TEST_F(HttpTracesTest, PostGetListDelete) {
  const std::string path = TestData("tracevizlab-simple-kernel-8cpu");
  auto r =
      Post("/traces", Json{{"parameters", {{"uri", path}, {"name", "t"}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  Json t = Body(r);
  ExpectTraceShape(t);
  EXPECT_EQ(t["name"], "t");
  EXPECT_EQ(t["indexingStatus"], "CLOSED");
  EXPECT_EQ(t["nbEvents"], 0);
  const std::string uuid = t["UUID"];
  EXPECT_EQ(fs::path(t["path"].get<std::string>()), fs::canonical(path));

  // Idempotent re-post.
  Json again = AddTrace(path, "t");
  EXPECT_EQ(again["UUID"], uuid);
  EXPECT_EQ(again, t);
  // The same directory spelled differently is the same trace.
  Json slash = AddTrace(path + "/", "t");
  EXPECT_EQ(slash["UUID"], uuid);

  // Name defaults to the last path segment.
  Json unnamed = Body(Post("/traces", Json{{"parameters", {{"uri", path}}}}));
  EXPECT_EQ(unnamed["name"], "tracevizlab-simple-kernel-8cpu");
  EXPECT_NE(unnamed["UUID"], uuid);

  auto one = Get("/traces/" + uuid);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  EXPECT_EQ(Body(one), t);

  Json list = Body(Get("/traces"));
  ASSERT_TRUE(list.is_array());
  EXPECT_EQ(list.size(), 2u);
  bool found = false;
  for (const auto& x : list) {
    ExpectTraceShape(x);
    found |= x["UUID"] == uuid;
  }
  EXPECT_TRUE(found);

  // The viewers append these; they are accepted (and ignored).
  auto del = Delete("/traces/" + uuid + "?deleteTrace=true&removeCache=true");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(Body(del)["UUID"], uuid);
  Json gone = ExpectError(Get("/traces/" + uuid), 404);
  EXPECT_NE(gone["title"].get<std::string>().find(uuid), std::string::npos);
  ExpectError(Delete("/traces/" + uuid), 404);
  EXPECT_EQ(Body(Get("/traces")).size(), 1u);
}

TEST_F(HttpTracesTest, SameNameOtherPathIs409ThenRetryWithSuffix) {
  Json t = AddTrace(TestData("tracevizlab-simple-kernel-8cpu"), "t");
  auto r = Post(
      "/traces",
      Json{{"parameters",
            {{"uri", TestData("perf-kvm-tinyguest-2cpu")}, {"name", "t"}}}});
  Json e = ExpectError(r, 409);
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["title"], "The trace (t) already exists and both differ");
  ASSERT_TRUE(e.contains("trace"));
  EXPECT_EQ(e["trace"]["UUID"], t["UUID"]);
  EXPECT_EQ(e["trace"]["path"], t["path"]);

  Json retry = AddTrace(TestData("perf-kvm-tinyguest-2cpu"), "t(1)");
  ExpectTraceShape(retry);
  EXPECT_EQ(retry["name"], "t(1)");
  EXPECT_NE(retry["UUID"], t["UUID"]);
}

TEST_F(HttpTracesTest, MissingPathIs404) {
  const std::string missing = (data_dir_ / "no-such-trace").string();
  Json e = ExpectError(
      Post("/traces", Json{{"parameters", {{"uri", missing}, {"name", "t"}}}}),
      404);
  EXPECT_EQ(e["title"], "No trace at " + missing);
}

TEST_F(HttpTracesTest, DirectoryThatIsNotATraceIs501) {
  fs::path dir = data_dir_ / "not-a-trace";
  fs::create_directories(dir);
  std::ofstream(dir / "notes.txt") << "hello\n";
  Json e = ExpectError(
      Post("/traces",
           Json{{"parameters", {{"uri", dir.string()}, {"name", "t"}}}}),
      501);
  EXPECT_EQ(e["title"], "Trace type not supported");
  EXPECT_TRUE(e["detail"].is_string());  // the reason
  // A plain file is not a trace either.
  ExpectError(
      Post("/traces",
           Json{{"parameters",
                 {{"uri", (dir / "notes.txt").string()}, {"name", "t2"}}}}),
      501);
}

TEST_F(HttpTracesTest, BadTraceParametersAre400) {
  Json e =
      ExpectError(Post("/traces", Json{{"parameters", {{"name", "t"}}}}), 400);
  EXPECT_EQ(e["title"], "Missing query parameters: uri");
  e = ExpectError(Post("/traces", Json::object()), 400);
  EXPECT_EQ(e["title"], "Missing query parameters: uri");
  e = ExpectError(Post("/traces", Json{{"parameters", {{"uri", 5}}}}), 400);
  EXPECT_EQ(e["title"], "Invalid query parameters: uri");
  e = ExpectError(
      Post("/traces",
           Json{{"parameters",
                 {{"uri", TestData("perf-kvm-tinyguest-2cpu")}, {"name", 7}}}}),
      400);
  EXPECT_EQ(e["title"], "Invalid query parameters: name");
  EXPECT_EQ(Body(Get("/traces")), Json::array());
}

TEST_F(HttpTracesTest, ExperimentLifecycle) {
  Json t = AddTrace(TestData("tracevizlab-simple-kernel-8cpu"), "sk");
  const std::string tu = t["UUID"];
  Json e = AddExperiment("simple-kernel", {tu});
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["UUID"], kSimpleKernelUuid);
  EXPECT_EQ(e["name"], "simple-kernel");
  ASSERT_EQ(e["traces"].size(), 1u);
  EXPECT_EQ(e["traces"][0]["UUID"], tu);
  EXPECT_TRUE(e["indexingStatus"] == "RUNNING" ||
              e["indexingStatus"] == "COMPLETED");
  EXPECT_TRUE(e["properties"].is_object());

  // Idempotent re-post (possibly still indexing).
  Json again = AddExperiment("simple-kernel", {tu});
  EXPECT_EQ(again["UUID"], kSimpleKernelUuid);

  Json done = WaitIndexed(kSimpleKernelUuid);
  EXPECT_EQ(done["indexingStatus"], "COMPLETED");
  EXPECT_EQ(done["nbEvents"], 11980);  // tests/data README (babeltrace2)
  EXPECT_LE(done["start"].get<int64_t>(), done["end"].get<int64_t>());
  EXPECT_GT(done["start"].get<int64_t>(), 0);
  ASSERT_EQ(done["traces"].size(), 1u);
  ExpectTraceShape(done["traces"][0]);
  EXPECT_EQ(done["traces"][0]["nbEvents"], 11980);
  EXPECT_EQ(done["traces"][0]["indexingStatus"], "COMPLETED");

  Json repost = AddExperiment("simple-kernel", {tu});
  EXPECT_EQ(repost, done);

  // Listed.
  Json list = Body(Get("/experiments"));
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], done);

  // A trace in use cannot be deleted.
  Json busy = ExpectError(Delete("/traces/" + tu), 409);
  EXPECT_EQ(busy["title"],
            "The trace is in use by at least one experiment thus cannot be "
            "deleted.");

  auto del = Delete(std::string("/experiments/") + kSimpleKernelUuid);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  Json deleted = Body(del);
  EXPECT_EQ(deleted["UUID"], kSimpleKernelUuid);
  EXPECT_EQ(deleted["nbEvents"], 11980);
  ExpectError(Get(std::string("/experiments/") + kSimpleKernelUuid), 404);
  ExpectError(Delete(std::string("/experiments/") + kSimpleKernelUuid), 404);
  ExpectError(Get(Outputs(kSimpleKernelUuid)), 404);
  EXPECT_EQ(Body(Get("/experiments")), Json::array());
  // The trace stays, and is now free.
  EXPECT_EQ(Get("/traces/" + tu)->status, 200);
  EXPECT_EQ(Delete("/traces/" + tu)->status, 200);
}

TEST_F(HttpTracesTest, ExperimentConflictsAndValidation) {
  Json a = AddTrace(TestData("tracevizlab-simple-kernel-8cpu"), "a");
  Json b = AddTrace(TestData("perf-kvm-tinyguest-2cpu"), "b");
  Json e = AddExperiment("e", {a["UUID"].get<std::string>()});
  // Java UUID.nameUUIDFromBytes("e".getBytes()) (python3 hashlib, as above).
  EXPECT_EQ(e["UUID"], "e1671797-c52e-35f7-a338-0b45e841ec32");

  Json c = ExpectError(
      Post("/experiments",
           Json{{"parameters", {{"name", "e"}, {"traces", {b["UUID"]}}}}}),
      409);
  ASSERT_TRUE(c.contains("experiment"));
  EXPECT_EQ(c["experiment"]["UUID"], e["UUID"]);
  ASSERT_EQ(c["experiment"]["traces"].size(), 1u);
  EXPECT_EQ(c["experiment"]["traces"][0]["UUID"], a["UUID"]);

  Json nf = ExpectError(
      Post("/experiments",
           Json{{"parameters",
                 {{"name", "f"},
                  {"traces", {"00000000-0000-3000-8000-000000000000"}}}}}),
      404);
  EXPECT_EQ(nf["title"],
            "No trace found with UUID 00000000-0000-3000-8000-000000000000");

  EXPECT_EQ(ExpectError(Post("/experiments",
                             Json{{"parameters", {{"traces", {a["UUID"]}}}}}),
                        400)["title"],
            "Missing query parameters: name");
  EXPECT_EQ(
      ExpectError(Post("/experiments", Json{{"parameters", {{"name", "g"}}}}),
                  400)["title"],
      "Missing query parameters: traces");
  EXPECT_EQ(
      ExpectError(
          Post("/experiments",
               Json{{"parameters", {{"name", 3}, {"traces", {a["UUID"]}}}}}),
          400)["title"],
      "Invalid query parameters: name");
  EXPECT_EQ(
      ExpectError(
          Post("/experiments",
               Json{{"parameters", {{"name", "g"}, {"traces", a["UUID"]}}}}),
          400)["title"],
      "Invalid query parameters: traces");
  EXPECT_EQ(
      ExpectError(Post("/experiments",
                       Json{{"parameters", {{"name", "g"}, {"traces", {1}}}}}),
                  400)["title"],
      "Invalid query parameters: traces");
  // Nothing was created by the failed posts.
  EXPECT_EQ(Body(Get("/experiments")).size(), 1u);
  WaitIndexed(e["UUID"]);
}

TEST_F(HttpTracesTest, SessionFolderOfTwoTracesIsOneExperimentTrace) {
  Json t = AddTrace(TestData("lttng-synctraces-scp"), "scp");
  EXPECT_EQ(t["properties"]["ctf.traces"], "2");
  Json e = AddExperiment("scp", {t["UUID"].get<std::string>()});
  // Java UUID.nameUUIDFromBytes("scp".getBytes()) (python3 hashlib).
  EXPECT_EQ(e["UUID"], "8a444a43-bdf5-34c0-8633-8bb7809659b3");
  Json done = WaitIndexed(e["UUID"]);
  EXPECT_EQ(done["indexingStatus"], "COMPLETED") << done.dump();
  EXPECT_EQ(done["nbEvents"], 110771 + 85729);  // tests/data README
  ASSERT_EQ(done["traces"].size(), 1u);
  EXPECT_EQ(done["traces"][0]["nbEvents"], 110771 + 85729);
  // The overlapping packets babeltrace2's muxer rejects are reported.
  bool anomaly = false;
  for (const auto& [k, v] : done["properties"].items()) {
    anomaly |= k.rfind("reader.", 0) == 0;
  }
  EXPECT_TRUE(anomaly) << done["properties"].dump();
}

TEST_F(HttpTracesTest, PerfConvertedTrace) {
  Json done = OpenIndexed("perf-kvm-tinyguest-2cpu", "perf");
  EXPECT_EQ(done["nbEvents"], 3612);  // tests/data README
}

}  // namespace
}  // namespace vmtrace::tsp::testing
