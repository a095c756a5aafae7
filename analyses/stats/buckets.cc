#include "analyses/stats/buckets.h"

#include <algorithm>

namespace vmtrace::stats {

void AccumulateBuckets(int64_t start, int64_t end,
                       const std::vector<int64_t>& times,
                       std::vector<double>* acc) {
  // Buckets overlapped by [s, e): binary search the first one, so a long
  // fetch over many short intervals stays O(intervals x log(samples)).
  const int64_t s = start, e = end + 1;
  size_t k = std::upper_bound(times.begin(), times.end(), s) - times.begin();
  k = k == 0 ? 0 : k - 1;
  for (; k + 1 < times.size() && times[k] < e; ++k) {
    int64_t lo = std::max(s, times[k]), hi = std::min(e, times[k + 1]);
    if (hi > lo) (*acc)[k] += double(hi - lo);
  }
}

void CountInBucket(int64_t t, const std::vector<int64_t>& times,
                   std::vector<double>* acc, double weight) {
  if (times.size() < 2 || t < times.front() || t >= times.back()) return;
  size_t k = std::upper_bound(times.begin(), times.end(), t) - times.begin();
  (*acc)[k - 1] += weight;
}

std::vector<double> BucketDensity(const std::vector<double>& acc,
                                  const std::vector<int64_t>& times,
                                  double scale, double per) {
  std::vector<double> y(times.size(), 0.0);
  for (size_t k = 0; k + 1 < times.size(); ++k) {
    double width = double(times[k + 1] - times[k]);
    y[k] = width > 0 && per > 0 ? scale * acc[k] / (width * per) : 0.0;
  }
  if (times.size() > 1) y.back() = y[times.size() - 2];
  return y;
}

}  // namespace vmtrace::stats
