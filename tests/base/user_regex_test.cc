#include "base/user_regex.h"

#include <gtest/gtest.h>

#include <string>

namespace vmtrace {
namespace {

TEST(UserRegexTest, PartialMatchLikeRegexSearch) {
  auto re = UserRegex::Compile("sched_s\\w+");
  ASSERT_TRUE(re.ok());
  EXPECT_TRUE(re->PartialMatch("sched_switch"));
  EXPECT_TRUE(re->PartialMatch("x sched_switch y"));
  EXPECT_FALSE(re->PartialMatch("sched_"));
  auto anchored = UserRegex::Compile("^sched_switch$");
  ASSERT_TRUE(anchored.ok());
  EXPECT_FALSE(anchored->PartialMatch("sched_switch2"));
  EXPECT_EQ(anchored->pattern(), "^sched_switch$");
}

TEST(UserRegexTest, CaseInsensitiveOnRequest) {
  EXPECT_FALSE(UserRegex::Compile("wait")->PartialMatch("WAIT for CPU"));
  EXPECT_TRUE(UserRegex::Compile("wait", true)->PartialMatch("WAIT for CPU"));
}

TEST(UserRegexTest, InvalidAndTooLongPatternsAreRefused) {
  auto bad = UserRegex::Compile("([unclosed");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("invalid pattern"), std::string::npos)
      << bad.status().message();
  // Back-references need backtracking: refused, not run.
  EXPECT_FALSE(UserRegex::Compile("(a)\\1").ok());
  EXPECT_TRUE(UserRegex::Compile(std::string(UserRegex::kMaxLength, 'a')).ok());
  auto long_one =
      UserRegex::Compile(std::string(UserRegex::kMaxLength + 1, 'a'));
  EXPECT_EQ(long_one.status().message(), "pattern longer than 1000 characters");
}

// std::regex backtracks on these: exponential time on a 30-character
// text, and a stack overflow on deep nesting. RE2 answers at once.
TEST(UserRegexTest, CatastrophicPatternsMatchInLinearTime) {
  const std::string digits(5000, '1');
  auto re = UserRegex::Compile("^(\\d+)+z$");
  ASSERT_TRUE(re.ok());
  EXPECT_FALSE(re->PartialMatch(digits));
  EXPECT_TRUE(re->PartialMatch(digits + "z"));
  auto any = UserRegex::Compile("^(.+)+z$", true);
  ASSERT_TRUE(any.ok());
  EXPECT_FALSE(any->PartialMatch(std::string(5000, 'x')));
  // The deepest nesting the length cap allows.
  const int depth = (UserRegex::kMaxLength - 1) / 2;
  auto nested = UserRegex::Compile(std::string(depth, '(') + "a" +
                                   std::string(depth, ')'));
  ASSERT_TRUE(nested.ok()) << nested.status().message();
  EXPECT_TRUE(nested->PartialMatch("xax"));
  // 50,000 nested groups: refused by length before RE2 sees it.
  EXPECT_FALSE(UserRegex::Compile(std::string(50000, '(') + "a" +
                                  std::string(50000, ')'))
                   .ok());
}

TEST(UserRegexTest, CopiesShareTheProgram) {
  auto re = UserRegex::Compile("b");
  ASSERT_TRUE(re.ok());
  UserRegex copy = *re;
  EXPECT_TRUE(copy.PartialMatch("abc"));
}

}  // namespace
}  // namespace vmtrace
