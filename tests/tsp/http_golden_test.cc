// Golden request/response cases over HTTP (tests/tsp/golden/*.json).
#include <filesystem>
#include <fstream>

#include "tests/tsp/http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

// Golden request/response cases in tests/tsp/golden/*.json:
//   {"trace": <tests/data dir>, "experiment": <name>, "method": "POST",
//    "path": "/experiments/{expUUID}/...", "body": {...},
//    "status": 200, "response": {...}}
// Set VMTRACE_UPDATE_GOLDEN=1 to rewrite the "response" of every case.
using HttpGoldenTest = HttpTest;

TEST_F(HttpGoldenTest, Cases) {
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(VMTRACE_GOLDEN_DIR)) {
    if (f.path().extension() == ".json") files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  const bool update = getenv("VMTRACE_UPDATE_GOLDEN") != nullptr;
  std::map<std::string, std::string> opened;  // experiment name -> uuid
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    Json g = Json::parse(ReadFile(file.string()));
    const std::string name = g["experiment"];
    if (!opened.count(name)) {
      Json e = OpenIndexed(g["trace"], name);
      ASSERT_TRUE(e.is_object());
      opened[name] = e["UUID"];
    }
    std::string path = g["path"];
    if (auto p = path.find("{expUUID}"); p != std::string::npos) {
      path.replace(p, 9, opened[name]);
    }
    httplib::Result r =
        g["method"] == "GET" ? Get(path) : Post(path, g["body"].dump());
    ASSERT_TRUE(r);
    Json got = Body(r);
    if (update) {
      g["status"] = r->status;
      g["response"] = got;
      std::ofstream(file) << g.dump(1) << "\n";
      continue;
    }
    EXPECT_EQ(r->status, g["status"].get<int>());
    EXPECT_EQ(got, g["response"]) << "got " << got.dump().substr(0, 2000);
  }
}

}  // namespace
}  // namespace vmtrace::tsp::testing
