// ExperimentIndex: the background indexing pass of one experiment and the
// rank/time lookups it makes cheap.
//
// Open() either loads a complete index left by an earlier run (same trace
// files, same format) or starts a pass on a background thread that reads
// every event once, writes a checkpoint every `checkpoint_interval` events
// to the IndexStore, and publishes progress (nb_events and end grow while
// state is kRunning). Queries work during the pass on the events indexed so
// far. Thread-safety: every const method may be called from any thread;
// each call uses its own reader.
#ifndef VMTRACE_ANALYSES_INDEX_EXPERIMENT_INDEX_H_
#define VMTRACE_ANALYSES_INDEX_EXPERIMENT_INDEX_H_

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

#include "analyses/ctf/reader.h"
#include "analyses/index/analysis_module.h"
#include "analyses/index/module_feed.h"
#include "base/status.h"
#include "storage/index_store.h"

namespace vmtrace::index {

struct IndexOptions {
  // Events between checkpoints. A page or time lookup decodes at most this
  // many events after restoring a checkpoint; smaller intervals cost store
  // space (a checkpoint is ~10-20 bytes per stream) and indexing time.
  uint64_t checkpoint_interval = 512;
  // Checkpoints per LevelDB write batch.
  size_t batch_size = 64;
  // Makes the analyses fed by the same pass (may be empty).
  ModuleFactory modules;
  // Which CTF traces the modules are opened with and fed (true: fed);
  // null: all of them. The others (guest traces) are indexed for the events
  // table and the histogram only, and the modules see the fed traces as if
  // they were the whole experiment (TypedEvent::trace_index indexes them).
  std::function<std::vector<bool>(
      const std::vector<std::shared_ptr<const ctf::Trace>>&)>
      module_traces;
  // Events between two AnalysisModule::Publish calls.
  uint64_t publish_interval = 1 << 16;
  // How the decoded events reach the modules (module_feed.h): by default
  // pipelined, each module on its own consumer thread while the pass
  // thread reads, indexes and decodes; `feed.pipelined = false` runs the
  // whole pass on one thread. Results are the same either way.
  FeedOptions feed;
};

enum class IndexState { kRunning, kCompleted, kFailed, kCancelled };

struct IndexSnapshot {
  IndexState state = IndexState::kRunning;
  uint64_t nb_events = 0;
  int64_t start = 0;
  int64_t end = 0;
  // One per experiment trace (a trace may be a folder of several CTF traces).
  std::vector<storage::TraceSummary> traces;
  // Anomalies and the reason of a failure ("reader.truncated_packets" ...).
  std::map<std::string, std::string> properties;
  std::string message;  // empty when all went well
  // True while the pass still feeds analyses (also after the index itself
  // was loaded complete from the store, when only an analysis is rebuilt).
  bool analyses_running = false;
};

class ExperimentIndex {
 public:
  // `traces[i]` lists the CTF trace directories of experiment trace i.
  // Errors: NotFound/Unimplemented/DataLoss from opening the CTF traces,
  // IoError from the store. A failure during the pass is not an error here:
  // it shows up as kFailed (or as anomalies) in Snapshot().
  static StatusOr<std::unique_ptr<ExperimentIndex>> Open(
      std::vector<std::vector<std::string>> traces, std::string store_dir,
      IndexOptions options);
  // Cancels a running pass and waits for it.
  ~ExperimentIndex();

  IndexSnapshot Snapshot() const;
  // Stops the pass; the store stays incomplete (rebuilt on next open).
  void Cancel();
  // Blocks until the pass (index and analyses) is no longer running.
  void WaitUntilDone() const;
  // True if Open() found a complete index and complete analyses, and so
  // did not read the trace.
  bool loaded_from_store() const { return loaded_from_store_; }

  // A reader whose next event has rank `rank`. InvalidArgument if `rank` is
  // not below the number of events indexed so far.
  StatusOr<std::unique_ptr<ctf::EventReader>> ReaderAt(uint64_t rank) const;
  // Rank of the first event with timestamp >= t (nb_events if none).
  StatusOr<uint64_t> RankAtTime(int64_t t) const;
  // For ascending `times`, the number of events of each experiment trace
  // with timestamp < times[i] (counts[i][trace]).
  Status CountsBefore(const std::vector<int64_t>& times,
                      std::vector<std::vector<uint64_t>>* counts) const;

  // Experiment trace index of a reader's Event::trace_index.
  size_t ExperimentTraceOf(uint32_t ctf_trace_index) const {
    return ctf_to_trace_[ctf_trace_index];
  }
  size_t trace_count() const { return trace_count_; }
  const std::vector<std::shared_ptr<const ctf::Trace>>& ctf_traces() const {
    return ctf_traces_;
  }
  const storage::IndexStore& store() const { return *store_; }
  // Adds or replaces properties of the snapshot (results computed after
  // the pass, e.g. the guest traces' mapping); not stored.
  void SetProperty(const std::string& key, const std::string& value);
  // Whether the modules see CTF trace `i` (IndexOptions::module_traces).
  bool fed_to_modules(size_t ctf_trace_index) const {
    return module_index_[ctf_trace_index] >= 0;
  }
  // The analyses fed by the pass, in factory order.
  const std::vector<std::unique_ptr<AnalysisModule>>& modules() const {
    return modules_;
  }

 private:
  struct Pass;  // the state of a running pass (experiment_index.cc)

  ExperimentIndex() = default;
  void Run(std::stop_token stop);
  // Reads, indexes, decodes and feeds every event; false if stopped.
  bool ReadAll(std::stop_token stop, Pass* p);
  // Indexes the event of rank p->rank (checkpoints, per-trace counts).
  void IndexEvent(const ctf::Event& ev, Pass* p);
  // The modules' Finish() and every module's Stats(), as properties.
  std::map<std::string, std::string> FinishModules(Pass* p);
  // Saves the complete index and publishes the final snapshot.
  void FinishIndex(Pass* p,
                   const std::map<std::string, std::string>& module_props);
  void SetDone(IndexState state,
               const std::map<std::string, std::string>& props);
  void Fail(const std::string& message);
  StatusOr<std::unique_ptr<ctf::EventReader>> ReaderFrom(
      const storage::Checkpoint& cp) const;

  std::vector<std::shared_ptr<const ctf::Trace>> ctf_traces_;
  std::vector<size_t> ctf_to_trace_;
  // The traces the modules see, and each CTF trace's index among them (-1:
  // not fed).
  std::vector<std::shared_ptr<const ctf::Trace>> module_traces_;
  std::vector<int32_t> module_index_;
  size_t trace_count_ = 0;
  std::unique_ptr<storage::IndexStore> store_;
  std::vector<std::unique_ptr<AnalysisModule>> modules_;
  bool index_needs_pass_ = true;
  IndexOptions options_;
  std::string fingerprint_;
  bool loaded_from_store_ = false;

  std::atomic<uint64_t> nb_events_{0};
  std::atomic<int64_t> start_{0};
  std::atomic<int64_t> end_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable done_cv_;
  IndexState state_ = IndexState::kRunning;        // guarded by mu_
  bool pass_running_ = false;                      // guarded by mu_
  std::vector<storage::TraceSummary> traces_;      // guarded by mu_
  std::map<std::string, std::string> properties_;  // guarded by mu_
  std::string message_;                            // guarded by mu_
  std::jthread thread_;
};

// The events a tracer reported lost (ctf::StreamDiscards), kept in the
// index's properties so that they survive a restart:
// "reader.discarded_events.<ctf trace index>.cpu<N>" (streams of one CPU
// summed) or ".stream<S>" for a stream without cpu_id, whose value is the
// count. `ctf_trace` indexes ExperimentIndex::ctf_traces().
struct DiscardedEvents {
  uint32_t ctf_trace = 0;
  int64_t cpu = -1;     // -1: unknown, then `stream` says which
  uint32_t stream = 0;  // global stream index (when cpu is -1)
  uint64_t count = 0;
};
std::string DiscardedEventsKey(const DiscardedEvents& d);
// Every such key of `properties`, in key order; other keys are ignored.
std::vector<DiscardedEvents> DiscardedEventsOf(
    const std::map<std::string, std::string>& properties);

// A digest of the trace files (names, sizes, modification times) so that an
// index built from other files is never trusted.
std::string FingerprintTraces(const std::vector<std::string>& dirs);

}  // namespace vmtrace::index

#endif  // VMTRACE_ANALYSES_INDEX_EXPERIMENT_INDEX_H_
