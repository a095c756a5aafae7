// TreeCache: the one tree policy of the outputs whose trees come from an
// analysis' state history (every time graph, and the kernel's CPU Usage).
//
// While the history grows, the tree is computed on every request. Once it
// is complete the tree cannot change: it is computed once and kept. Entries
// with `spans_request` take each request's [start, end] (hits included);
// the others keep the span they were computed with (a thread's lifetime).
// A tree whose entries depend on the requested range (CPU Usage lists the
// threads that ran in it) is kept per range (Scope::kPerRange), for the
// last kPerRangeKept ranges asked. A tree whose labels come from something
// that may change later (the experiment's guest names) passes it as `key`:
// a kept tree serves only requests with the same key (the cache holds the
// key, so a new snapshot is never mistaken for a freed one at the same
// address). Thread-safe; computes are serialized.
#ifndef VMTRACE_TSP_OUTPUTS_TREE_CACHE_H_
#define VMTRACE_TSP_OUTPUTS_TREE_CACHE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

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
    if (complete) {
      for (const Kept& k : kept_) {
        if (k.key == key && (scope_ == Scope::kWholeTrace ||
                             (k.start == start && k.end == end))) {
          return Spanned(k.model, start, end);
        }
      }
    }
    StatusOr<TreeModel> m = compute(start, end);
    if (!m.ok()) return m;
    m->running = !complete;
    if (complete) {
      // The newest first; a whole-trace tree needs one.
      kept_.insert(kept_.begin(), Kept{*m, start, end, std::move(key)});
      const size_t keep = scope_ == Scope::kWholeTrace ? 1 : kPerRangeKept;
      if (kept_.size() > keep) kept_.resize(keep);
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
  // A per-range tree is kept for the last few ranges: a viewer alternates
  // between a few (the whole trace, the zoomed window), and a multi-host
  // experiment asks each host's range in its own clock (view_clock.h).
  static constexpr size_t kPerRangeKept = 4;
  struct Kept {
    TreeModel model;
    int64_t start, end;
    std::shared_ptr<const void> key;
  };
  mutable std::vector<Kept> kept_;
};

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_TREE_CACHE_H_
