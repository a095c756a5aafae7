// RequestBudget: keeps the cheap routes answering while heavy queries load
// the server, stops requests that run past their deadline, and gives the
// memory of large replies back to the system.
//
// cpp-httplib ties a worker thread to each connection, so the server runs
// many workers (idle ones cost a blocked thread) and bounds CPU-bound work
// here instead: at most `max_heavy` heavy requests (the POST queries of
// outputs: trees, states, arrows, tooltips, XY, table lines, ...) run at
// once. Another heavy request waits for a slot, at most `max_queue_wait` or
// until its deadline, then gets Unavailable (503 with Retry-After); at most
// `max_queued` wait at once, beyond that it is refused at once. Cheap
// requests (/health, GET lists, GET of one object) never wait.
//
// Every request runs under a ScopedDeadline (base/deadline.h) of
// `request_timeout` from its arrival: long loops notice it and return
// Unavailable, which the routes answer as 503.
//
// Memory: glibc keeps what a large reply freed in its arenas, so RSS only
// grows under repeated large requests. A background thread calls
// malloc_trim() shortly after heavy work once no heavy request is running
// (and every `trim_period_s` under continuous load).
#ifndef VMTRACE_TSP_HTTP_REQUEST_BUDGET_H_
#define VMTRACE_TSP_HTTP_REQUEST_BUDGET_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "tsp/http/api.h"

namespace vmtrace::tsp {

struct RequestBudgetOptions {
  // Heavy requests running at once; 0: the number of cores.
  int max_heavy = 0;
  // Heavy requests waiting for a slot at once; 0: derived from the workers
  // (HttpServer passes half of them).
  int max_queued = 0;
  // Longest wait for a slot (also bounded by the deadline).
  std::chrono::nanoseconds max_queue_wait = std::chrono::seconds(10);
  // Deadline of every request, from its arrival.
  std::chrono::nanoseconds request_timeout = std::chrono::seconds(30);
  // Heavy replies at least this large mark the heap for trimming (every
  // heavy query allocates and frees a lot before its reply).
  size_t trim_after_bytes = 0;
  // Seconds between trims under continuous load; 0 disables trimming.
  int trim_period_s = 5;
};

class RequestBudget {
 public:
  explicit RequestBudget(RequestBudgetOptions options);
  ~RequestBudget();  // stops the trimming thread
  RequestBudget(const RequestBudget&) = delete;
  RequestBudget& operator=(const RequestBudget&) = delete;

  // True for routes whose cost grows with the trace or the request: every
  // POST under /experiments/{expUUID}/outputs/.
  static bool IsHeavy(const std::string& method,
                      const std::string& path_template);

  // Runs `handler` under the request's deadline (counted from `arrival`)
  // and, for a heavy route, in a slot; a 503 TSP error when no slot frees
  // in time.
  ApiResponse Run(bool heavy, std::chrono::steady_clock::time_point arrival,
                  const std::function<ApiResponse()>& handler);

  int max_heavy() const { return max_heavy_; }
  // Heavy requests running now and waiting for a slot (tests, logs).
  int running() const;
  int queued() const;

 private:
  void TrimLoop();

  RequestBudgetOptions options_;
  int max_heavy_;
  int max_queued_;
  mutable std::mutex mu_;
  std::condition_variable slot_freed_;
  std::condition_variable trim_wakeup_;
  int running_ = 0;
  int queued_ = 0;
  bool dirty_ = false;  // large work since the last trim
  bool stopping_ = false;
  std::thread trimmer_;
};

// Tunes glibc's malloc so freed memory goes back to the system: at most
// `arenas` arenas (by default 8 per core, each keeping its own freed
// memory), and blocks of 1 MiB or more (reply bodies, big vectors) always
// mmap-ed, so freeing them unmaps them at once (glibc otherwise raises that
// threshold up to 32 MiB after the first large free, and large replies then
// fragment the heap). Call at start, before threads are created.
void ConfigureMalloc(int arenas);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_HTTP_REQUEST_BUDGET_H_
