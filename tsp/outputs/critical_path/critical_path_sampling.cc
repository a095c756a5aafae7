// Sampling of a critical path for time-graph replies: what the viewer can
// draw at the requested resolution, bounded by rows x samples however long
// the path is (critical_path_internal.h).
#include <algorithm>
#include <set>
#include <tuple>

#include "tsp/outputs/critical_path/critical_path_internal.h"

namespace vmtrace::tsp::cp_internal {

std::vector<uint32_t> SampledSegments(const CriticalPath& cp,
                                      const std::vector<uint32_t>& row,
                                      const std::vector<int64_t>& times) {
  std::vector<uint32_t> out;
  if (row.empty() || times.empty()) return out;
  const auto& seg = cp.segments;
  const int64_t t0 = times.front(), t1 = times.back();
  // A row's segments are disjoint and in time order, so both their starts
  // and their ends ascend: binary searches find everything.
  auto lo = std::partition_point(row.begin(), row.end(),
                                 [&](uint32_t i) { return seg[i].end <= t0; });
  auto hi = std::partition_point(
      lo, row.end(), [&](uint32_t i) { return seg[i].start <= t1; });
  if (lo == hi) return out;
  auto add = [&out](uint32_t i) {
    if (out.empty() || out.back() != i) out.push_back(i);
  };
  add(*lo);
  for (int64_t t : times) {
    // The last segment starting at or before t holds t if it ends after it.
    auto it = std::partition_point(
        lo, hi, [&](uint32_t i) { return seg[i].start <= t; });
    if (it == lo) continue;
    const uint32_t i = *(it - 1);
    if (t < seg[i].end) add(i);
  }
  add(*(hi - 1));
  return out;
}

std::vector<uint32_t> SampledArrows(const CriticalPath& cp, const Rows& rows,
                                    const std::vector<int64_t>& times) {
  std::vector<uint32_t> out;
  if (times.empty()) return out;
  const auto& order = rows.arrows_by_time;
  const int64_t t0 = times.front(), t1 = times.back();
  auto it = std::partition_point(order.begin(), order.end(), [&](uint32_t i) {
    return cp.arrows[i].ts < t0;
  });
  std::set<std::tuple<size_t, int64_t, int64_t>> shown;
  for (; it != order.end() && cp.arrows[*it].ts <= t1; ++it) {
    const graph::PathArrow& a = cp.arrows[*it];
    auto from = rows.id_of.find(a.from), to = rows.id_of.find(a.to);
    if (from == rows.id_of.end() || to == rows.id_of.end()) continue;
    const size_t k = size_t(std::upper_bound(times.begin(), times.end(), a.ts) -
                            times.begin()) -
                     1;
    if (shown.emplace(k, from->second, to->second).second) out.push_back(*it);
  }
  return out;
}

}  // namespace vmtrace::tsp::cp_internal
