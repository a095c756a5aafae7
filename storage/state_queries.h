// Small queries over a StateHistory that several outputs need (tooltips,
// tree labels). Header-only; they cost one lookup each.
#ifndef VMTRACE_STORAGE_STATE_QUERIES_H_
#define VMTRACE_STORAGE_STATE_QUERIES_H_

#include <cstdint>
#include <optional>

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

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_STATE_QUERIES_H_
