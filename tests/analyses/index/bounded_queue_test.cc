// BoundedQueue (analyses/index/bounded_queue.h): FIFO order, a full queue
// blocks its producer until a consumer pops, Close() lets the consumer
// drain what is left, Abort() drops it, and nobody blocks after either.
#include "analyses/index/bounded_queue.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace vmtrace::index {
namespace {

TEST(BoundedQueueTest, ConsumerGetsEverythingInOrderThroughASmallQueue) {
  BoundedQueue<int> q(2);
  std::vector<int> got;
  std::thread consumer([&] {
    int v;
    while (q.Pop(&v)) got.push_back(v);
  });
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(q.Push(i));
  q.Close();
  consumer.join();
  ASSERT_EQ(got.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(got[i], i);
}

TEST(BoundedQueueTest, CloseDrainsAbortDrops) {
  BoundedQueue<int> q(4);
  ASSERT_TRUE(q.Push(1));
  ASSERT_TRUE(q.Push(2));
  q.Close();
  EXPECT_FALSE(q.Push(3));
  int v = 0;
  EXPECT_TRUE(q.Pop(&v));
  EXPECT_EQ(v, 1);
  BoundedQueue<int> a(4);
  ASSERT_TRUE(a.Push(1));
  a.Abort();
  EXPECT_FALSE(a.Pop(&v));
}

TEST(BoundedQueueTest, AbortWakesABlockedProducer) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.Push(1));
  bool pushed = true;
  std::thread producer([&] { pushed = q.Push(2); });  // blocks: full
  q.Abort();
  producer.join();
  EXPECT_FALSE(pushed);
}

}  // namespace
}  // namespace vmtrace::index
