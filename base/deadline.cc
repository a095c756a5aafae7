#include "base/deadline.h"

#include <string>

namespace vmtrace {
namespace {

// Thread-local rather than passed down: the loops that must stop are deep
// below interfaces (StateHistory, EventsTable) shared with the indexing pass
// and the tests, which have no deadline.
thread_local DeadlineClock::time_point t_deadline =
    DeadlineClock::time_point::max();

}  // namespace

ScopedDeadline::ScopedDeadline(DeadlineClock::time_point deadline)
    : previous_(t_deadline) {
  t_deadline = deadline;
}

ScopedDeadline::~ScopedDeadline() { t_deadline = previous_; }

DeadlineClock::time_point CurrentDeadline() { return t_deadline; }

Status CheckDeadline() {
  if (t_deadline == DeadlineClock::time_point::max()) return Status::Ok();
  const auto now = DeadlineClock::now();
  if (now < t_deadline) return Status::Ok();
  const auto late =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - t_deadline);
  return Unavailable(std::string(kDeadlineExceededMessage) + " (" +
                     std::to_string(late.count()) +
                     " ms ago); the work was cancelled, retry later or "
                     "narrow the request");
}

bool IsDeadlineExceeded(const Status& status) {
  return status.code() == StatusCode::kUnavailable &&
         status.message().rfind(kDeadlineExceededMessage, 0) == 0;
}

}  // namespace vmtrace
