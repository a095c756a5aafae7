// Bucket integration (analyses/stats/buckets.h).
#include "analyses/stats/buckets.h"

#include <gtest/gtest.h>

#include <vector>

namespace vmtrace::stats {
namespace {

TEST(BucketsTest, ClosedIntervalsCountAsHalfOpenPerBucket) {
  const std::vector<int64_t> times = {0, 100, 200, 300};
  std::vector<double> acc(times.size(), 0.0);
  AccumulateBuckets(50, 149, times, &acc);   // [50, 150)
  AccumulateBuckets(250, 400, times, &acc);  // clipped at 300
  AccumulateBuckets(-50, -1, times, &acc);   // before the range
  EXPECT_EQ(acc, (std::vector<double>{50, 50, 50, 0}));
}

TEST(BucketsTest, CountsAnInstantInItsBucketOnly) {
  const std::vector<int64_t> times = {0, 100, 200};
  std::vector<double> acc(times.size(), 0.0);
  CountInBucket(0, times, &acc);
  CountInBucket(99, times, &acc);
  CountInBucket(100, times, &acc, 2.0);
  CountInBucket(200, times, &acc);  // the last sample has no bucket
  CountInBucket(-1, times, &acc);
  EXPECT_EQ(acc, (std::vector<double>{2, 2, 0}));
}

TEST(BucketsTest, DensityPerBucketAndLastSampleRepeats) {
  const std::vector<int64_t> times = {0, 100, 300};
  const std::vector<double> acc = {50, 100, 0};
  // Percent of 2 resources.
  EXPECT_EQ(BucketDensity(acc, times, 100.0, 2.0),
            (std::vector<double>{25, 25, 25}));
  // A rate per second of counts.
  EXPECT_EQ(BucketDensity({1, 4, 0}, times, 1e9),
            (std::vector<double>{1e7, 2e7, 2e7}));
  // An empty bucket is 0, not a division by zero.
  EXPECT_EQ(BucketDensity({5, 0, 0}, {10, 10, 20}, 1.0),
            (std::vector<double>{0, 0, 0}));
}

}  // namespace
}  // namespace vmtrace::stats
