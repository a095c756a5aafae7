// BoundedQueue: a blocking FIFO of at most `capacity` items between threads
// of the indexing pass (module_feed.h). Push blocks while full, Pop
// while empty; Close() ends it: Push then fails at once, Pop drains what is
// left, then fails. Abort() also drops what is left, so a consumer stops
// at its next Pop. Nothing blocks for ever once either end closed it.
#ifndef VMTRACE_ANALYSES_INDEX_BOUNDED_QUEUE_H_
#define VMTRACE_ANALYSES_INDEX_BOUNDED_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

namespace vmtrace::index {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // False (item dropped) if the queue was closed.
  bool Push(T item) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [this] { return closed_ || q_.size() < capacity_; });
    if (closed_) return false;
    q_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }
  // False once the queue is closed and empty (or aborted).
  bool Pop(T* item) {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [this] { return closed_ || !q_.empty(); });
    if (q_.empty()) return false;
    *item = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  void Abort() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    q_.clear();
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> q_;
  bool closed_ = false;
};

}  // namespace vmtrace::index

#endif  // VMTRACE_ANALYSES_INDEX_BOUNDED_QUEUE_H_
