// Global configurations (/config/types/...): the VM interrupt vectors type
// (the VM names type: tests/tsp/vm_names).
#include "http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

constexpr char kType[] = "/config/types/vmtrace.vm.vectors";

using HttpConfigTest = HttpTest;

TEST_F(HttpConfigTest, TypeIsListedWithASchema) {
  Json types = Body(Get("/config/types"));
  ASSERT_TRUE(types.is_array());
  // The vectors, then the VM names (tests/tsp/vm_names).
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[1]["id"], "vmtrace.vm.names");
  EXPECT_EQ(types[0]["id"], "vmtrace.vm.vectors");
  EXPECT_TRUE(types[0]["name"].is_string());
  EXPECT_TRUE(types[0]["description"].is_string());
  ASSERT_TRUE(types[0]["schema"].is_object());
  EXPECT_EQ(types[0]["schema"]["type"], "object");
  EXPECT_TRUE(types[0]["schema"]["properties"].contains("timer"));
  EXPECT_EQ(Body(Get(kType)), types[0]);
  ExpectError(Get("/config/types/nope"), 404);
  ExpectError(Get("/config/types/nope/configs"), 404);
}

TEST_F(HttpConfigTest, CreateListGetDelete) {
  Json body{{"name", "windows-guests"},
            {"description", "Windows timer vector"},
            {"parameters",
             {{"host", "demo-host"},
              {"pid", 2000},
              {"timer", {209}},
              {"task", {225, 226}}}}};
  Json created = Body(Post(std::string(kType) + "/configs", body));
  ASSERT_TRUE(created["id"].is_string());
  EXPECT_EQ(created["name"], "windows-guests");
  EXPECT_EQ(created["sourceTypeId"], "vmtrace.vm.vectors");
  EXPECT_EQ(created["parameters"]["timer"], Json::array({209}));
  const std::string id = created["id"];

  // Same name again: a conflict, never a silent overwrite.
  ExpectError(Post(std::string(kType) + "/configs", body), 409);

  Json list = Body(Get(std::string(kType) + "/configs"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], created);
  EXPECT_EQ(Body(Get(std::string(kType) + "/configs/" + id)), created);

  // The path tsp-typescript-client's createConfiguration() uses.
  Json other{{"name", "second"}, {"parameters", {{"net", {40}}}}};
  Json second = Body(Post(kType, other));
  EXPECT_EQ(second["name"], "second");
  EXPECT_EQ(Body(Get(std::string(kType) + "/configs")).size(), 2u);

  // PUT replaces the parameters and keeps the id.
  Json updated = Body(Put(
      std::string(kType) + "/configs/" + id,
      Json{{"name", "windows-guests"}, {"parameters", {{"timer", {210}}}}}));
  EXPECT_EQ(updated["id"], id);
  EXPECT_EQ(updated["parameters"]["timer"], Json::array({210}));
  ExpectError(Put(std::string(kType) + "/configs/" + id,
                  Json{{"name", "w"}, {"parameters", {{"timer", "x"}}}}),
              400);
  ExpectError(Put(std::string(kType) + "/configs/unknown",
                  Json{{"name", "w"}, {"parameters", Json::object()}}),
              404);

  Json deleted = Body(Delete(std::string(kType) + "/configs/" + id));
  EXPECT_EQ(deleted["id"], id);
  ExpectError(Get(std::string(kType) + "/configs/" + id), 404);
  ExpectError(Delete(std::string(kType) + "/configs/" + id), 404);
}

TEST_F(HttpConfigTest, BadParametersNameTheParameter) {
  auto bad = [this](const Json& params) {
    Json e = ExpectError(Post(std::string(kType) + "/configs",
                              Json{{"name", "x"}, {"parameters", params}}),
                         400);
    return e["title"].get<std::string>();
  };
  EXPECT_EQ(bad({{"timer", {300}}}), "Invalid query parameters: timer");
  EXPECT_EQ(bad({{"pid", "2000"}}), "Invalid query parameters: pid");
  EXPECT_EQ(bad({{"colour", "red"}}), "Invalid query parameters: colour");
  EXPECT_EQ(bad({{"disk", 34}}), "Invalid query parameters: disk");
  Json e = ExpectError(Post(std::string(kType) + "/configs",
                            Json{{"parameters", Json::object()}}),
                       400);
  EXPECT_EQ(e["title"], "Missing query parameters: name");
  ExpectError(Post(std::string(kType) + "/configs", std::string("{oops")), 400);
  EXPECT_TRUE(Body(Get(std::string(kType) + "/configs")).empty());
}

TEST_F(HttpConfigTest, ConfigurationsSurviveARestart) {
  Json created =
      Body(Post(std::string(kType) + "/configs",
                Json{{"name", "kept"}, {"parameters", {{"timer", {236}}}}}));
  StopServer();
  StartServer();
  Json list = Body(Get(std::string(kType) + "/configs"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], created);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
