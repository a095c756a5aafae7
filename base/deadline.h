// Cooperative deadlines: how a request's work is stopped when it runs too
// long.
//
// The HTTP layer installs a deadline on the thread serving a request
// (ScopedDeadline); long loops below it (table scans, state-history
// queries, statistics) call DeadlineCheck::Tick() once per iteration and
// return its Status when it is not OK. The error is Unavailable with a
// message starting with kDeadlineExceededMessage, so the HTTP layer answers
// 503 and the work really stops (the CPU is freed, nothing is left running).
// Threads with no deadline installed (the indexing pass, tests) never stop.
//
// Code that computes a result shared by later requests (a cache filled once)
// runs under ScopedDeadline::Unbounded() so one impatient client cannot
// leave an error in the cache.
#ifndef VMTRACE_BASE_DEADLINE_H_
#define VMTRACE_BASE_DEADLINE_H_

#include <chrono>
#include <cstdint>

#include "base/status.h"

namespace vmtrace {

using DeadlineClock = std::chrono::steady_clock;

// Prefix of the message of the Unavailable status returned once the
// deadline has passed.
inline constexpr char kDeadlineExceededMessage[] = "request deadline exceeded";

// Sets the current thread's deadline for the lifetime of the object and
// restores the previous one (nesting allowed).
class ScopedDeadline {
 public:
  explicit ScopedDeadline(DeadlineClock::time_point deadline);
  ~ScopedDeadline();
  ScopedDeadline(const ScopedDeadline&) = delete;
  ScopedDeadline& operator=(const ScopedDeadline&) = delete;

  // No deadline for the scope, whatever the enclosing one.
  static DeadlineClock::time_point Unbounded() {
    return DeadlineClock::time_point::max();
  }

 private:
  DeadlineClock::time_point previous_;
};

// The current thread's deadline (Unbounded() when none is set).
DeadlineClock::time_point CurrentDeadline();

// OK while the current thread's deadline has not passed; else
// Unavailable(kDeadlineExceededMessage ...). Reads the clock.
Status CheckDeadline();

// True for the status CheckDeadline() returns once the deadline passed.
bool IsDeadlineExceeded(const Status& status);

// For long loops: Tick() reads the clock on its first call and then once
// every `every` calls, so a check costs a counter increment. The first call
// checks so that even a short loop notices an expired deadline.
class DeadlineCheck {
 public:
  explicit DeadlineCheck(uint32_t every = 1024) : every_(every) {}
  Status Tick() {
    if (count_++ % every_ != 0) return Status::Ok();
    return CheckDeadline();
  }

 private:
  uint32_t every_;
  uint32_t count_ = 0;
};

}  // namespace vmtrace

#endif  // VMTRACE_BASE_DEADLINE_H_
