// Every route the server registers is documented in openapi/tsp.yaml, and
// every documented operation is routed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "tsp/http/api.h"
#include "tsp/openapi_yaml.h"
#include "tsp/routes/routes.h"
#include "tsp/service/trace_service.h"

namespace vmtrace::tsp {
namespace {

namespace fs = std::filesystem;
using Operation = std::pair<std::string, std::string>;  // method, path

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A line-based reader for the `paths:` section: path keys sit at a 2-space
// indent, their operations (get/post/put/delete/...) at 4 spaces.
std::set<Operation> DocumentedOperations(const std::string& yaml) {
  static const std::set<std::string> kMethods = {
      "get", "post", "put", "delete", "patch", "head", "options"};
  std::set<Operation> ops;
  std::istringstream in(yaml);
  std::string line, path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.find_first_not_of(' ') == std::string::npos) {
      continue;
    }
    size_t indent = line.find_first_not_of(' ');
    if (line[indent] == '#') continue;
    if (indent == 0) {
      in_paths = line == "paths:";
      continue;
    }
    if (!in_paths || line.back() != ':') continue;
    std::string key = line.substr(indent, line.size() - indent - 1);
    if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'')) {
      key = key.substr(1, key.size() - 2);
    }
    if (indent == 2) {
      path = key;
    } else if (indent == 4 && kMethods.count(key) && !path.empty()) {
      std::string method = key;
      for (char& c : method) c = char(toupper(c));
      ops.emplace(method, path);
    }
  }
  return ops;
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vmtrace_openapi_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ServiceOptions options;
    options.data_dir = dir_.string();
    auto service = TraceService::Open(options);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(service).value();
    for (const Route& r : BuildRoutes(service_.get(), ServerInfo{})) {
      routes_.emplace(r.method, r.path_template);
    }
    yaml_ = ReadFile(VMTRACE_OPENAPI_PATH);
    documented_ = DocumentedOperations(yaml_);
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  fs::path dir_;
  std::unique_ptr<TraceService> service_;
  std::set<Operation> routes_;
  std::string yaml_;
  std::set<Operation> documented_;
};

TEST_F(OpenApiTest, ReaderFindsOperations) {
  EXPECT_GT(routes_.size(), 20u);
  EXPECT_EQ(documented_.count({"GET", "/health"}), 1u);
  EXPECT_EQ(documented_.count({"POST", "/traces"}), 1u);
}

TEST_F(OpenApiTest, EveryRouteIsDocumented) {
  for (const auto& [method, path] : routes_) {
    EXPECT_EQ(documented_.count({method, path}), 1u)
        << method << " " << path << " is routed but not in openapi/tsp.yaml";
  }
}

TEST_F(OpenApiTest, EveryDocumentedOperationIsRouted) {
  for (const auto& [method, path] : documented_) {
    EXPECT_EQ(routes_.count({method, path}), 1u)
        << method << " " << path << " is documented but not routed";
  }
}

TEST_F(OpenApiTest, DocumentIsWhatTheServerEmbeds) {
  EXPECT_EQ(std::string(kOpenApiYaml), yaml_);
  EXPECT_EQ(yaml_.find(")vmtrace_openapi\""), std::string::npos);
  EXPECT_EQ(yaml_.rfind("openapi: 3.0.1", 0), 0u);
  EXPECT_NE(yaml_.find("Where we differ from TSP 0.6.0"), std::string::npos);
}

}  // namespace
}  // namespace vmtrace::tsp
