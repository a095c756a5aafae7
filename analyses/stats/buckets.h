// Bucket integration of state-history intervals over sampled times (the
// TREE_TIME_XY outputs of tsp/outputs/ chart these).
//
// A fetch asks for values at ascending sample times t0 < t1 < ... < tn. The
// value at sample k describes bucket k = [times[k], times[k+1]) (half-open);
// the last sample has no bucket after it and repeats the previous value, so
// a chart does not drop to zero at its right edge.
//
// State-history intervals are closed [start, end] (ns); they are integrated
// here as the half-open [start, end + 1).
#ifndef VMTRACE_ANALYSES_STATS_BUCKETS_H_
#define VMTRACE_ANALYSES_STATS_BUCKETS_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "storage/state_history.h"

namespace vmtrace::stats {

// Adds to (*acc)[k] the ns that the closed interval [start, end] spends in
// bucket k. `acc` has times.size() elements; nothing outside
// [times.front(), times.back()) is counted.
void AccumulateBuckets(int64_t start, int64_t end,
                       const std::vector<int64_t>& times,
                       std::vector<double>* acc);
inline void AccumulateBuckets(const storage::StateInterval& iv,
                              const std::vector<int64_t>& times,
                              std::vector<double>* acc) {
  AccumulateBuckets(iv.start, iv.end, times, acc);
}

// Adds to (*acc[c])[k] the ns quark q spends in bucket k in the values of
// category c = category(v) (c < 0: none; acc has at least max c + 1
// vectors of times.size()). From the history's cumulative totals
// (StateHistory::QueryTotals), bucket k being T(times[k+1]) - T(times[k]):
// a bounded number of seeks per time, whatever the number of intervals,
// and exactly AccumulateBuckets over q's intervals. Only integer values
// have a category. `times` ascending.
template <typename CategoryFn>
Status AccumulateTotalsBuckets(const storage::StateHistory& h, storage::Quark q,
                               const std::vector<int64_t>& times,
                               CategoryFn category,
                               std::vector<std::vector<double>>* acc);

// Adds `weight` to the bucket holding instant t (none if t is outside
// [times.front(), times.back())).
void CountInBucket(int64_t t, const std::vector<int64_t>& times,
                   std::vector<double>* acc, double weight = 1.0);

// Per-bucket densities: y[k] = scale * acc[k] / (width_k * per), width_k =
// times[k+1] - times[k] (0 for an empty bucket), and the last sample
// repeats the one before it. With `acc` in ns, scale 100 and per = n this
// is a percent of n resources; with counts and scale 1e9 a rate per second.
std::vector<double> BucketDensity(const std::vector<double>& acc,
                                  const std::vector<int64_t>& times,
                                  double scale, double per = 1.0);

// --- implementation ---

template <typename CategoryFn>
Status AccumulateTotalsBuckets(const storage::StateHistory& h, storage::Quark q,
                               const std::vector<int64_t>& times,
                               CategoryFn category,
                               std::vector<std::vector<double>>* acc) {
  if (times.size() < 2) return Status::Ok();
  VMTRACE_ASSIGN_OR_RETURN(std::vector<storage::ValueTotals> tot,
                           h.QueryTotals(q, times));
  // Per bucket and value, the difference of two integers: exact, then one
  // addition to the double accumulator per (bucket, value) as the scan
  // adds one per interval, so both sum the same integers.
  for (size_t k = 0; k + 1 < times.size(); ++k) {
    for (const storage::ValueTotal& v : tot[k + 1]) {
      const int c = category(storage::StateValue::Int(v.value));
      if (c < 0) continue;
      const int64_t d = v.ns - storage::TotalNs(tot[k], v.value);
      if (d > 0) (*acc)[size_t(c)][k] += double(d);
    }
  }
  return Status::Ok();
}

}  // namespace vmtrace::stats

#endif  // VMTRACE_ANALYSES_STATS_BUCKETS_H_
