// Small queries over a StateHistory that several outputs need (tooltips,
// tree labels). Header-only; they cost one lookup each.
#ifndef VMTRACE_STORAGE_STATE_QUERIES_H_
#define VMTRACE_STORAGE_STATE_QUERIES_H_

#include <cstdint>
#include <optional>
#include <utility>

#include "storage/state_history.h"

namespace vmtrace::storage {

// The value of `q` at t; null if `q` is absent or has no interval there.
inline StateValue ValueAt(const StateHistory& h, std::optional<Quark> q,
                          int64_t t) {
  if (!q) return {};
  auto r = h.QuerySampled({*q}, {t});
  if (!r.ok() || r->empty()) return {};
  return r->front().value;
}

// The last non-null value `q` ever had (labels show what a thread or a VM
// was last known as); null if none.
inline StateValue LastValue(const StateHistory& h, std::optional<Quark> q) {
  if (!q) return {};
  auto r = h.QueryRange(*q, INT64_MIN, INT64_MAX);
  if (!r.ok()) return {};
  for (auto it = r->rbegin(); it != r->rend(); ++it) {
    if (!it->value.is_null()) return it->value;
  }
  return {};
}

// The span [first, last] (inclusive, ns) during which `q` held a non-null
// value: from the start of its first non-null interval to the end of its
// last one (a thread's lifetime, say). nullopt if it never had one. A few
// lookups: a null interval is always followed (or preceded) by a non-null
// one, since equal consecutive values are one interval.
inline std::optional<std::pair<int64_t, int64_t>> NonNullSpan(
    const StateHistory& h, std::optional<Quark> q) {
  if (!q) return std::nullopt;
  auto fl = h.FirstLast(*q);
  if (!fl.ok() || !fl->has_value()) return std::nullopt;
  StateInterval first = (*fl)->first, last = (*fl)->second;
  // The interval next to a null end one, if it is not null.
  auto neighbour = [&h, &q](int64_t t) -> std::optional<StateInterval> {
    auto r = h.QuerySampled({*q}, {t});
    if (!r.ok() || r->empty() || r->front().value.is_null()) {
      return std::nullopt;
    }
    return r->front();
  };
  std::optional<StateInterval> a = first, b = last;
  if (first.value.is_null()) a = neighbour(first.end + 1);
  if (last.value.is_null()) b = neighbour(last.start - 1);
  if (!a || !b) {
    // A gap (no interval) next to a null end: rare, so scan.
    auto all = h.QueryRange(*q, first.start, last.end);
    if (!all.ok()) return std::nullopt;
    a.reset();
    b.reset();
    for (const StateInterval& iv : *all) {
      if (iv.value.is_null()) continue;
      if (!a) a = iv;
      b = iv;
    }
    if (!a) return std::nullopt;
  }
  return std::make_pair(a->start, b->end);
}

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_STATE_QUERIES_H_
