#include "analyses/stats/vm_exits.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "analyses/stats/buckets.h"

namespace vmtrace::stats {

namespace {

// Today's exit rule over a vCPU's intervals fed in time order; an exit opens
// only when its first HYPERVISOR interval starts in [a, b].
class ExitScan {
 public:
  ExitScan(int64_t a, int64_t b, const Window& w,
           const std::vector<StateInterval>* reasons, std::vector<Exit>* out)
      : a_(a), b_(b), w_(w), reasons_(reasons), out_(out) {}

  void Feed(const StateInterval& iv) {
    if (IsInt(iv, vm::kHypervisor)) {
      // The state before an exit is the guest's, with no gap: the history
      // partitions time per attribute.
      if (prev_ && IsGuest(prev_->value) && prev_->end + 1 == iv.start &&
          iv.start >= a_ && iv.start <= b_) {
        if (open_) out_->push_back(*open_);
        open_ = Exit{iv.start, -1, IsInt(*prev_, vm::kGuestL2), 0};
        const auto& r = *reasons_;
        while (j_ < r.size() && r[j_].end < iv.start) ++j_;
        if (j_ < r.size() && r[j_].Contains(iv.start) &&
            r[j_].value.kind == storage::StateValue::kInt) {
          open_->reason = r[j_].value.i;
        }
      }
      if (open_) open_->ns += Clipped(iv, w_);
    } else if (IsGuest(iv.value)) {
      if (open_) out_->push_back(*open_);
      open_.reset();
    }
    prev_iv_ = iv;
    prev_ = &prev_iv_;
  }
  bool open() const { return open_.has_value(); }
  void Finish() {
    if (open_) out_->push_back(*open_);
    open_.reset();
  }

 private:
  int64_t a_, b_;
  Window w_;
  const std::vector<StateInterval>* reasons_;
  std::vector<Exit>* out_;
  size_t j_ = 0;
  std::optional<Exit> open_;
  StateInterval prev_iv_;
  const StateInterval* prev_ = nullptr;
};

}  // namespace

StatusOr<std::vector<Exit>> CollectExits(const StateHistory& h,
                                         const VcpuRef& v, int64_t t1,
                                         int64_t t2, const Window& w) {
  std::vector<Exit> out;
  VMTRACE_ASSIGN_OR_RETURN(auto states, h.QueryRange(v.q, t1, t2));
  std::vector<StateInterval> reasons;
  if (auto eq = h.Child(v.q, "Exit")) {
    VMTRACE_ASSIGN_OR_RETURN(reasons, h.QueryRange(*eq, t1, t2));
  }
  ExitScan scan(std::numeric_limits<int64_t>::min(),
                std::numeric_limits<int64_t>::max(), w, &reasons, &out);
  for (const auto& iv : states) scan.Feed(iv);
  scan.Finish();
  return out;
}

StatusOr<std::vector<Exit>> ExitsStartingIn(const StateHistory& h,
                                            const VcpuRef& v, int64_t a,
                                            int64_t b, const Window& w,
                                            bool whole) {
  std::vector<Exit> out;
  if (b < a) return out;
  // From one ns early, so an exit at a sees the guest interval before it.
  const int64_t from = a > std::numeric_limits<int64_t>::min() ? a - 1 : a;
  VMTRACE_ASSIGN_OR_RETURN(auto states, h.QueryRange(v.q, from, b));
  std::vector<StateInterval> reasons;
  auto eq = h.Child(v.q, "Exit");
  if (eq && whole) {
    VMTRACE_ASSIGN_OR_RETURN(reasons, h.QueryRange(*eq, a, b));
  }
  ExitScan scan(a, b, w, &reasons, &out);
  int64_t last_start = std::numeric_limits<int64_t>::min();
  int64_t next = b;  // the first instant not read yet, minus one
  for (const auto& iv : states) {
    scan.Feed(iv);
    last_start = iv.start;
    next = std::max(next, iv.end);
  }
  // The last exit lasts until the next guest entry: read on past b, in
  // growing steps, until it or the end of the window.
  for (int64_t step = int64_t(1) << 16;
       whole && scan.open() && next < w.end &&
       next < std::numeric_limits<int64_t>::max();
       step = std::min<int64_t>(step * 4, int64_t(1) << 40)) {
    const int64_t t1 = next + 1;
    const int64_t t2 = t1 > w.end - step ? w.end : t1 + step;
    VMTRACE_ASSIGN_OR_RETURN(auto more, h.QueryRange(v.q, t1, t2));
    for (const auto& iv : more) {
      if (iv.start <= last_start) continue;  // fed already
      scan.Feed(iv);
      last_start = iv.start;
      if (!scan.open()) break;
    }
    next = t2;
  }
  scan.Finish();
  return out;
}

StatusOr<std::map<int64_t, ExitStat>> ExitsByReason(const StateHistory& h,
                                                    const VmRef& vm,
                                                    const Window& w,
                                                    int64_t* vm_total) {
  std::map<int64_t, ExitStat> by_reason;
  *vm_total = 0;
  for (const auto& v : vm.vcpus) {
    VMTRACE_ASSIGN_OR_RETURN(auto exits, CollectExits(h, v, w.start, w.end, w));
    for (const Exit& e : exits) {
      ExitStat& s = by_reason[e.reason];
      ++s.count;
      s.from_l2 += e.from_l2 ? 1 : 0;
      s.total += e.ns;
      s.max = std::max(s.max, e.ns);
      *vm_total += e.ns;
    }
  }
  return by_reason;
}

StatusOr<std::vector<double>> ExitCounts(const StateHistory& h,
                                         const std::vector<VcpuRef>& vcpus,
                                         const std::vector<int64_t>& times) {
  std::vector<double> acc(times.size(), 0.0);
  if (times.empty()) return acc;
  // Unclipped: the buckets bound what is counted.
  const Window all{std::numeric_limits<int64_t>::min(),
                   std::numeric_limits<int64_t>::max()};
  for (const auto& v : vcpus) {
    // From one ns early, so an exit at times.front() sees the guest
    // interval before it.
    VMTRACE_ASSIGN_OR_RETURN(
        auto exits, CollectExits(h, v, times.front() - 1, times.back(), all));
    for (const Exit& e : exits) CountInBucket(e.start, times, &acc);
  }
  return acc;
}

}  // namespace vmtrace::stats
