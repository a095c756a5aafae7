// The convex-hull clock fit (analyses/sync/clock_fit.h) on synthetic
// messages between a host H and its peer P with a known relation
// t_P = t_H + drift * (t_H - x0) + offset, and the conversions of
// ClockSync built from it.
#include "analyses/sync/clock_fit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "analyses/sync/clock_sync.h"

namespace vmtrace::sync {
namespace {

constexpr int64_t kX0 = 1'700'000'000'000'000'000;  // an epoch time, ns

struct Truth {
  double drift = 0;
  double offset = 0;
  // P's time of H's time t.
  int64_t ToP(int64_t t) const {
    return t + std::llround(drift * static_cast<double>(t - kX0) + offset);
  }
};

// `n` messages each way, spread over [x0 - span/2, x0 + span/2] of H's
// clock, one-way latencies uniform in [lat_min, lat_max] ns.
ConstraintHulls Messages(const Truth& truth, int n, int64_t span,
                         int64_t lat_min, int64_t lat_max, bool h_to_p,
                         bool p_to_h, uint32_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> lat(lat_min, lat_max);
  std::uniform_int_distribution<int64_t> when(-span / 2, span / 2);
  ConstraintHulls h;
  for (int i = 0; i < n; ++i) {
    if (h_to_p) {  // sent at x on H, received on P
      const int64_t x = kX0 + when(rng);
      const int64_t recv_p = truth.ToP(x + lat(rng));
      h.AddAbove({x, recv_p - x});
    }
    if (p_to_h) {  // sent on P, received at x on H
      const int64_t x = kX0 + when(rng);
      const int64_t sent_p = truth.ToP(x - lat(rng));
      h.AddBelow({x, sent_p - x});
    }
  }
  return h;
}

TEST(ClockFitTest, NoMessageIsIdentity) {
  ClockFit f = FitClock(ConstraintHulls(), kX0);
  EXPECT_EQ(f.kind, ClockFit::kNone);
  EXPECT_EQ(f.map.drift, 0);
  EXPECT_EQ(f.map.offset, 0);
  EXPECT_FALSE(f.accurate());
}

TEST(ClockFitTest, PureOffsetShortTrace) {
  // 60 ms, latencies 70-90 us: the drift is free within +-1000s of ppm, so
  // the fit is a pure offset in the middle of [max below, min above].
  const Truth truth{0, -2'500'000};
  ConstraintHulls h =
      Messages(truth, 40, 60'000'000, 70'000, 90'000, true, true);
  ClockFit f = FitClock(h, kX0);
  EXPECT_EQ(f.kind, ClockFit::kOffset) << FitKindName(f.kind);
  EXPECT_TRUE(f.accurate());
  EXPECT_EQ(f.map.drift, 0);
  EXPECT_EQ(f.above, 40u);
  EXPECT_EQ(f.below, 40u);
  EXPECT_LT(f.drift_min, 0);
  EXPECT_GT(f.drift_max, 0);
  // The feasible offsets are [offset - lat_min', offset + lat_min''].
  EXPECT_GT(f.accuracy_ns, 65'000);
  EXPECT_LT(f.accuracy_ns, 80'000);
  EXPECT_NEAR(f.map.offset, truth.offset, 10'000);
  EXPECT_LE(std::abs(f.map.offset - truth.offset), f.accuracy_ns);
}

TEST(ClockFitTest, OffsetAndDrift) {
  // 20 ppm over 200 s with 50-150 us latencies: drift 0 is excluded, the
  // slope is bounded on both sides and the middle line is close to the
  // truth.
  const Truth truth{20e-6, 1'000'000};
  ConstraintHulls h =
      Messages(truth, 2000, 200'000'000'000, 50'000, 150'000, true, true);
  ClockFit f = FitClock(h, kX0);
  ASSERT_EQ(f.kind, ClockFit::kDrift) << FitKindName(f.kind);
  EXPECT_TRUE(f.accurate());
  EXPECT_LE(f.drift_min, truth.drift);
  EXPECT_GE(f.drift_max, truth.drift);
  EXPECT_NEAR(f.map.drift, truth.drift, 0.2e-6);
  EXPECT_LE(std::abs(f.map.offset - truth.offset), f.accuracy_ns);
  EXPECT_LT(f.accuracy_ns, 60'000);
  EXPECT_NEAR(f.map.offset, truth.offset, 20'000);
}

TEST(ClockFitTest, NoDriftLongTraceFitsAWellBoundedSlope) {
  // No drift, 1000 s: the slope is bounded within +-1 ppm, so the middle
  // line is used, with a drift close to 0.
  const Truth truth{0, 42'000};
  ConstraintHulls h =
      Messages(truth, 5000, 1'000'000'000'000, 40'000, 60'000, true, true);
  ClockFit f = FitClock(h, kX0);
  ASSERT_EQ(f.kind, ClockFit::kDrift) << FitKindName(f.kind);
  EXPECT_NEAR(f.map.drift, 0, 3e-8);
  EXPECT_NEAR(f.map.offset, truth.offset, 10'000);
}

TEST(ClockFitTest, OneDirectionOnlyIsAnOffsetAtTheBound) {
  const Truth truth{0, 5'000'000};
  ClockFit up = FitClock(
      Messages(truth, 30, 1'000'000'000, 10'000, 20'000, true, false), kX0);
  EXPECT_EQ(up.kind, ClockFit::kOneDirection);
  EXPECT_FALSE(up.accurate());
  EXPECT_EQ(up.map.drift, 0);
  EXPECT_EQ(up.accuracy_ns, 0);
  // H -> P only: the offset is at most the fastest message's d.
  EXPECT_GE(up.map.offset, truth.offset + 10'000);
  EXPECT_LE(up.map.offset, truth.offset + 12'000);

  ClockFit down = FitClock(
      Messages(truth, 30, 1'000'000'000, 10'000, 20'000, false, true), kX0);
  EXPECT_EQ(down.kind, ClockFit::kOneDirection);
  EXPECT_LE(down.map.offset, truth.offset - 10'000);
  EXPECT_GE(down.map.offset, truth.offset - 12'000);
}

TEST(ClockFitTest, ExactTinyCase) {
  // Two messages each way, by hand: H -> P d = 10 at x0 - 100 and x0 + 100,
  // P -> H d = -10 at the same times. Feasible drifts: +-0.1; pure offset
  // 0 with accuracy 10.
  ConstraintHulls h;
  h.AddAbove({kX0 - 100, 10});
  h.AddAbove({kX0 + 100, 10});
  h.AddBelow({kX0 - 100, -10});
  h.AddBelow({kX0 + 100, -10});
  ClockFit f = FitClock(h, kX0);
  EXPECT_EQ(f.kind, ClockFit::kOffset);
  EXPECT_DOUBLE_EQ(f.drift_min, -0.1);
  EXPECT_DOUBLE_EQ(f.drift_max, 0.1);
  EXPECT_DOUBLE_EQ(f.map.offset, 0);
  EXPECT_DOUBLE_EQ(f.accuracy_ns, 10);
  // With a tolerance that admits +-0.1, the middle line: drift 0, offset 0.
  FitOptions loose;
  loose.max_drift_uncertainty = 0.2;
  ClockFit g = FitClock(h, kX0, loose);
  EXPECT_EQ(g.kind, ClockFit::kDrift);
  EXPECT_NEAR(g.map.drift, 0, 1e-12);
  EXPECT_NEAR(g.map.offset, 0, 1e-9);
  EXPECT_NEAR(g.accuracy_ns, 10, 1e-9);
}

TEST(ClockFitTest, UnboundedSlopeOnOneSide) {
  // Every H -> P message before every P -> H one: the slope is bounded
  // below only; drift 0 is feasible, so the pure offset.
  ConstraintHulls h;
  h.AddAbove({kX0 - 1000, 50});
  h.AddAbove({kX0 - 900, 60});
  h.AddBelow({kX0 + 900, -40});
  h.AddBelow({kX0 + 1000, -50});
  ClockFit f = FitClock(h, kX0);
  EXPECT_EQ(f.kind, ClockFit::kOffset);
  EXPECT_TRUE(std::isinf(f.drift_max));
  EXPECT_LT(f.drift_min, 0);
  EXPECT_DOUBLE_EQ(f.map.offset, (50 + -40) / 2.0);
  EXPECT_DOUBLE_EQ(f.accuracy_ns, (50 - -40) / 2.0);
}

TEST(ClockFitTest, CrossingHullsAreInconsistent) {
  ConstraintHulls h;
  h.AddAbove({kX0, 10});
  h.AddBelow({kX0 + 5, 30});
  h.AddAbove({kX0 + 10, 10});
  h.AddBelow({kX0 - 5, 30});
  ClockFit f = FitClock(h, kX0);
  EXPECT_EQ(f.kind, ClockFit::kInconsistent);
  EXPECT_FALSE(f.accurate());
  EXPECT_DOUBLE_EQ(f.map.offset, 20);
}

TEST(ClockFitTest, FoldedHullsEqualTheDirectOnes) {
  // More points than the fold buffer, in random order: the hull is the
  // same as the one of the same points given sorted, and every point lies
  // on or above the lower hull.
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int64_t> x(0, 1'000'000), d(0, 100'000);
  std::vector<ConstraintPoint> pts;
  for (int i = 0; i < 20000; ++i) pts.push_back({x(rng), d(rng)});
  ConstraintHulls a, b;
  for (const auto& p : pts) a.AddAbove(p);
  std::sort(pts.begin(), pts.end(), [](auto& l, auto& r) { return l.x < r.x; });
  for (const auto& p : pts) b.AddAbove(p);
  const auto ha = a.AboveHull(), hb = b.AboveHull();
  ASSERT_EQ(ha.size(), hb.size());
  for (size_t i = 0; i < ha.size(); ++i) {
    EXPECT_EQ(ha[i].x, hb[i].x);
    EXPECT_EQ(ha[i].d, hb[i].d);
  }
  ASSERT_GE(ha.size(), 2u);
  for (const auto& p : pts) {
    auto it = std::lower_bound(
        ha.begin(), ha.end(), p.x,
        [](const ConstraintPoint& v, int64_t px) { return v.x < px; });
    if (it == ha.end() || it == ha.begin()) {
      if (it != ha.end()) {
        EXPECT_GE(p.d, it->d);
      }
      continue;
    }
    const ConstraintPoint& r = *it;
    const ConstraintPoint& l = *(it - 1);
    // (r - l) x (p - l) >= 0: p is not below the edge.
    const __int128 c = static_cast<__int128>(r.x - l.x) * (p.d - l.d) -
                       static_cast<__int128>(r.d - l.d) * (p.x - l.x);
    EXPECT_GE(static_cast<long double>(c), 0);
  }
}

TEST(ClockFitTest, ComposeAndInvert) {
  const LinearMap a{3e-6, 1000}, b{-1e-6, -250};
  const LinearMap ab = Compose(a, b);
  const LinearMap back = Compose(Invert(a), ab);
  EXPECT_NEAR(back.drift, b.drift, 1e-15);
  EXPECT_NEAR(back.offset, b.offset, 1e-9);
  const LinearMap id = Compose(Invert(b), b);
  EXPECT_NEAR(id.drift, 0, 1e-15);
  EXPECT_NEAR(id.offset, 0, 1e-9);
}

TEST(ClockFitTest, SlopeOffsetKeepsNanosecondsAtEpochTimes) {
  const LinearMap m{12.5e-6, -2'500'000.25};
  double slope = 0, offset = 0;
  ToSlopeOffset(m, kX0, &slope, &offset);
  ClockSync cs({HostClock{"ref", 1, 0, 0, "reference", 0},
                HostClock{"h", slope, offset, 5, "accurate", 9}});
  EXPECT_FALSE(cs.identity());
  // At x0: x0 + offset (rounded), whatever the slope.
  EXPECT_EQ(cs.ToReference("h", kX0), kX0 - 2'500'000);
  // One second later the drift adds 12.5 us.
  EXPECT_EQ(cs.ToReference("h", kX0 + 1'000'000'000),
            kX0 + 1'000'000'000 + 12'500 - 2'500'000);
  for (int64_t t : {kX0, kX0 + 123'456'789, kX0 - 987'654'321}) {
    EXPECT_NEAR(cs.FromReference("h", cs.ToReference("h", t)), t, 1);
  }
  EXPECT_EQ(cs.ToReference("ref", kX0), kX0);
  EXPECT_EQ(cs.ToReference("unknown", kX0 + 7), kX0 + 7);
  EXPECT_TRUE(ClockSync().identity());
}

}  // namespace
}  // namespace vmtrace::sync
