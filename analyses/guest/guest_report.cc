#include "analyses/guest/guest_report.h"

#include <utility>

namespace vmtrace::vm {

void GuestTraceReports::Set(std::vector<GuestTraceReport> reports) {
  std::lock_guard<std::mutex> lock(mu_);
  reports_ = std::move(reports);
  done_ = true;
}

bool GuestTraceReports::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

std::vector<GuestTraceReport> GuestTraceReports::reports() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reports_;
}

}  // namespace vmtrace::vm
