#include "tsp/query.h"

#include <gtest/gtest.h>

namespace vmtrace::tsp {
namespace {

std::vector<int64_t> Sample(int64_t s, int64_t e, std::optional<int64_t> n) {
  return SampleTimes({s, e, n}).value();
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
  EXPECT_FALSE(SampleTimes({10, 5, 3}).ok());
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

}  // namespace
}  // namespace vmtrace::tsp
