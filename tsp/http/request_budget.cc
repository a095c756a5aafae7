#include "tsp/http/request_budget.h"

#include <malloc.h>

#include <algorithm>

#include "base/deadline.h"
#include "base/log.h"

namespace vmtrace::tsp {
namespace {

using Clock = std::chrono::steady_clock;

ApiResponse Busy(const std::string& detail) {
  return ErrorResponse(503, "Server busy", detail);
}

}  // namespace

RequestBudget::RequestBudget(RequestBudgetOptions options)
    : options_(std::move(options)) {
  max_heavy_ = options_.max_heavy > 0
                   ? options_.max_heavy
                   : std::max(1, int(std::thread::hardware_concurrency()));
  max_queued_ = options_.max_queued > 0 ? options_.max_queued : 64;
  if (options_.trim_period_s > 0) {
    trimmer_ = std::thread([this] { TrimLoop(); });
  }
}

RequestBudget::~RequestBudget() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  trim_wakeup_.notify_all();
  if (trimmer_.joinable()) trimmer_.join();
}

bool RequestBudget::IsHeavy(const std::string& method,
                            const std::string& path_template) {
  static const std::string kOutputs = "/experiments/{expUUID}/outputs/";
  return method == "POST" && path_template.rfind(kOutputs, 0) == 0;
}

int RequestBudget::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

int RequestBudget::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_;
}

ApiResponse RequestBudget::Run(bool heavy, Clock::time_point arrival,
                               const std::function<ApiResponse()>& handler) {
  const Clock::time_point deadline = arrival + options_.request_timeout;
  if (heavy) {
    std::unique_lock<std::mutex> lock(mu_);
    if (running_ >= max_heavy_) {
      if (queued_ >= max_queued_) {
        return Busy(std::to_string(running_) + " heavy queries running and " +
                    std::to_string(queued_) + " waiting; retry later");
      }
      ++queued_;
      const Clock::time_point until =
          std::min(deadline, Clock::now() + options_.max_queue_wait);
      const bool got = slot_freed_.wait_until(
          lock, until, [this] { return running_ < max_heavy_; });
      --queued_;
      if (!got) {
        return Busy("no slot for a heavy query freed in time (" +
                    std::to_string(max_heavy_) + " running); retry later");
      }
    }
    ++running_;
  }
  ApiResponse out;
  {
    ScopedDeadline scope(deadline);
    out = handler();
  }
  if (heavy) {
    bool wake_trimmer = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
      // The reply's body is freed after it is sent, so the trim itself is
      // left to the trimming thread.
      if (out.body.size() >= options_.trim_after_bytes) dirty_ = true;
      wake_trimmer = dirty_ && running_ == 0;
    }
    slot_freed_.notify_one();
    if (wake_trimmer) trim_wakeup_.notify_one();
  }
  return out;
}

void RequestBudget::TrimLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  Clock::time_point dirty_since{};
  while (!stopping_) {
    trim_wakeup_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_ || !dirty_) continue;
    const Clock::time_point now = Clock::now();
    if (dirty_since == Clock::time_point{}) dirty_since = now;
    // Idle: wait a moment so the last replies are sent and freed. Under
    // continuous load: trim every trim_period_s anyway.
    const bool idle = running_ == 0;
    if (!(idle ||
          now - dirty_since >= std::chrono::seconds(options_.trim_period_s))) {
      continue;
    }
    if (idle) {
      trim_wakeup_.wait_for(lock, std::chrono::milliseconds(200));
      if (stopping_) break;
    }
    dirty_ = false;
    dirty_since = {};
    lock.unlock();
    const auto t0 = Clock::now();
    const int released = malloc_trim(0);
    VMTRACE_LOG(
        kDebug, "malloc_trim: %s memory, %.1f ms", released ? "released" : "no",
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    lock.lock();
  }
}

void ConfigureMalloc(int arenas) {
  mallopt(M_ARENA_MAX, arenas);
  // Setting it also turns off glibc's dynamic raising of the threshold.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

}  // namespace vmtrace::tsp
