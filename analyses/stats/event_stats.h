// EventStats: VM exits and preemptions of any time range, from aggregates
// computed once from the VM model's state history and stored in their own
// LevelDB store (storage/tiered_stats_store.h), beside the VM store.
//
// Semantics. Exits (vm_exits.h) and preemptions (preemptions.h) change no
// state of their own: each is an event that happens at an instant (an
// exit's first HYPERVISOR interval's start; a preemption's switch instant)
// and lasts its duration as defined there (the exit's hypervisor time until
// the next guest entry, the preemption's off interval), clipped to the
// observed window. The statistics of a range [a, b] (ns, inclusive) are the
// count, total and max of the durations of the events that happen in
// [a, b], each counted whole even when it lasts past b. Over the observed
// window [start, end] they are exactly those of ExitsByReason and
// VmPreemptions (the full scans, kept as the oracle and the fallback).
//
// Aggregates. Once the VM history is complete, a background thread walks it
// chunk by chunk (chunk length: a power of two, about 1/32768 of the
// window, at least 1 us), running the scans above restricted to the events
// of the chunk, and stores per chunk and key {count, total, max}, with
// tiers of x16 nodes and each vCPU's exit starts per 1/16 of a chunk,
// published slab by slab (16 chunks); it also stores,
// at each slab start, the process <-> process rule's state of every vCPU
// (the only part of the definitions that depends on what came before).
// After the pass rather than during it: the definitions read rows the VM
// model writes late (deferred wait labels, vm_model.h) and classify CR3s
// with the final attribute tree (nested hypervisors are named late), which
// a partial history does not settle; the walk costs ~2-3 s per 10M events.
// A range is then answered from the stored nodes of the chunks lying inside
// it plus a scan of its two edges (each less than a chunk, replayed from the
// slab start before it): O(tiers) records plus at most two slabs' intervals.
// While the VM history is being written, or the aggregates built, the part
// not covered yet is answered by the scan (so the answers are the same,
// only slower); views say RUNNING while the history is not complete.
//
// Store: <VM store dir>-events, fingerprinted by the VM store's fingerprint
// and the history's bounds and size; wiped and rebuilt when it differs or
// the build was interrupted (meta written complete last, synced).
#ifndef VMTRACE_ANALYSES_STATS_EVENT_STATS_H_
#define VMTRACE_ANALYSES_STATS_EVENT_STATS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "analyses/stats/preemptions.h"
#include "analyses/stats/vm_exits.h"
#include "analyses/stats/vm_walk.h"
#include "base/status.h"
#include "storage/tiered_stats_store.h"

namespace vmtrace::stats {

using storage::Tally;
using storage::TallyMap;

// Keys of the aggregates. Exits per L1 vCPU, exit reason and from_l2;
// preemptions per VM and kind. Reasons are kept exactly in [-1, 2^30 - 2]
// (VMX basic reasons are 16 bits, SVM codes 12); a reason below -1 counts
// as -1 (not recorded) and one above as 2^30 - 2.
uint64_t ExitKey(Quark vcpu, int64_t reason, bool from_l2);
uint64_t PreemptionKey(Quark vm, int kind);
// Exit starts of an L1 vCPU in sub-chunk `sub` (of kSubChunks) of a chunk:
// stored beside the chunk's tallies so an exit-rate sample scans at most
// 1/kSubChunks of a chunk (their sums over several chunks mean nothing).
inline constexpr int kSubChunks = 16;
uint64_t SubChunkKey(Quark vcpu, int sub);
inline Quark KeyQuark(uint64_t key) { return Quark(key >> 32); }
inline bool IsExitKey(uint64_t key) { return !(key & (uint64_t(1) << 31)); }
inline bool IsSubChunkKey(uint64_t key) {
  return (key & (uint64_t(3) << 30)) == (uint64_t(3) << 30);
}
int64_t KeyReason(uint64_t key);  // exit keys
bool KeyFromL2(uint64_t key);     // exit keys
int KeyKind(uint64_t key);        // preemption keys

enum EventKinds { kExits = 1, kPreemptions = 2, kAllEvents = 3 };

// The state of the process <-> process rule for every VM (by quark) at an
// instant.
using SwitchStates = std::map<Quark, std::vector<SwitchState>>;

// Adds to *out the tallies of the events of `vms` happening in [a, b], by
// scanning the history; the preemptions' rule is replayed from `from`
// (<= a) with *switches (see PreemptionsIn).
Status ScanEvents(const StateHistory& h, const std::vector<VmRef>& vms,
                  int64_t from, int64_t a, int64_t b, const Window& w,
                  int kinds, SwitchStates* switches, TallyMap* out);

class EventStats {
 public:
  // Version of what is stored; bumped when the definitions change.
  static constexpr int kVersion = 2;  // 2: sub-chunk exit counts

  // `h` (the VM history) must outlive this object. The store is opened in
  // `dir` once `h` is complete; `fingerprint` identifies the VM store.
  // With build = false nothing is stored and every answer is a scan (the
  // oracle, for tests).
  EventStats(const StateHistory* h, std::string dir, std::string fingerprint,
             bool build = true);
  // Tests: called on the build thread after each slab is readable (with
  // the first chunk not built yet), so a test can query mid-build.
  void set_on_slab(std::function<void(int64_t next_chunk)> f) {
    on_slab_ = std::move(f);
  }
  // Starts the background build (the constructor does unless
  // build = false or a hook is to be set first: then call Start()).
  void Start();
  // The options of the store for the complete history `h` (tests open it
  // to leave an interrupted build behind).
  static storage::TieredStatsOptions StoreOptions(const StateHistory& h,
                                                  const std::string& dir,
                                                  const std::string& fp);
  // Stops the build (an unfinished store is rebuilt next time).
  ~EventStats();
  EventStats(const EventStats&) = delete;
  EventStats& operator=(const EventStats&) = delete;

  const StateHistory& history() const { return *h_; }
  // The tallies of the events of `kinds` happening in [a, b].
  StatusOr<TallyMap> Range(int64_t a, int64_t b, int kinds = kAllEvents) const;
  // Exits of `vcpus` starting in each bucket of `times` (stats/buckets.h),
  // as ExitCounts.
  StatusOr<std::vector<double>> ExitCounts(
      const std::vector<VcpuRef>& vcpus,
      const std::vector<int64_t>& times) const;
  // The same per vCPU (by quark), in one pass over the samples: each
  // bucket is the difference of "exits starting before t" at its ends, read
  // from the stored chunks before t, the stored sub-chunk counts of t's
  // chunk before t, and a scan of the rest of t's sub-chunk.
  StatusOr<std::map<Quark, std::vector<double>>> ExitCountsByVcpu(
      const std::vector<VcpuRef>& vcpus,
      const std::vector<int64_t>& times) const;

  // True once the aggregates are complete (then every range reads them).
  bool built() const;
  // Waits until built() or a failure (tests, benchmarks); false on timeout.
  bool WaitBuilt(int timeout_ms) const;
  // The build's failure, if any (answers are then scans).
  Status build_status() const;
  // Was the store reused from disk rather than built by this object?
  bool reused() const { return reused_.load(); }
  uint64_t StoreSize() const;
  // The store's chunk length (0 before it is opened).
  int64_t chunk_ns() const;
  // Wall time of the build, ms (0 if reused or not done).
  int64_t build_ms() const { return build_ms_.load(); }

 private:
  void Run();
  Status Build(storage::TieredStatsStore* store, const Window& w,
               const std::vector<VmRef>& vms);
  bool Sleep(int ms);
  // The stored process-rule states at the start of slab `slab`.
  StatusOr<bool> LoadSwitches(const storage::TieredStatsStore& s, int64_t slab,
                              SwitchStates* out) const;
  Status Edge(const storage::TieredStatsStore* s, int64_t ready,
              const std::vector<VmRef>& vms, const Window& w, int64_t a,
              int64_t b, int kinds, TallyMap* out) const;

  const StateHistory* h_;
  std::string dir_, fingerprint_;
  std::function<void(int64_t)> on_slab_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool cancel_ = false;
  Status status_;
  std::shared_ptr<storage::TieredStatsStore> store_;  // once opened
  std::atomic<bool> reused_{false};
  std::atomic<int64_t> build_ms_{0};
  std::thread thread_;
};

}  // namespace vmtrace::stats

#endif  // VMTRACE_ANALYSES_STATS_EVENT_STATS_H_
