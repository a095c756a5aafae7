#include "tsp/http/query.h"

#include <gtest/gtest.h>

#include "tsp/http/limits.h"

namespace vmtrace::tsp {
namespace {

std::vector<int64_t> Sample(int64_t s, int64_t e, std::optional<int64_t> n) {
  return SampleTimes({s, e, n, {}}).value();
}

TEST(SampleTimesTest, ReferenceVectors) {
  EXPECT_EQ(Sample(0, 1000, 5), (std::vector<int64_t>{0, 250, 500, 750, 1000}));
  EXPECT_EQ(Sample(0, 10, 4), (std::vector<int64_t>{0, 3, 6, 9, 10}));
  EXPECT_EQ(Sample(0, 3, 1000), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(Sample(5, 9, std::nullopt), (std::vector<int64_t>{5, 9}));
  EXPECT_EQ(Sample(5, 9, 1), (std::vector<int64_t>{5, 9}));
  EXPECT_EQ(Sample(0, 6553500, 100000).size(), 65536u);
  EXPECT_EQ(Sample(0, 100000, 65536).size(), 100001u);  // res floors to 1
  EXPECT_EQ(Sample(7, 7, 10), (std::vector<int64_t>{7}));
}

TEST(SampleTimesTest, ExtremesDoNotOverflow) {
  auto v = Sample(INT64_MIN, INT64_MAX, 3);
  // res = (2^64-1)/2 floors, so a third point lands one below the end.
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[2], INT64_MAX - 1);
  EXPECT_EQ(v.front(), INT64_MIN);
  EXPECT_EQ(v.back(), INT64_MAX);
  EXPECT_FALSE(SampleTimes({10, 5, 3, {}}).ok());
}

TEST(QueryTest, Int64IsParsedWithoutADouble) {
  auto p = ParseParameters(
      R"({"parameters":{"requested_timerange":{"start":9223372036854775806,)"
      R"("end":9223372036854775807,"nbTimes":2}}})");
  ASSERT_TRUE(p.ok());
  auto r = GetTimeRange(*p);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->start, 9223372036854775806);
  EXPECT_EQ((*r)->end, 9223372036854775807);
  Json out{{"x", (*r)->start}};
  EXPECT_EQ(out.dump(), R"({"x":9223372036854775806})");
}

TEST(QueryTest, ValidationMessages) {
  EXPECT_EQ(ParseParameters("").status().message(), "Missing query parameters");
  EXPECT_EQ(ParseParameters("{nope").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseParameters("{}").ok());
  EXPECT_TRUE(ParseParameters(R"({"parameters":null})").ok());
  auto p = ParseParameters(R"({"parameters":{"requested_items":5,)"
                           R"("requested_timerange":{"start":1.5,"end":2}}})")
               .value();
  EXPECT_EQ(GetItems(p, "requested_items", true).status().message(),
            "Invalid query parameters: requested_items");
  EXPECT_EQ(
      GetItems(Json::object(), "requested_items", true).status().message(),
      "Missing query parameters: requested_items");
  EXPECT_EQ(GetTimeRange(p).status().message(),
            "Invalid query parameters: requested_timerange");
  auto one =
      ParseParameters(R"({"parameters":{"requested_times":[5]}})").value();
  EXPECT_EQ(GetTimeRange(one).status().message(),
            "Invalid query parameters: requested_times");
  // Beyond int64: refused, not wrapped.
  auto big = ParseParameters(
                 R"({"parameters":{"requested_items":[18446744073709551615]}})")
                 .value();
  EXPECT_FALSE(GetItems(big, "requested_items", true).ok());
}

TEST(QueryTest, NestingDepthIsMeasuredWithoutParsing) {
  EXPECT_FALSE(NestedDeeperThan("{}", 1));
  EXPECT_TRUE(NestedDeeperThan("{}", 0));
  EXPECT_FALSE(NestedDeeperThan(R"({"a":[1,{"b":[]}]})", 4));
  EXPECT_TRUE(NestedDeeperThan(R"({"a":[1,{"b":[]}]})", 3));
  // Siblings do not add up; brackets in strings (even after an escaped
  // quote) are text.
  EXPECT_FALSE(NestedDeeperThan("[[],[],[[]]]", 3));
  EXPECT_FALSE(NestedDeeperThan(R"(["[[[[\"[[[[", "\\"])", 1));
  // Closing brackets first never make room for more opening ones.
  EXPECT_TRUE(NestedDeeperThan("]]]][[[", 2));
}

// The JSON library copies and destroys values recursively: 90,000 levels
// overflowed the stack before the depth was checked.
TEST(QueryTest, DeepBodiesAreRefusedBeforeParsing) {
  const std::string deep = "{\"parameters\":{\"x\":" + std::string(90000, '[') +
                           std::string(90000, ']') + "}}";
  const std::string title =
      "Invalid query parameters: body (arrays and objects nested deeper "
      "than " +
      std::to_string(kMaxJsonDepth) + " levels)";
  EXPECT_EQ(ParseParameters(deep).status().message(), title);
  EXPECT_EQ(ParseBody(deep).status().message(), title);
  auto nest = [](int depth) {
    return "{\"parameters\":{\"x\":" + std::string(depth - 2, '[') +
           std::string(depth - 2, ']') + "}}";
  };
  EXPECT_TRUE(ParseParameters(nest(kMaxJsonDepth)).ok());
  EXPECT_EQ(ParseParameters(nest(kMaxJsonDepth + 1)).status().message(), title);
}

TEST(QueryTest, ItemsAreDeduplicatedInOrderAndCapped) {
  Json p{{"requested_items", {5, 3, 5, 9, 3, 3}}};
  EXPECT_EQ(GetItems(p, "requested_items", true).value(),
            (std::vector<int64_t>{5, 3, 9}));
  std::vector<int64_t> copies(200000, 7);
  EXPECT_EQ(GetItems(Json{{"requested_items", copies}}, "requested_items", true)
                .value(),
            std::vector<int64_t>{7});
  std::vector<int64_t> distinct(kMaxRequestedItems);
  for (size_t i = 0; i < distinct.size(); ++i) distinct[i] = int64_t(i);
  EXPECT_TRUE(GetItems(Json{{"k", distinct}}, "k", true).ok());
  distinct.push_back(-1);
  EXPECT_EQ(GetItems(Json{{"k", distinct}}, "k", true).status().message(),
            "Invalid query parameters: k (at most " +
                std::to_string(kMaxRequestedItems) + " distinct ids)");
}

TEST(QueryTest, RequestedTimesAreTheExactInstants) {
  auto r = GetTimeRange(Json{{"requested_times", {900, 10, 11, 900, 500}}});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->start, 10);
  EXPECT_EQ((*r)->end, 900);
  // Not [10, 232, 455, 677, 900]: the times asked, sorted and distinct.
  EXPECT_EQ(SampleTimes(**r).value(), (std::vector<int64_t>{10, 11, 500, 900}));
  auto same = GetTimeRange(Json{{"requested_times", {4, 4}}});
  EXPECT_EQ(SampleTimes(**same).value(), std::vector<int64_t>{4});
  // requested_timerange keeps the reference sampling even when both are
  // given.
  auto both = GetTimeRange(Json{
      {"requested_timerange", {{"start", 0}, {"end", 1000}, {"nbTimes", 5}}},
      {"requested_times", {1, 2, 3}}});
  EXPECT_EQ(SampleTimes(**both).value(),
            (std::vector<int64_t>{0, 250, 500, 750, 1000}));
  std::vector<int64_t> many(kMaxRequestedTimes + 1);
  for (size_t i = 0; i < many.size(); ++i) many[i] = int64_t(i);
  EXPECT_EQ(GetTimeRange(Json{{"requested_times", many}}).status().message(),
            "Invalid query parameters: requested_times (at most " +
                std::to_string(kMaxRequestedTimes) + " distinct times)");
  many.pop_back();
  many.push_back(0);  // a duplicate does not count
  EXPECT_TRUE(GetTimeRange(Json{{"requested_times", many}}).ok());
}

TEST(QueryTest, RowsTimesSamplesCap) {
  EXPECT_TRUE(CheckRowsTimesSamples(2048, 65536, uint64_t(1) << 27).ok());
  EXPECT_EQ(CheckRowsTimesSamples(2049, 65536, uint64_t(1) << 27).message(),
            "Invalid query parameters: requested_items (2049 items x 65536 "
            "times is more than 134217728; ask fewer items or a smaller "
            "nbTimes)");
  // The documented benchmark: 1,133 Thread Status rows x 65,536 samples.
  EXPECT_TRUE(
      CheckRowsTimesSamples(1133, 65536, kMaxStateRowsTimesSamples).ok());
}

}  // namespace
}  // namespace vmtrace::tsp
