// State history: an attribute tree plus, per attribute, the intervals of its
// successive values over time -- the storage behind every time graph and XY
// chart. One store per analysis.
//
// Model. Attributes form a tree of names ("Threads/1234/Status"); each has
// a Quark, a dense integer id (the root is kRootQuark and has no value). An
// attribute's value changes at instants; between two changes it holds one
// value. Every closed interval [start, end] (inclusive, ns) is stored; the
// current value of an attribute is "open" until the next change or Close().
// Intervals of one attribute never overlap. A null value (kNull) is stored
// like any other, so "nothing here" is an answer, not a miss.
//
// Writing happens on one thread (the analysis pass) through StateWriter;
// reading through StateHistory, from any thread, concurrently with writing:
// readers see every interval that was closed and flushed (Flush() is called
// by the writer at batch boundaries), plus nothing of open intervals. The
// range readers can trust is [start_time(), flushed_until()].
//
// Two implementations share these interfaces: LevelDB-backed
// (leveldb_state_history.h), used by the server, and in-memory
// (memory_state_history.h), for unit tests of analyses.
#ifndef VMTRACE_STORAGE_STATE_HISTORY_H_
#define VMTRACE_STORAGE_STATE_HISTORY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace vmtrace::storage {

using Quark = uint32_t;
inline constexpr Quark kRootQuark = 0;

struct StateValue {
  enum Kind : uint8_t { kNull = 0, kInt = 1, kString = 2 };
  Kind kind = kNull;
  int64_t i = 0;
  std::string s;

  static StateValue Null() { return {}; }
  static StateValue Int(int64_t v) { return {kInt, v, {}}; }
  static StateValue Str(std::string v) { return {kString, 0, std::move(v)}; }
  bool is_null() const { return kind == kNull; }
  bool operator==(const StateValue& o) const {
    return kind == o.kind && i == o.i && s == o.s;
  }
};

struct StateInterval {
  Quark quark = 0;
  int64_t start = 0;  // inclusive
  int64_t end = 0;    // inclusive
  StateValue value;
  bool Contains(int64_t t) const { return start <= t && t <= end; }
};

// Time and number of intervals of one integer value (QueryTotals()).
struct ValueTotal {
  int64_t value = 0;
  int64_t ns = 0;     // time spent holding the value
  int64_t count = 0;  // intervals holding it
  bool operator==(const ValueTotal& o) const {
    return value == o.value && ns == o.ns && count == o.count;
  }
};
// One entry per integer value seen, sorted by value; a value never held has
// no entry (it counts as 0).
using ValueTotals = std::vector<ValueTotal>;

// A quark's totals are carried cheaply for at most this many distinct
// integer values (see QueryTotals()).
inline constexpr size_t kMaxTotalsValues = 32;

// Adds ns and count to the entry of `value`, inserted in order if absent.
inline void AddTotal(ValueTotals* t, int64_t value, int64_t ns, int64_t count) {
  auto it = t->begin();
  while (it != t->end() && it->value < value) ++it;
  if (it == t->end() || it->value != value) {
    it = t->insert(it, ValueTotal{value, 0, 0});
  }
  it->ns += ns;
  it->count += count;
}
// The ns of `value` in t (0 if absent).
inline int64_t TotalNs(const ValueTotals& t, int64_t value) {
  for (const ValueTotal& v : t) {
    if (v.value == value) return v.ns;
  }
  return 0;
}

// The first and the last interval of a quark (FirstLast()).
using FirstLastIntervals =
    std::optional<std::pair<StateInterval, StateInterval>>;

// Read side. All methods are thread-safe.
class StateHistory {
 public:
  virtual ~StateHistory() = default;

  // --- attribute tree ---
  // Quark of `path` (names from the root), nullopt if absent.
  virtual std::optional<Quark> Find(
      const std::vector<std::string>& path) const = 0;
  // Quark of child `name` of `parent`, nullopt if absent.
  virtual std::optional<Quark> Child(Quark parent,
                                     std::string_view name) const = 0;
  // Children in creation order; empty for a leaf or an unknown quark.
  virtual std::vector<Quark> Children(Quark parent) const = 0;
  // Name and parent of a quark ("" and kRootQuark for the root or unknown).
  virtual std::string Name(Quark q) const = 0;
  virtual Quark Parent(Quark q) const = 0;
  // Number of quarks (ids are 0 .. count-1).
  virtual Quark AttributeCount() const = 0;

  // --- time bounds ---
  virtual int64_t start_time() const = 0;
  // Every interval ending at or before this time has been flushed.
  virtual int64_t flushed_until() const = 0;
  // True once the writer called Close(): the history is complete.
  virtual bool complete() const = 0;

  // --- queries ---
  // (a) The interval of each quark of the subtree under `root` (excluding
  // the root itself) that contains t; quarks with no interval at t are
  // left out. Ordered by quark.
  virtual StatusOr<std::vector<StateInterval>> QueryAt(
      int64_t t, Quark root = kRootQuark) const = 0;
  // (b) For each quark, every distinct interval containing at least one of
  // `times` (ascending), in time order, quark by quark. The cost is bounded
  // by quarks x times lookups, whatever the number of intervals between
  // samples (they are skipped, not read).
  virtual StatusOr<std::vector<StateInterval>> QuerySampled(
      const std::vector<Quark>& quarks,
      const std::vector<int64_t>& times) const = 0;
  // (c) All intervals of `q` intersecting [t1, t2], in time order.
  virtual StatusOr<std::vector<StateInterval>> QueryRange(Quark q, int64_t t1,
                                                          int64_t t2) const = 0;
  // (d) The first and the last flushed interval of `q` (any value, null
  // included; the same interval twice if it has one); nullopt if `q` has
  // none or is unknown. Two lookups, whatever the length of the history.
  virtual StatusOr<FirstLastIntervals> FirstLast(Quark q) const = 0;
  // (e) Cumulative time per integer value. For each of `times`, the totals
  // T(t) of q's flushed intervals before t: an interval [s, e] holding the
  // integer v with s < t adds min(e + 1, t) - s ns and 1 interval to v's
  // entry (intervals read as [s, e + 1), clipped at t). Null and string
  // values are not counted. Time in v over [a, b) is then exactly
  // T(b).ns - T(a).ns, whatever the length of the range. One ValueTotals
  // per time, in the order of `times` (any order; ascending is cheapest);
  // empty totals for an unknown quark or a time before its first interval.
  // Cost (LevelDB): one seek and the decoding of a bounded number of blocks
  // per time (leveldb_state_history.h), for a quark that never held more
  // than kMaxTotalsValues distinct integer values. Past that cap the store
  // stops carrying the quark's totals: the answer stays exact, but costs a
  // decode of every interval since its last checkpoint (a scan). The
  // statistics query only state rows, which hold a handful of values.
  virtual StatusOr<std::vector<ValueTotals>> QueryTotals(
      Quark q, const std::vector<int64_t>& times) const = 0;
};

// Write side: one writer, on the analysis thread.
class StateWriter {
 public:
  virtual ~StateWriter() = default;
  // Quark of child `name` under `parent`, created if absent.
  virtual Quark GetOrAdd(Quark parent, std::string_view name) = 0;
  // Convenience: GetOrAdd along a path from the root.
  Quark GetOrAddPath(const std::vector<std::string_view>& path) {
    Quark q = kRootQuark;
    for (auto n : path) q = GetOrAdd(q, n);
    return q;
  }
  // The attribute takes `value` from time t: the open interval (if any) is
  // closed at t-1 and a new one opens at t. Setting the same value again is
  // a no-op. Times must not go backwards per attribute; an earlier t is
  // clamped to the open interval's start (and counted, see stats).
  virtual void Set(int64_t t, Quark q, StateValue value) = 0;
  // The value currently open for q (null if none).
  virtual const StateValue& Current(Quark q) const = 0;
  // Every attribute at or below `q` with an open value becomes null from
  // `t` on (its interval ends at t-1). For a host whose trace ends before
  // the experiment's: its states end with its last event instead of
  // lasting until the end of the other hosts' traces.
  virtual void EndSubtree(int64_t t, Quark q) = 0;
  // Makes everything closed so far visible to readers, up to `now`.
  virtual Status Flush(int64_t now) = 0;
  // Closes every open interval at `end_time`, flushes, and marks the
  // history complete.
  virtual Status Close(int64_t end_time) = 0;
};

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_STATE_HISTORY_H_
