// Convex hulls of the message points and the feasible (drift, offset) set.
//
// With g(e) = min over the above hull of (d - e x) and h(e) = max over the
// below hull of (d - e x) (x relative to x0), the line of drift e and
// offset c is feasible iff h(e) <= c <= g(e). g is concave, h convex, both
// piecewise linear with kinks at the hulls' edge slopes, so F = g - h is
// concave and the feasible drifts are the interval where F >= 0; its ends
// are found on the segments between kinks.
#include "analyses/sync/clock_fit.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>

namespace vmtrace::sync {
namespace {

constexpr size_t kFoldEvery = 4096;
constexpr double kInf = std::numeric_limits<double>::infinity();

// (a - o) x (b - o), exact.
__int128 Cross(const ConstraintPoint& o, const ConstraintPoint& a,
               const ConstraintPoint& b) {
  const __int128 ax = static_cast<__int128>(a.x) - o.x;
  const __int128 ad = static_cast<__int128>(a.d) - o.d;
  const __int128 bx = static_cast<__int128>(b.x) - o.x;
  const __int128 bd = static_cast<__int128>(b.d) - o.d;
  return ax * bd - ad * bx;
}

// One side of the feasible region, in doubles relative to x0: vertices by
// increasing x and the slopes of the edges between them.
struct Envelope {
  std::vector<double> x, d, slope;
  Envelope(const std::vector<ConstraintPoint>& hull, int64_t x0) {
    for (const ConstraintPoint& p : hull) {
      x.push_back(static_cast<double>(p.x - x0));
      d.push_back(static_cast<double>(p.d));
    }
    for (size_t i = 1; i < hull.size(); ++i) {
      slope.push_back(static_cast<double>(hull[i].d - hull[i - 1].d) /
                      static_cast<double>(hull[i].x - hull[i - 1].x));
    }
  }
};

struct Feasible {
  Envelope above, below;  // lower hull (slopes up), upper hull (slopes down)
  // min over the above vertices of d - e x: the vertex after the edges
  // whose slope is below e.
  double G(double e) const {
    size_t k = std::lower_bound(above.slope.begin(), above.slope.end(), e) -
               above.slope.begin();
    return above.d[k] - e * above.x[k];
  }
  // max over the below vertices of d - e x.
  double H(double e) const {
    size_t k = std::lower_bound(below.slope.begin(), below.slope.end(), e,
                                std::greater<double>()) -
               below.slope.begin();
    return below.d[k] - e * below.x[k];
  }
  double F(double e) const { return G(e) - H(e); }
};

// The largest e with F(e) >= 0 for a concave piecewise-linear F known by
// its values `f` at the sorted kinks `e` (at least one) and its slopes
// left of the first and right of the last. +inf if unbounded, nullopt if
// F < 0 everywhere.
std::optional<double> UpperRoot(const std::vector<double>& e,
                                const std::vector<double>& f, double slope_left,
                                double slope_right) {
  const size_t m = e.size();
  if (slope_right > 0) return kInf;
  if (slope_right == 0) {
    return f[m - 1] >= 0 ? std::optional<double>(kInf) : std::nullopt;
  }
  for (size_t k = m; k-- > 0;) {
    if (f[k] < 0) continue;
    if (k == m - 1) return e[k] + f[k] / -slope_right;
    return e[k] + f[k] * (e[k + 1] - e[k]) / (f[k] - f[k + 1]);
  }
  if (slope_left < 0) return e[0] - f[0] / slope_left;
  return std::nullopt;
}

}  // namespace

void ConstraintHulls::Half::Add(ConstraintPoint p) {
  ++count;
  pending.push_back(p);
  if (pending.size() >= kFoldEvery) {
    hull = Hull();
    pending.clear();
  }
}

std::vector<ConstraintPoint> ConstraintHulls::Half::Hull() const {
  std::vector<ConstraintPoint> pts = hull;
  pts.insert(pts.end(), pending.begin(), pending.end());
  // By x, then the binding point of each x first (lowest for a lower hull).
  const bool low = lower;
  std::sort(pts.begin(), pts.end(),
            [low](const ConstraintPoint& a, const ConstraintPoint& b) {
              if (a.x != b.x) return a.x < b.x;
              return low ? a.d < b.d : a.d > b.d;
            });
  std::vector<ConstraintPoint> out;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (i > 0 && pts[i].x == pts[i - 1].x) continue;
    while (out.size() >= 2) {
      const __int128 c = Cross(out[out.size() - 2], out.back(), pts[i]);
      if (low ? c > 0 : c < 0) break;
      out.pop_back();
    }
    out.push_back(pts[i]);
  }
  return out;
}

LinearMap Compose(const LinearMap& a, const LinearMap& b) {
  // t1 = t + b.drift (t - x0) + b.offset; t2 = t1 + a.drift (t1 - x0) + ...
  return {a.drift + b.drift + a.drift * b.drift,
          a.offset + b.offset + a.drift * b.offset};
}

LinearMap Invert(const LinearMap& m) {
  // t - x0 = (t' - x0 - offset) / (1 + drift).
  return {-m.drift / (1 + m.drift), -m.offset / (1 + m.drift)};
}

void ToSlopeOffset(const LinearMap& m, int64_t x0, double* slope,
                   double* offset_ns) {
  *slope = 1.0 + m.drift;
  const long double drift = static_cast<long double>(*slope) - 1.0L;  // exact
  *offset_ns = static_cast<double>(static_cast<long double>(m.offset) -
                                   drift * static_cast<long double>(x0));
}

const char* FitKindName(ClockFit::Kind kind) {
  switch (kind) {
    case ClockFit::kNone:
      return "none";
    case ClockFit::kOneDirection:
      return "one direction";
    case ClockFit::kInconsistent:
      return "inconsistent";
    case ClockFit::kOffset:
      return "offset";
    case ClockFit::kDrift:
      return "drift";
    case ClockFit::kDriftOneBounded:
      return "drift (one bound)";
  }
  return "none";
}

ClockFit FitClock(const ConstraintHulls& hulls, int64_t x0,
                  const FitOptions& options) {
  ClockFit r;
  r.above = hulls.above_count();
  r.below = hulls.below_count();
  const std::vector<ConstraintPoint> above = hulls.AboveHull();
  const std::vector<ConstraintPoint> below = hulls.BelowHull();
  if (above.empty() && below.empty()) return r;
  if (above.empty() || below.empty()) {
    // The lowest above point / highest below point is a hull vertex.
    r.kind = ClockFit::kOneDirection;
    int64_t bound = above.empty() ? below.front().d : above.front().d;
    for (const ConstraintPoint& p : above) bound = std::min(bound, p.d);
    for (const ConstraintPoint& p : below) bound = std::max(bound, p.d);
    r.map.offset = static_cast<double>(bound);
    return r;
  }
  const Feasible fs{Envelope(above, x0), Envelope(below, x0)};
  const double g0 = fs.G(0), h0 = fs.H(0);

  // F at every kink (and at 0), its slopes beyond them, and its roots.
  std::vector<double> e = fs.above.slope;
  e.insert(e.end(), fs.below.slope.begin(), fs.below.slope.end());
  e.push_back(0);
  std::sort(e.begin(), e.end());
  e.erase(std::unique(e.begin(), e.end()), e.end());
  std::vector<double> f;
  for (double v : e) f.push_back(fs.F(v));
  const double slope_left = fs.below.x.back() - fs.above.x.front();
  const double slope_right = fs.below.x.front() - fs.above.x.back();
  const std::optional<double> hi = UpperRoot(e, f, slope_left, slope_right);
  // The lower root is the upper root of e -> F(-e).
  std::vector<double> me(e.rbegin(), e.rend()), mf(f.rbegin(), f.rend());
  for (double& v : me) v = -v;
  const std::optional<double> mlo =
      UpperRoot(me, mf, -slope_right, -slope_left);
  if (!hi || !mlo) {
    r.kind = ClockFit::kInconsistent;
    r.map.offset = (g0 + h0) / 2;
    return r;
  }
  const double lo = -*mlo;
  r.drift_min = lo;
  r.drift_max = *hi;
  const double half = (*hi - lo) / 2;
  if (g0 >= h0 && !(half <= options.max_drift_uncertainty)) {
    r.kind = ClockFit::kOffset;
    r.map.offset = (g0 + h0) / 2;
    r.accuracy_ns = (g0 - h0) / 2;
    return r;
  }
  if (std::isfinite(lo) && std::isfinite(*hi)) {
    r.kind = ClockFit::kDrift;
    const double c_lo_line = (fs.G(lo) + fs.H(lo)) / 2;
    const double c_hi_line = (fs.G(*hi) + fs.H(*hi)) / 2;
    r.map.drift = (lo + *hi) / 2;
    r.map.offset = (c_lo_line + c_hi_line) / 2;
    // Offsets of feasible lines at x0: from min h to max g over [lo, hi];
    // the extremes are at the ends or at kinks inside.
    double g_max = std::max(fs.G(lo), fs.G(*hi));
    double h_min = std::min(fs.H(lo), fs.H(*hi));
    for (double s : fs.above.slope) {
      if (s > lo && s < *hi) g_max = std::max(g_max, fs.G(s));
    }
    for (double s : fs.below.slope) {
      if (s > lo && s < *hi) h_min = std::min(h_min, fs.H(s));
    }
    r.accuracy_ns = std::max(0.0, (g_max - h_min) / 2);
    return r;
  }
  r.kind = ClockFit::kDriftOneBounded;
  const double at = std::isfinite(lo) ? lo : *hi;
  r.map.drift = at;
  r.map.offset = (fs.G(at) + fs.H(at)) / 2;
  return r;
}

}  // namespace vmtrace::sync
