// TreeCache: the one tree policy of the outputs whose trees come from an
// analysis' state history (every time graph, and the kernel's CPU Usage).
//
// While the history grows, the tree is computed on every request. Once it
// is complete the tree cannot change: it is computed once and kept. Entries
// with `spans_request` take each request's [start, end] (hits included);
// the others keep the span they were computed with (a thread's lifetime).
// A tree whose entries depend on the requested range (CPU Usage lists the
// threads that ran in it) is kept for one range (Scope::kPerRange) and
// recomputed for another. A tree whose labels come from something that
// may change later (the experiment's guest names) passes it as `key`: the
// kept tree serves only requests with the same key (the cache holds the key,
// so a new snapshot is never mistaken for a freed one at the same address).
// Thread-safe; computes are serialized.
#ifndef VMTRACE_TSP_OUTPUTS_TREE_CACHE_H_
#define VMTRACE_TSP_OUTPUTS_TREE_CACHE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "base/status.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

class TreeCache {
 public:
  enum class Scope { kWholeTrace, kPerRange };
  explicit TreeCache(Scope scope = Scope::kWholeTrace) : scope_(scope) {}

  // `compute(start, end)` -> StatusOr<TreeModel> builds the tree; `complete`
  // is the history's state before it runs. The result's `running` is
  // !complete.
  template <typename ComputeFn>
  StatusOr<TreeModel> Get(bool complete, int64_t start, int64_t end,
                          ComputeFn&& compute) const {
    return Get(complete, start, end, nullptr, std::forward<ComputeFn>(compute));
  }
  template <typename ComputeFn>
  StatusOr<TreeModel> Get(bool complete, int64_t start, int64_t end,
                          std::shared_ptr<const void> key,
                          ComputeFn&& compute) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (complete && cached_ && key == key_ &&
        (scope_ == Scope::kWholeTrace || (start == start_ && end == end_))) {
      return Spanned(*cached_, start, end);
    }
    StatusOr<TreeModel> m = compute(start, end);
    if (!m.ok()) return m;
    m->running = !complete;
    if (complete) {
      cached_ = *m;
      start_ = start;
      end_ = end;
      key_ = std::move(key);
    }
    return Spanned(std::move(m).value(), start, end);
  }

  // Marks every entry of `m` as spanning the request.
  static void SpanRequest(TreeModel* m) {
    for (auto& e : m->entries) e.spans_request = true;
  }

 private:
  static TreeModel Spanned(TreeModel m, int64_t start, int64_t end) {
    for (auto& e : m.entries) {
      if (!e.spans_request) continue;
      e.start = start;
      e.end = end;
    }
    return m;
  }

  const Scope scope_;
  mutable std::mutex mu_;
  mutable std::optional<TreeModel> cached_;
  mutable int64_t start_ = 0, end_ = 0;
  mutable std::shared_ptr<const void> key_;
};

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_TREE_CACHE_H_
