// MemoryStateHistory: the in-memory StateHistory + StateWriter, for unit
// tests of analyses (and as the reference the LevelDB store is tested
// against). Also home of AttributeTree, the quark tree both implementations
// keep in memory.
//
// Semantics shared with LevelDbStateHistory (see state_history.h):
// - Set(t, q, v) is a no-op when q has an open interval holding v. With no
//   open interval, any value (null included) opens one at t.
// - A t earlier than the open interval's start is clamped to that start and
//   counted (clamped_sets()). When the (clamped) t equals the open start,
//   the open value lasted no time: it is replaced, nothing is stored.
// - Close(end) closes every open interval at max(end, its start).
// - start_time() is the earliest interval start ever opened (0 while
//   nothing was set); flushed_until() is the largest Flush()/Close() time
//   (start_time() - 1 before the first flush).
// - Readers see exactly the intervals closed before the last Flush().
#ifndef VMTRACE_STORAGE_MEMORY_STATE_HISTORY_H_
#define VMTRACE_STORAGE_MEMORY_STATE_HISTORY_H_

#include <atomic>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/state_history.h"

namespace vmtrace::storage {

// The attribute tree: dense quarks, names, parents, children in creation
// order. Not synchronized: owners guard it with their own lock.
class AttributeTree {
 public:
  AttributeTree();
  // Adds child `name` of `parent` (which must exist) unless present;
  // returns its quark and sets *added accordingly.
  Quark GetOrAdd(Quark parent, std::string_view name, bool* added);
  // Adds a node with a known quark (loading a persisted tree). Quarks must
  // come in increasing order; returns false on an inconsistent input.
  bool Load(Quark q, Quark parent, std::string name);

  std::optional<Quark> Find(const std::vector<std::string>& path) const;
  std::optional<Quark> Child(Quark parent, std::string_view name) const;
  std::vector<Quark> Children(Quark parent) const;
  std::string Name(Quark q) const;
  Quark Parent(Quark q) const;
  Quark size() const { return Quark(nodes_.size()); }
  // q and all its descendants except q itself, in ascending quark order.
  std::vector<Quark> Subtree(Quark q) const;

 private:
  struct Node {
    std::string name;
    Quark parent = kRootQuark;
    std::vector<Quark> children;
  };
  std::vector<Node> nodes_;
  // (parent, name) -> quark, keyed by a string "parent(4 bytes) name".
  std::unordered_map<std::string, Quark> by_name_;
};

class MemoryStateHistory : public StateHistory, public StateWriter {
 public:
  MemoryStateHistory() = default;

  // StateHistory
  std::optional<Quark> Find(
      const std::vector<std::string>& path) const override;
  std::optional<Quark> Child(Quark parent,
                             std::string_view name) const override;
  std::vector<Quark> Children(Quark parent) const override;
  std::string Name(Quark q) const override;
  Quark Parent(Quark q) const override;
  Quark AttributeCount() const override;
  int64_t start_time() const override;
  int64_t flushed_until() const override;
  bool complete() const override { return complete_.load(); }
  StatusOr<std::vector<StateInterval>> QueryAt(
      int64_t t, Quark root = kRootQuark) const override;
  StatusOr<std::vector<StateInterval>> QuerySampled(
      const std::vector<Quark>& quarks,
      const std::vector<int64_t>& times) const override;
  StatusOr<std::vector<StateInterval>> QueryRange(Quark q, int64_t t1,
                                                  int64_t t2) const override;
  StatusOr<FirstLastIntervals> FirstLast(Quark q) const override;
  // A scan of every interval before each time (no cap on values).
  StatusOr<std::vector<ValueTotals>> QueryTotals(
      Quark q, const std::vector<int64_t>& times) const override;

  // StateWriter
  Quark GetOrAdd(Quark parent, std::string_view name) override;
  void EndSubtree(int64_t t, Quark q) override;
  void Set(int64_t t, Quark q, StateValue value) override;
  const StateValue& Current(Quark q) const override;
  Status Flush(int64_t now) override;
  Status Close(int64_t end_time) override;

  // Number of Set() calls whose time went backwards and was clamped.
  uint64_t clamped_sets() const { return clamped_sets_; }

 private:
  struct Open {
    bool open = false;
    int64_t start = 0;
    StateValue value;
  };
  void CloseInterval(Quark q, int64_t end);

  mutable std::shared_mutex mu_;  // guards tree_ and visible_
  AttributeTree tree_;
  std::vector<std::vector<StateInterval>> visible_;  // per quark, by time

  // Writer-thread state.
  std::vector<Open> open_;
  std::vector<StateInterval> pending_;  // closed, not yet flushed
  uint64_t clamped_sets_ = 0;

  std::atomic<bool> has_start_{false};
  std::atomic<int64_t> start_{0};
  std::atomic<bool> has_flushed_{false};
  std::atomic<int64_t> flushed_{0};
  std::atomic<bool> complete_{false};
};

// Index of the first of times[i..] (ascending) greater than `end`; shared
// by both implementations' sampled queries.
size_t SkipSamples(const std::vector<int64_t>& times, size_t i, int64_t end);

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_MEMORY_STATE_HISTORY_H_
