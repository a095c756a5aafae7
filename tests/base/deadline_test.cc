#include "base/deadline.h"

#include <gtest/gtest.h>

namespace vmtrace {
namespace {

TEST(DeadlineTest, NoDeadlineNeverStops) {
  EXPECT_EQ(CurrentDeadline(), ScopedDeadline::Unbounded());
  EXPECT_TRUE(CheckDeadline().ok());
  DeadlineCheck check(1);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(check.Tick().ok());
}

TEST(DeadlineTest, PassedDeadlineIsUnavailable) {
  ScopedDeadline scope(DeadlineClock::now() - std::chrono::seconds(1));
  Status s = CheckDeadline();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(IsDeadlineExceeded(s)) << s.ToString();
  EXPECT_FALSE(IsDeadlineExceeded(Unavailable("indexing")));
}

TEST(DeadlineTest, FutureDeadlineIsOk) {
  ScopedDeadline scope(DeadlineClock::now() + std::chrono::hours(1));
  EXPECT_TRUE(CheckDeadline().ok());
}

TEST(DeadlineTest, ScopesNestAndRestore) {
  const auto past = DeadlineClock::now() - std::chrono::seconds(1);
  {
    ScopedDeadline outer(past);
    {
      ScopedDeadline inner(ScopedDeadline::Unbounded());
      EXPECT_TRUE(CheckDeadline().ok());
    }
    EXPECT_EQ(CurrentDeadline(), past);
    EXPECT_FALSE(CheckDeadline().ok());
  }
  EXPECT_TRUE(CheckDeadline().ok());
}

TEST(DeadlineTest, CheckReadsTheClockOnFirstTickThenEveryN) {
  ScopedDeadline scope(DeadlineClock::now() - std::chrono::seconds(1));
  DeadlineCheck check(3);
  EXPECT_FALSE(check.Tick().ok());  // first call checks
  EXPECT_TRUE(check.Tick().ok());
  EXPECT_TRUE(check.Tick().ok());
  EXPECT_FALSE(check.Tick().ok());  // 4th call: 3 later
}

}  // namespace
}  // namespace vmtrace
