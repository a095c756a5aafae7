// The clock fit of one host pair from matched messages: the convex-hull
// method of Duda et al. as Trace Compass's fully incremental algorithm uses
// it (vm-analyses.md c.5), written from its description. Pure functions.
//
// Model: the time of host H in the clock of its peer P is
//   t_P = t_H + drift * (t_H - x0) + offset
// with x0 a fixed origin (the middle of the experiment), so `offset` is the
// correction at x0 and every number stays small. A message is a point
// (x, d): x = the time of its event on H, d = the time of its event on P
// minus x. A message cannot be received before it is sent, so
//   H -> P (sent at x on H): d > drift * (x - x0) + offset   ("above")
//   P -> H (received at x on H): d < drift * (x - x0) + offset ("below").
// The feasible lines lie between the lower hull of the above points and the
// upper hull of the below points; only those hull vertices are kept.
//
// The choice, by what the messages allow (ClockFit::kind):
// - none: no message; identity.
// - one direction only: the offset is bounded on one side only. Pure offset
//   (drift 0) at that bound, i.e. the fastest message is taken as
//   instantaneous; accuracy unknown (0).
// - both directions, and drift 0 is feasible while the feasible drifts span
//   more than +-max_drift_uncertainty (few points or a short trace: a 60 ms
//   trace with 80 us latencies leaves +-2500 ppm): pure offset, the middle
//   of the feasible offsets [max d below, min d above]; accuracy = half
//   their width. Estimating a drift from such data would only add noise.
// - both directions, drift bounded within the threshold or drift 0
//   excluded by the messages: the line of minimum and the line of maximum
//   feasible slope between the hulls, and their middle (the mean of their
//   drifts and of their offsets at x0). Accuracy = half the width of the
//   offsets that feasible lines take at x0.
// - drift 0 excluded but the slope bounded on one side only: the line at
//   that bound (approximate).
// - no line separates the hulls (packets out of order with any linear
//   relation: a clock step, mismatched packets): the middle of the two
//   pure-offset bounds, flagged inconsistent.
#ifndef VMTRACE_ANALYSES_SYNC_CLOCK_FIT_H_
#define VMTRACE_ANALYSES_SYNC_CLOCK_FIT_H_

#include <cstdint>
#include <vector>

namespace vmtrace::sync {

struct ConstraintPoint {
  int64_t x = 0;  // time of the message's event on H (H's clock), ns
  int64_t d = 0;  // time of its event on P minus x, ns
};

// The messages of one host pair, reduced to the hull vertices. Points may
// come in any order; they are buffered and folded into the hulls every few
// thousand points, so memory stays O(hull size) whatever the message count.
class ConstraintHulls {
 public:
  void AddAbove(ConstraintPoint p) { above_.Add(p); }  // H -> P message
  void AddBelow(ConstraintPoint p) { below_.Add(p); }  // P -> H message
  uint64_t above_count() const { return above_.count; }
  uint64_t below_count() const { return below_.count; }
  // Lower hull of the above points / upper hull of the below points, by
  // increasing x, one vertex per x.
  std::vector<ConstraintPoint> AboveHull() const { return above_.Hull(); }
  std::vector<ConstraintPoint> BelowHull() const { return below_.Hull(); }

 private:
  struct Half {
    explicit Half(bool lower) : lower(lower) {}
    void Add(ConstraintPoint p);
    std::vector<ConstraintPoint> Hull() const;
    bool lower;
    uint64_t count = 0;
    std::vector<ConstraintPoint> hull, pending;
  };
  Half above_{true}, below_{false};
};

// t' = t + drift * (t - x0) + offset, x0 implied by the caller.
struct LinearMap {
  double drift = 0;
  double offset = 0;
};
// a after b (b maps A -> B, a maps B -> C: the result maps A -> C).
LinearMap Compose(const LinearMap& a, const LinearMap& b);
LinearMap Invert(const LinearMap& m);
// The same map as t' = slope * t + offset_ns, exact at x0 to well below a
// nanosecond: the offset is computed for the slope as rounded to a double.
void ToSlopeOffset(const LinearMap& m, int64_t x0, double* slope,
                   double* offset_ns);

struct ClockFit {
  enum Kind : uint8_t {
    kNone,             // no message
    kOneDirection,     // one direction only: pure offset at its bound
    kInconsistent,     // no feasible line: pure-offset compromise
    kOffset,           // both directions, pure offset (drift undetermined)
    kDrift,            // both directions, middle of the bounded lines
    kDriftOneBounded,  // drift 0 excluded, slope bounded on one side only
  };
  Kind kind = kNone;
  LinearMap map;           // H -> P
  double accuracy_ns = 0;  // half-width of feasible offsets at x0; 0 unknown
  double drift_min = 0;    // feasible drifts (+-inf when unbounded); only
  double drift_max = 0;    // set when both directions are consistent
  uint64_t above = 0, below = 0;
  // Both directions, consistent, and bounded: "accurate".
  bool accurate() const { return kind == kOffset || kind == kDrift; }
};

struct FitOptions {
  // Feasible drift half-width above which drift 0, when feasible, is kept.
  double max_drift_uncertainty = 1e-6;
};

ClockFit FitClock(const ConstraintHulls& hulls, int64_t x0,
                  const FitOptions& options = {});

// "none", "one direction", "inconsistent", "offset", "drift",
// "drift (one bound)".
const char* FitKindName(ClockFit::Kind kind);

}  // namespace vmtrace::sync

#endif  // VMTRACE_ANALYSES_SYNC_CLOCK_FIT_H_
