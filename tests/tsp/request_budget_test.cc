// RequestBudget: which routes are heavy, the slots and their bounded wait,
// and the deadline installed around handlers. No timings: a handler that
// holds a slot blocks on a promise until the test releases it.
#include "tsp/http/request_budget.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "base/deadline.h"

namespace vmtrace::tsp {
namespace {

using std::chrono::hours;
using std::chrono::nanoseconds;
using Clock = std::chrono::steady_clock;

ApiResponse Ok() { return JsonResponse({{"ok", true}}); }

TEST(RequestBudgetTest, OutputQueriesAreHeavyListsAndHealthAreNot) {
  const std::string out = "/experiments/{expUUID}/outputs/";
  for (const char* p :
       {"timeGraph/{outputId}/states", "timeGraph/{outputId}/tree",
        "timeGraph/{outputId}/arrows", "XY/{outputId}/xy",
        "table/{outputId}/lines", "data/{outputId}/tree"}) {
    EXPECT_TRUE(RequestBudget::IsHeavy("POST", out + p)) << p;
  }
  EXPECT_FALSE(RequestBudget::IsHeavy("GET", "/health"));
  EXPECT_FALSE(RequestBudget::IsHeavy("GET", "/experiments"));
  EXPECT_FALSE(RequestBudget::IsHeavy("GET", "/experiments/{expUUID}"));
  EXPECT_FALSE(RequestBudget::IsHeavy("GET", "/experiments/{expUUID}/outputs"));
  EXPECT_FALSE(RequestBudget::IsHeavy("GET", out + "{outputId}"));
  EXPECT_FALSE(RequestBudget::IsHeavy("POST", "/traces"));
}

// A heavy request that holds its slot until Release().
class Holder {
 public:
  Holder(RequestBudget* budget) {
    thread_ = std::thread([this, budget] {
      result_ = budget->Run(true, Clock::now(), [this] {
        entered_.set_value();
        release_.get_future().wait();
        return Ok();
      });
    });
    entered_.get_future().wait();
  }
  int Release() {
    release_.set_value();
    thread_.join();
    return result_.status;
  }

 private:
  std::promise<void> entered_, release_;
  std::thread thread_;
  ApiResponse result_;
};

TEST(RequestBudgetTest, FullSlotsRefuseHeavyButNeverCheap) {
  RequestBudgetOptions o;
  o.max_heavy = 1;
  o.max_queue_wait = nanoseconds(0);
  RequestBudget budget(o);
  Holder holder(&budget);
  EXPECT_EQ(budget.running(), 1);
  ApiResponse busy = budget.Run(true, Clock::now(), Ok);
  EXPECT_EQ(busy.status, 503);
  EXPECT_NE(busy.body.find("\"title\""), std::string::npos) << busy.body;
  EXPECT_EQ(budget.Run(false, Clock::now(), Ok).status, 200);
  EXPECT_EQ(holder.Release(), 200);
  EXPECT_EQ(budget.Run(true, Clock::now(), Ok).status, 200);
  EXPECT_EQ(budget.running(), 0);
}

TEST(RequestBudgetTest, WaitsForASlotThenRuns) {
  RequestBudgetOptions o;
  o.max_heavy = 1;
  o.max_queue_wait = hours(1);
  RequestBudget budget(o);
  Holder holder(&budget);
  std::thread waiter(
      [&budget] { EXPECT_EQ(budget.Run(true, Clock::now(), Ok).status, 200); });
  while (budget.queued() == 0) std::this_thread::yield();
  EXPECT_EQ(holder.Release(), 200);
  waiter.join();
}

TEST(RequestBudgetTest, QueueIsBounded) {
  RequestBudgetOptions o;
  o.max_heavy = 1;
  o.max_queued = 1;
  o.max_queue_wait = hours(1);
  RequestBudget budget(o);
  Holder holder(&budget);
  std::thread waiter(
      [&budget] { EXPECT_EQ(budget.Run(true, Clock::now(), Ok).status, 200); });
  while (budget.queued() == 0) std::this_thread::yield();
  EXPECT_EQ(budget.Run(true, Clock::now(), Ok).status, 503);  // 2nd waiter
  EXPECT_EQ(holder.Release(), 200);
  waiter.join();
}

TEST(RequestBudgetTest, WaitForASlotEndsAtTheDeadline) {
  RequestBudgetOptions o;
  o.max_heavy = 1;
  o.max_queue_wait = hours(1);
  o.request_timeout = nanoseconds(1);
  RequestBudget budget(o);
  Holder holder(&budget);
  EXPECT_EQ(budget.Run(true, Clock::now(), Ok).status, 503);
  EXPECT_EQ(holder.Release(), 200);
}

TEST(RequestBudgetTest, HandlersRunUnderTheRequestDeadline) {
  RequestBudgetOptions o;
  o.request_timeout = hours(1);
  RequestBudget budget(o);
  const auto arrival = Clock::now();
  budget.Run(false, arrival, [arrival] {
    EXPECT_EQ(CurrentDeadline(), arrival + hours(1));
    return Ok();
  });
  EXPECT_EQ(CurrentDeadline(), ScopedDeadline::Unbounded());
  o.request_timeout = nanoseconds(1);
  RequestBudget strict(o);
  ApiResponse r = strict.Run(true, Clock::now(), [] {
    Status s = CheckDeadline();
    return s.ok() ? Ok() : FromStatus(s);
  });
  EXPECT_EQ(r.status, 503);
}

}  // namespace
}  // namespace vmtrace::tsp
