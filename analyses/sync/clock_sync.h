// ClockSync: per-host linear clock corrections of an experiment's hosts to
// its reference host (vm-analyses.md c.5), as fitted from matched TCP
// packets by the sync analysis.
//
// t_ref = slope * t_host + offset_ns. A default-constructed ClockSync, an
// unknown host and a host without a fit ("absent") all map times unchanged,
// so callers can always convert without checking first.
#ifndef VMTRACE_ANALYSES_SYNC_CLOCK_SYNC_H_
#define VMTRACE_ANALYSES_SYNC_CLOCK_SYNC_H_

#include <cstdint>
#include <string>
#include <vector>

namespace vmtrace::sync {

struct HostClock {
  std::string host;
  double slope = 1.0;  // t_ref = slope * t + offset_ns
  double offset_ns = 0.0;
  double accuracy_ns = 0;  // half-width of the feasible offset, 0 if unknown
  std::string quality;     // "reference", "accurate", "approximate", "absent"
  uint64_t pairs = 0;      // matched messages with the reference side
};

class ClockSync {
 public:
  ClockSync() = default;  // identity for every host
  explicit ClockSync(std::vector<HostClock> hosts);
  // Host time -> reference time and back, rounded to the nearest ns.
  // Unknown hosts and hosts without a fit: identity.
  int64_t ToReference(const std::string& host, int64_t t) const;
  int64_t FromReference(const std::string& host, int64_t t) const;
  const std::vector<HostClock>& hosts() const { return hosts_; }
  // True when every correction is the identity.
  bool identity() const;

 private:
  const HostClock* Find(const std::string& host) const;
  std::vector<HostClock> hosts_;
};

}  // namespace vmtrace::sync

#endif  // VMTRACE_ANALYSES_SYNC_CLOCK_SYNC_H_
