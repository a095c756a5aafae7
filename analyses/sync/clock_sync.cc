// Linear clock conversions. Times are int64 ns since the epoch (~1.7e18):
// a double holds them only to ~256 ns, so the arithmetic is done in long
// double (64-bit mantissa on x86-64: exact to the ns at these magnitudes).
#include "analyses/sync/clock_sync.h"

#include <cmath>

namespace vmtrace::sync {

ClockSync::ClockSync(std::vector<HostClock> hosts) : hosts_(std::move(hosts)) {}

const HostClock* ClockSync::Find(const std::string& host) const {
  for (const HostClock& h : hosts_) {
    if (h.host == host) return &h;
  }
  return nullptr;
}

bool ClockSync::identity() const {
  for (const HostClock& h : hosts_) {
    if (h.slope != 1.0 || h.offset_ns != 0.0) return false;
  }
  return true;
}

int64_t ClockSync::ToReference(const std::string& host, int64_t t) const {
  const HostClock* h = Find(host);
  if (h == nullptr || (h->slope == 1.0 && h->offset_ns == 0.0)) return t;
  const long double v = static_cast<long double>(h->slope) * t + h->offset_ns;
  return static_cast<int64_t>(std::llround(v));
}

int64_t ClockSync::FromReference(const std::string& host, int64_t t) const {
  const HostClock* h = Find(host);
  if (h == nullptr || (h->slope == 1.0 && h->offset_ns == 0.0) ||
      h->slope == 0.0) {
    return t;
  }
  const long double v = (static_cast<long double>(t) - h->offset_ns) / h->slope;
  return static_cast<int64_t>(std::llround(v));
}

}  // namespace vmtrace::sync
