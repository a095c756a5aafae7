// ViewClock: one clock for every reply of a multi-host experiment.
//
// Each host's trace is in its own clock, and so are the stores the pass
// writes. Once the pass has fitted the clock sync (sync::SyncModule, at its
// end), every output answers in the reference host's clock: requested times
// are taken back to each host's clock before the stores are read, and the
// times of what is drawn are brought to the reference (WithViewClock). The
// stores never change, so a clock sync refitted later rebuilds nothing.
// Before the sync is known, with one host, or when every correction is the
// identity, nothing is converted.
//
// Which host a tree entry's data belongs to is TreeEntry::host, set by the
// providers on their host-level entries and inherited by the entries below.
#ifndef VMTRACE_TSP_OUTPUTS_VIEW_CLOCK_H_
#define VMTRACE_TSP_OUTPUTS_VIEW_CLOCK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "analyses/index/experiment_index.h"
#include "analyses/sync/clock_sync.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

class ViewClock {
 public:
  // Converts nothing.
  ViewClock() = default;
  // `sync` returns the experiment's clock sync, or null while it is not
  // known; `ctf_hosts` is the host of each CTF trace of the experiment and
  // `trace_of_ctf` its experiment trace (as
  // ExperimentIndex::ExperimentTraceOf).
  ViewClock(std::function<const sync::ClockSync*()> sync,
            std::vector<std::string> ctf_hosts,
            std::vector<size_t> trace_of_ctf);
  // The clock of `index`'s sync module (none: converts nothing). `index`
  // must outlive the result.
  static std::shared_ptr<const ViewClock> Of(
      const index::ExperimentIndex& index);

  // Whether there is a clock sync to follow (several hosts), known yet or
  // not.
  bool multi_host() const { return static_cast<bool>(sync_); }
  // The corrections to apply now; null when there are none to apply.
  const sync::ClockSync* Active() const;
  // Host time -> view time and back (identity when not Active()).
  int64_t ToView(const std::string& host, int64_t t) const;
  int64_t FromView(const std::string& host, int64_t t) const;
  // The host of CTF trace `i`, of experiment trace `t` (its first CTF
  // trace's); "" if unknown.
  const std::string& HostOfCtfTrace(size_t i) const;
  std::string HostOfTrace(size_t t) const;
  // The snapshot with its times in the view clock: each trace's span
  // converted, the experiment's the union of theirs and of its span before
  // conversion (it never shrinks when the sync becomes known).
  index::IndexSnapshot InView(index::IndexSnapshot s) const;
  // The experiment's start in the view clock (INT64_MIN when not known).
  // A multi-host store's histories start at the earliest host's first
  // event: a host's first states, which begin there, are cut at this start
  // once converted rather than begin before the experiment.
  int64_t ViewStart() const;

 private:
  std::function<const sync::ClockSync*()> sync_;
  const index::ExperimentIndex* index_ = nullptr;  // for ViewStart()
  std::vector<std::string> ctf_hosts_;
  std::vector<size_t> trace_of_ctf_;
};

// `p` answering in `clock`'s view clock (see the top of this file). The
// wrapper owns `p`; the second form wraps a provider owned elsewhere, which
// must outlive it.
std::unique_ptr<TimeGraphProvider> WithViewClock(
    std::unique_ptr<TimeGraphProvider> p,
    std::shared_ptr<const ViewClock> clock);
std::unique_ptr<TimeGraphProvider> WithViewClock(
    const TimeGraphProvider* p, std::shared_ptr<const ViewClock> clock);
std::unique_ptr<XyProvider> WithViewClock(
    std::unique_ptr<XyProvider> p, std::shared_ptr<const ViewClock> clock);
std::unique_ptr<XyProvider> WithViewClock(
    const XyProvider* p, std::shared_ptr<const ViewClock> clock);
std::unique_ptr<DataTreeProvider> WithViewClock(
    std::unique_ptr<DataTreeProvider> p,
    std::shared_ptr<const ViewClock> clock);
std::unique_ptr<DataTreeProvider> WithViewClock(
    const DataTreeProvider* p, std::shared_ptr<const ViewClock> clock);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_VIEW_CLOCK_H_
