// ModuleFeed: hands the decoded records of the indexing pass to the fed
// analysis modules, either on the pass thread itself (single-threaded) or
// pipelined: the pass thread (reader + index + decoder) fills batches of
// records, and each consumer thread runs its share of the modules over
// every batch, taken from its own bounded queue (by default one consumer
// per core beyond the pass thread's, at most one per module).
//
// Contract, both modes: each module sees every record in rank order, its
// Publish(now) calls at the same places among them, and Finish(end_time)
// after its last record, all on one thread; modules share nothing, so the
// results are the same whatever the threads. Memory is bounded: at most
// `queue_depth` batches wait per consumer (a batch is shared by all
// consumers, so the bound is about (queue_depth + threads + 1) batches).
// Abort() (a cancelled pass, a failed index write) drops what is queued and
// joins the consumers without Finish; nothing waits for ever.
#ifndef VMTRACE_ANALYSES_INDEX_MODULE_FEED_H_
#define VMTRACE_ANALYSES_INDEX_MODULE_FEED_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "analyses/events/typed_event.h"
#include "analyses/index/analysis_module.h"
#include "analyses/index/bounded_queue.h"
#include "base/status.h"

namespace vmtrace::index {

struct FeedOptions {
  bool pipelined = true;
  // Consumer threads; 0: the cores the process may use less one (the pass
  // thread's), at most one per module, at least one. Modules are dealt
  // round-robin in the order given.
  size_t threads = 0;
  size_t batch_records = 4096;
  size_t queue_depth = 4;
};

class ModuleFeed {
 public:
  ModuleFeed(std::vector<AnalysisModule*> modules, FeedOptions options);
  // Aborts if Finish() was not called.
  ~ModuleFeed();
  ModuleFeed(const ModuleFeed&) = delete;
  ModuleFeed& operator=(const ModuleFeed&) = delete;

  // Where to decode the next record; it is handed over by Commit().
  events::TypedEvent* Slot();
  void Commit();
  // Every module's Publish(now), after the records committed so far.
  void Publish(int64_t now);
  // After the last record of a complete pass: every module's
  // Finish(end_time), on its own thread; waits for them. Statuses in the
  // order of the modules given.
  std::vector<Status> Finish(int64_t end_time);
  // Stops the consumers without Finish (records still queued are dropped).
  void Abort();

 private:
  struct Batch {
    std::vector<events::TypedEvent> events;
    bool publish = false;  // Publish(now) before the events
    int64_t now = 0;
  };
  using BatchPtr = std::shared_ptr<const Batch>;
  struct Consumer {
    std::vector<size_t> modules;  // indices into modules_
    std::unique_ptr<BoundedQueue<BatchPtr>> queue;
    std::thread thread;
  };

  void NewBatch();
  // Batches whose consumers are done come back here (their memory stays
  // mapped and warm instead of being freed and faulted in again).
  void Recycle(Batch* b);
  void Send();  // the current batch to every consumer
  void Consume(Consumer* c);
  void Join();

  std::vector<AnalysisModule*> modules_;
  FeedOptions options_;
  // Declared before every holder of a batch, so it outlives them.
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Batch>> pool_;  // guarded by pool_mu_
  std::vector<Consumer> consumers_;
  std::shared_ptr<Batch> batch_;
  events::TypedEvent scratch_;  // single-threaded mode
  // Written before the queues are closed (the close orders them).
  bool complete_ = false;
  int64_t end_time_ = 0;
  std::vector<Status> finish_;  // per module
  bool done_ = false;
};

}  // namespace vmtrace::index

#endif  // VMTRACE_ANALYSES_INDEX_MODULE_FEED_H_
