#include "analyses/index/module_feed.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <string>

namespace vmtrace::index {

namespace {

// The cores this process may run on, less the pass thread's: on 2 cores one
// consumer runs every module (fewer switches than one thread per module,
// measured on the 10M-event demo); with many cores, one per module.
size_t DefaultThreads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  const int cores = CPU_COUNT(&set);
  return cores > 1 ? static_cast<size_t>(cores - 1) : 1;
}

}  // namespace

ModuleFeed::ModuleFeed(std::vector<AnalysisModule*> modules,
                       FeedOptions options)
    : modules_(std::move(modules)),
      options_(options),
      finish_(modules_.size()) {
  if (options_.batch_records == 0) options_.batch_records = 1;
  if (!options_.pipelined || modules_.empty()) {
    options_.pipelined = false;
    return;
  }
  size_t n = options_.threads ? options_.threads : DefaultThreads();
  n = std::max<size_t>(1, std::min(n, modules_.size()));
  consumers_.resize(n);
  for (size_t i = 0; i < modules_.size(); ++i) {
    consumers_[i % n].modules.push_back(i);
  }
  for (Consumer& c : consumers_) {
    c.queue = std::make_unique<BoundedQueue<BatchPtr>>(options_.queue_depth);
    c.thread = std::thread([this, &c] { Consume(&c); });
  }
  NewBatch();
}

ModuleFeed::~ModuleFeed() {
  if (!done_) Abort();
  batch_.reset();
}

void ModuleFeed::NewBatch() {
  std::unique_ptr<Batch> b;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      b = std::move(pool_.back());
      pool_.pop_back();
    }
  }
  if (!b) {
    b = std::make_unique<Batch>();
    b->events.reserve(options_.batch_records);
  }
  // The last consumer to drop it hands it back.
  batch_ =
      std::shared_ptr<Batch>(b.release(), [this](Batch* x) { Recycle(x); });
}

void ModuleFeed::Recycle(Batch* b) {
  b->events.clear();
  b->publish = false;
  std::lock_guard<std::mutex> lock(pool_mu_);
  pool_.emplace_back(b);
}

events::TypedEvent* ModuleFeed::Slot() {
  if (!options_.pipelined) return &scratch_;
  return &batch_->events.emplace_back();
}

void ModuleFeed::Commit() {
  if (!options_.pipelined) {
    for (AnalysisModule* m : modules_) m->OnEvent(scratch_);
    return;
  }
  if (batch_->events.size() >= options_.batch_records) Send();
}

void ModuleFeed::Publish(int64_t now) {
  if (!options_.pipelined) {
    for (AnalysisModule* m : modules_) m->Publish(now);
    return;
  }
  // Publish lands between the records before and after it: it starts the
  // next batch.
  if (!batch_->events.empty() || batch_->publish) Send();
  batch_->publish = true;
  batch_->now = now;
}

void ModuleFeed::Send() {
  BatchPtr b = std::move(batch_);
  for (Consumer& c : consumers_) c.queue->Push(b);
  NewBatch();
}

void ModuleFeed::Consume(Consumer* c) {
  // Named after its first module, for top -H and perf.
  const std::string name =
      ("vmt-" + modules_[c->modules[0]]->id()).substr(0, 15);
  pthread_setname_np(pthread_self(), name.c_str());
  BatchPtr b;
  while (c->queue->Pop(&b)) {
    // Module by module over the batch: each keeps its data and code hot.
    for (size_t i : c->modules) {
      AnalysisModule* m = modules_[i];
      if (b->publish) m->Publish(b->now);
      for (const events::TypedEvent& ev : b->events) m->OnEvent(ev);
    }
    b.reset();
  }
  if (!complete_) return;
  for (size_t i : c->modules) finish_[i] = modules_[i]->Finish(end_time_);
}

void ModuleFeed::Join() {
  for (Consumer& c : consumers_) {
    if (c.thread.joinable()) c.thread.join();
  }
  done_ = true;
}

std::vector<Status> ModuleFeed::Finish(int64_t end_time) {
  if (!options_.pipelined) {
    for (size_t i = 0; i < modules_.size(); ++i) {
      finish_[i] = modules_[i]->Finish(end_time);
    }
    done_ = true;
    return finish_;
  }
  if (!batch_->events.empty() || batch_->publish) Send();
  complete_ = true;
  end_time_ = end_time;
  for (Consumer& c : consumers_) c.queue->Close();
  Join();
  return finish_;
}

void ModuleFeed::Abort() {
  for (Consumer& c : consumers_) c.queue->Abort();
  Join();
}

}  // namespace vmtrace::index
