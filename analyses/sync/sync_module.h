// SyncModule: the clock synchronisation of the hosts of a multi-host
// experiment (vm-analyses.md c.5) as an analysis of the single pass.
//
// Hosts are named as the other analyses name them (the trace env
// `hostname`, else the trace directory's name); the reference is the first
// host in trace order. A TCP packet event (tcp_event.h) of a send on one
// host and a receive with the same (seq, ack_seq, flags) on ANOTHER host
// make a message (the decoder reads the packets once,
// events/tcp_events.h); the first such pair of a key in pass order is the
// message, and later events of that key are duplicates (retransmissions,
// the same packet seen again on a bridge). Events wait for their other side
// in a map bounded to `max_pending_keys` keys, the oldest dropped first
// (counted as unmatched), so memory does not grow with the trace.
//
// Finish() fits every host pair (clock_fit.h) with the experiment's middle
// as origin, then links every host to the reference through the pairs,
// accurate fits first, most messages first: a host with no message to the
// reference takes its correction through the host it exchanged with. A
// host linked by no chain stays uncorrected ("absent"). The result is saved
// to <dir>/sync.json (versioned, with the trace fingerprint) and reloaded
// by Open() when current, so a reopen does not read the trace for it. A
// pure-offset correction is rounded to whole nanoseconds, so ToReference and
// FromReference are exact inverses for it.
//
// Known limit: a host that shows the same packet as both a receive and a
// send (a KVM bridge: netif_receive_skb on the tap then net_dev_queue on the
// NIC) may pair the wrong events when its clock is behind the other host's
// by more than the network latency; the generated traces show each packet
// once per host.
#ifndef VMTRACE_ANALYSES_SYNC_SYNC_MODULE_H_
#define VMTRACE_ANALYSES_SYNC_SYNC_MODULE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analyses/index/analysis_module.h"
#include "analyses/sync/clock_fit.h"
#include "analyses/sync/clock_sync.h"
#include "analyses/sync/tcp_event.h"

namespace vmtrace::sync {

struct SyncOptions {
  size_t max_pending_keys = size_t{1} << 18;  // ~20 MB at most
  FitOptions fit;
};

// What the pass counted (also saved and reloaded).
struct SyncCounts {
  uint64_t matched = 0;      // messages (send + receive on two hosts)
  uint64_t unmatched = 0;    // packet events whose other side never came
  uint64_t duplicates = 0;   // more events of an already matched key
  uint64_t undecodable = 0;  // packet events without a TCP header
};

class SyncModule : public index::AnalysisModule {
 public:
  static constexpr char kId[] = "sync";
  // Bumped when what the file holds or how it is computed changes.
  static constexpr int kVersion = 1;
  static constexpr char kMethod[] = "convex hull (fully incremental)";

  // Host names of `traces`, deduplicated, in trace order. The module is
  // meant for experiments with two or more.
  static std::vector<std::string> HostNames(
      const std::vector<std::shared_ptr<const ctf::Trace>>& traces);

  // Loads <dir>/sync.json when it was saved for these traces and this
  // version; otherwise the pass computes it and Finish() saves it there.
  // An empty `dir` keeps the result in memory only.
  static std::unique_ptr<SyncModule> Open(
      const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
      const std::string& dir, const std::string& fingerprint,
      SyncOptions options = {});

  std::string id() const override { return kId; }
  bool needs_pass() const override { return !complete_.load(); }
  void OnEvent(const events::TypedEvent& ev) override;
  void Publish(int64_t) override {}
  Status Finish(int64_t end_time) override;
  // "reference", "method", "matched_packets", ..., "<host>.offset_ns",
  // "<host>.slope", "<host>.accuracy_ns", "<host>.quality", "<host>.pairs"
  // (the index prefixes them with "sync.").
  std::vector<std::pair<std::string, std::string>> Stats() const override;

  // Valid once complete() (the pass thread no longer writes); null before.
  bool complete() const { return complete_.load(); }
  const ClockSync* clock_sync() const {
    return complete_.load() ? &clocks_ : nullptr;
  }
  const SyncCounts& counts() const { return counts_; }

 private:
  struct Pending {
    int64_t ts;
    uint16_t host;
    TcpSide side;
  };
  struct KeyState {
    bool matched = false;
    uint8_t n = 0;
    Pending p[3];
  };
  // Per-host details beyond HostClock, for Stats().
  struct HostInfo {
    std::string via;  // the host it is linked through, if not the reference
    std::string fit;  // FitKindName of its own pair fit
    double offset_at_middle = 0;
  };

  SyncModule(const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
             SyncOptions options);
  using Fits = std::map<std::pair<uint16_t, uint16_t>, ClockFit>;
  // How each host is linked to the reference (host 0) through the fits.
  struct Links {
    std::vector<bool> linked, accurate;
    std::vector<LinearMap> to_ref;  // host time -> reference time
    std::vector<double> accuracy;
    std::vector<uint64_t> messages;
    std::vector<int> via;              // the host it is linked through
    std::vector<const ClockFit*> own;  // its own pair fit
  };
  void Message(uint16_t from, int64_t sent, uint16_t to, int64_t received);
  Links LinkHosts(const Fits& fits) const;
  // Sets clocks_ and info_ from the links.
  void SetClocks(const Fits& fits, const Links& links);
  Status Save() const;
  Status Load();

  SyncOptions options_;
  std::vector<std::string> hosts_;
  std::vector<uint16_t> host_of_trace_;
  std::unordered_map<TcpKey, KeyState, TcpKeyHash> keys_;
  std::vector<TcpKey> ring_;  // keys_ in insertion order, oldest at head_
  size_t head_ = 0;
  // Hulls per host pair (lo, hi): hi's clock fitted to lo's.
  std::map<std::pair<uint16_t, uint16_t>, ConstraintHulls> pairs_;
  int64_t first_ts_ = 0;
  bool seen_ = false;

  SyncCounts counts_;
  ClockSync clocks_;
  std::vector<HostInfo> info_;  // parallel to clocks_.hosts()
  int64_t middle_ = 0;
  std::atomic<bool> complete_{false};
  std::string path_, fingerprint_;
};

}  // namespace vmtrace::sync

#endif  // VMTRACE_ANALYSES_SYNC_SYNC_MODULE_H_
