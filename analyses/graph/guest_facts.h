// Internal to the critical path (critical_path.cc): what the VM model's
// store and the execution graph say about guest processes, as the walker
// asks it. Not a public API.
#ifndef VMTRACE_ANALYSES_GRAPH_GUEST_FACTS_H_
#define VMTRACE_ANALYSES_GRAPH_GUEST_FACTS_H_

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "analyses/graph/critical_path.h"
#include "analyses/vm/vm_layout.h"

namespace vmtrace::graph::internal {

inline bool IsWait(int64_t s) {
  return s >= vm::kWaitTimer && s <= vm::kWaitUnknown;
}

// An interval of a process row: [start, end), a vm_layout.h state.
struct Iv {
  int64_t start, end, state;
};
// A row as the walker reads it: a deque, so that a row as long as the trace
// grows in chunks instead of being copied at each doubling (peak RSS).
using IvList = std::deque<Iv>;

class GuestFacts {
 public:
  static constexpr int64_t kRowSliceNs = int64_t{1} << 30;  // ~1 s

  GuestFacts(const ExecGraph& g, const storage::StateHistory* vm,
             const vm::VmOptions* vectors)
      : g_(g), vm_(vm), vectors_(vectors) {}

  // A timer vector of w's VM (the vector configuration's, else Linux's).
  bool Timer(const WorkerId& w, int64_t vector) const {
    static const vm::VmOptions kDefaults;
    return vm::IsTimerVector(vectors_ != nullptr ? *vectors_ : kDefaults,
                             g_.hosts[w.host], w.id, vector);
  }

  // The VM-model row of a guest process over [a, b), consecutive equal
  // states merged. An L1 process entered in nested mode right after an L2
  // entry counts as L2 there (vm-semantics §5.2): its runs then appear on a
  // row of the same CR3 under the nested VM; they are laid over the L1
  // row's off periods, since an L1 CR3 is not an L2 process's.
  StatusOr<IvList> Row(const WorkerId& w, int64_t a, int64_t b) {
    auto own = RawRow(w, a, b);
    if (!own.ok() || w.kind != WorkerId::kGuest) return own;
    auto nested =
        vm_->Find({g_.hosts[w.host], "VMs", std::to_string(w.id), "Nested"});
    if (!nested) return own;
    for (storage::Quark n : vm_->Children(*nested)) {
      WorkerId l2 = w;
      l2.kind = WorkerId::kL2;
      l2.hcr3 = std::strtoull(vm_->Name(n).c_str(), nullptr, 16);
      if (l2.hcr3 == w.cr3) continue;
      auto ph = RawRow(l2, a, b);
      if (!ph.ok()) continue;
      IvList runs;
      for (const Iv& iv : *ph) {
        if (iv.state == vm::kRunning || iv.state == vm::kVcpuHypervisor ||
            iv.state == vm::kVcpuPreempted) {
          runs.push_back(iv);
        }
      }
      if (!runs.empty()) *own = Overlay(*own, runs);
    }
    return own;
  }

  // `base` with `runs` (sorted, disjoint) replacing its off periods.
  static IvList Overlay(const IvList& base, const IvList& runs) {
    IvList out;
    auto push = [&out](int64_t s, int64_t e, int64_t st) {
      if (s >= e) return;
      if (!out.empty() && out.back().state == st && out.back().end == s) {
        out.back().end = e;
      } else {
        out.push_back({s, e, st});
      }
    };
    size_t r = 0;
    for (const Iv& iv : base) {
      if (!IsWait(iv.state) && iv.state != vm::kProcessUnknown) {
        push(iv.start, iv.end, iv.state);
        continue;
      }
      int64_t t = iv.start;
      while (r < runs.size() && runs[r].end <= t) ++r;
      for (size_t k = r; k < runs.size() && runs[k].start < iv.end; ++k) {
        const int64_t s = std::max(runs[k].start, t);
        const int64_t e = std::min(runs[k].end, iv.end);
        if (s >= e) continue;
        push(t, s, iv.state);
        push(s, e, runs[k].state);
        t = e;
      }
      push(t, iv.end, iv.state);
    }
    return out;
  }

  // The VM store's path of the processes of w's VM (or nested VM).
  std::vector<std::string> ProcessesPath(const WorkerId& w) const {
    std::vector<std::string> path = {g_.hosts[w.host], "VMs",
                                     std::to_string(w.id)};
    if (w.kind == WorkerId::kL2) {
      path.push_back("Nested");
      path.push_back(Cr3Text(w.hcr3));
    }
    path.push_back("Processes");
    return path;
  }

  // Calls f(cr3 bound to, its worker, wake) for the wakes injected in
  // (g0, g1) into any process of w's VM, by process then time; f returns
  // false to go to the next process.
  template <typename F>
  void ForWakes(const WorkerId& w, int64_t g0, int64_t g1, F f) const {
    for (auto it = g_.guests.lower_bound({w.host, w.id, 0});
         it != g_.guests.end() && it->first.host == w.host &&
         it->first.pid == w.id;
         ++it) {
      const auto& ws = it->second.wakes;
      auto x = std::lower_bound(
          ws.begin(), ws.end(), g0,
          [](const GuestWake& a, int64_t t) { return a.inj_ts <= t; });
      for (; x != ws.end() && x->inj_ts < g1; ++x) {
        if (!f(it->first.cr3, it->second, *x)) break;
      }
    }
  }

  StatusOr<IvList> RawRow(const WorkerId& w, int64_t a, int64_t b) {
    if (vm_ == nullptr) return NotFound("no VM store for guest workers");
    std::vector<std::string> path = ProcessesPath(w);
    path.push_back(Cr3Text(w.cr3));
    auto q = vm_->Find(path);
    if (!q) return NotFound("no guest process " + WorkerLabel(g_, w));
    auto span = vm_->FirstLast(*q);
    if (!span.ok()) return span.status();
    IvList out;
    if (!*span) return out;
    // Read in slices of kRowSliceNs: a whole row at once was a vector of
    // 72-byte StateIntervals as long as the trace (864 MiB for a guest
    // process of the 100M-event demo) beside its 24-byte copy. An interval
    // over a slice edge comes in both slices and is merged back below.
    const int64_t lo = std::max(a, (*span)->first.start);
    const int64_t hi = std::min(b, (*span)->second.end + 1);
    for (int64_t c = lo; c < hi;) {
      const int64_t d = hi - c > kRowSliceNs ? c + kRowSliceNs : hi;
      auto ivs = vm_->QueryRange(*q, c, d - 1);
      if (!ivs.ok()) return ivs.status();
      for (const auto& iv : *ivs) {
        if (iv.value.is_null()) continue;
        int64_t s = std::max(iv.start, c), e = std::min(iv.end + 1, d);
        if (s >= e) continue;
        if (!out.empty() && out.back().state == iv.value.i &&
            out.back().end == s) {
          out.back().end = e;
        } else {
          out.push_back({s, e, iv.value.i});
        }
      }
      c = d;
    }
    return out;
  }

  // The latest wake-up of `w` injected in [g0, g1]; for an L2 process also
  // those bound to its L1 hypervisor (entered first after the injection).
  const GuestWake* LatestWake(const WorkerId& w, int64_t g0, int64_t g1) {
    const GuestWake* best = nullptr;
    auto look = [&](uint64_t cr3) {
      const GuestWorker* gw = g_.Guest({w.host, w.id, cr3});
      if (gw == nullptr) return;
      auto it = std::upper_bound(
          gw->wakes.begin(), gw->wakes.end(), g1,
          [](int64_t t, const GuestWake& x) { return t < x.inj_ts; });
      if (it == gw->wakes.begin() || (it - 1)->inj_ts < g0) return;
      if (best == nullptr || (it - 1)->inj_ts > best->inj_ts) best = &*(it - 1);
    };
    look(w.cr3);
    if (w.kind == WorkerId::kL2) look(w.hcr3);
    return best;
  }

  // The process of w's VM (or nested VM) and vCPU, not an L1 hypervisor,
  // whose last RUNNING in (g0, g1] ends latest: `who` and that end.
  bool LastOnVcpu(const WorkerId& w, int64_t g0, int64_t g1, WorkerId* who,
                  int64_t* end) {
    const int64_t vcpu = VcpuOf(w, g1);
    if (vm_ == nullptr || vcpu < 0) return false;
    std::vector<std::string> path = ProcessesPath(w);
    auto parent = vm_->Find(path);
    if (!parent) return false;
    bool found = false;
    for (storage::Quark q : vm_->Children(*parent)) {
      WorkerId o = w;
      o.cr3 = std::strtoull(vm_->Name(q).c_str(), nullptr, 16);
      if (o.cr3 == w.cr3) continue;
      const GuestWorker* gw = g_.Guest({w.host, w.id, o.cr3});
      if (gw != nullptr && !gw->hyp_entries.empty()) continue;
      auto row = RawRow(o, g0, g1 + 1);
      if (!row.ok()) continue;
      int64_t last = -1;
      for (const Iv& iv : *row) {
        if (iv.state == vm::kRunning && iv.end > g0)
          last = std::min(iv.end, g1);
      }
      if (last <= g0 || (found && last <= *end)) continue;
      if (VcpuOf(o, last - 1) != vcpu) continue;
      *who = o;
      *end = last;
      found = true;
    }
    return found;
  }

  // The vCPU id the VM model gives `w` at `t` (a process is pinned to the
  // vCPU it was last named on), -1 if unknown.
  int64_t VcpuOf(const WorkerId& w, int64_t t) {
    std::vector<std::string> path = ProcessesPath(w);
    path.push_back(Cr3Text(w.cr3));
    path.push_back("vCPU");
    auto q = vm_ != nullptr ? vm_->Find(path) : std::nullopt;
    if (!q) return -1;
    // Callers ask when `w` runs (named on its vCPU): one point query; else
    // the last value of the preceding second.
    auto at = vm_->QuerySampled({*q}, {t});
    if (at.ok() && !at->empty() && !(*at)[0].value.is_null()) {
      return (*at)[0].value.i;
    }
    auto ivs = vm_->QueryRange(*q, std::max(g_.begin, t - 1'000'000'000), t);
    if (!ivs.ok()) return -1;
    for (auto it = ivs->rbegin(); it != ivs->rend(); ++it) {
      if (!it->value.is_null()) return it->value.i;
    }
    return -1;
  }

  // The first disk / net completion injected into w's vCPU in (g0, g1),
  // bound to any process of w's VM; null if none.
  const GuestWake* FirstDeviceWake(const WorkerId& w, int64_t g0, int64_t g1) {
    const int64_t vcpu = VcpuOf(w, g1);
    if (vcpu < 0) return nullptr;
    const GuestWake* best = nullptr;
    ForWakes(w, g0, g1, [&](uint64_t, const GuestWorker&, const GuestWake& x) {
      if (x.vcpu != vcpu || x.device == Cause::kUnknown) return true;
      if (best == nullptr || x.inj_ts < best->inj_ts) best = &x;
      return false;
    });
    return best;
  }

  // The latest IPI in (g0, g1) into w's vCPU bound to another process that
  // kept running (GuestWake::kept); `bound`: that process's CR3.
  const GuestWake* UnswitchedIpi(const WorkerId& w, int64_t g0, int64_t g1,
                                 uint64_t* bound) {
    const int64_t vcpu = VcpuOf(w, g1);
    if (vcpu < 0) return nullptr;
    const GuestWake* best = nullptr;
    ForWakes(w, g0, g1,
             [&](uint64_t cr3, const GuestWorker& gw, const GuestWake& x) {
               if (cr3 == w.cr3) return false;
               // Held by an L1 hypervisor that resumed L2 (graph_model.h):
               // for w if its sender is a process of w's level.
               const bool hyp = !gw.hyp_entries.empty();
               if ((x.kept || (hyp && SameLevel(w, x.waker_cr3))) && x.ipi &&
                   x.vcpu == vcpu &&
                   (best == nullptr || x.inj_ts > best->inj_ts)) {
                 best = &x;
                 *bound = cr3;
               }
               return true;
             });
    return best;
  }

  // True if `cr3` names a process of w's VM at w's level (an L1 process
  // for an L1 worker, an L2 process of the same nested VM for an L2 one).
  bool SameLevel(const WorkerId& w, uint64_t cr3) const {
    if (vm_ == nullptr) return false;
    std::vector<std::string> path = ProcessesPath(w);
    path.push_back(Cr3Text(cr3));
    return vm_->Find(path).has_value();
  }

  // The latest timer-vector wake in (g0, g1) bound to another process of
  // w's VM and vCPU that kept running (GuestWake::kept), or with
  // `hypervisor`, bound to an L1 hypervisor.
  const GuestWake* UnswitchedTimer(const WorkerId& w, int64_t g0, int64_t g1,
                                   bool hypervisor, uint64_t* bound = nullptr) {
    const int64_t vcpu = VcpuOf(w, g1);
    if (vcpu < 0) return nullptr;
    const GuestWake* best = nullptr;
    ForWakes(w, g0, g1,
             [&](uint64_t cr3, const GuestWorker& gw, const GuestWake& x) {
               const bool hyp = !gw.hyp_entries.empty();
               if (cr3 == w.cr3 || hyp != hypervisor) return false;
               if ((x.kept || hyp) && x.vcpu == vcpu && !x.ipi &&
                   x.device == Cause::kUnknown && Timer(w, x.vector) &&
                   (best == nullptr || x.inj_ts > best->inj_ts)) {
                 best = &x;
                 if (bound != nullptr) *bound = cr3;
               }
               return true;
             });
    return best;
  }

 private:
  const ExecGraph& g_;
  const storage::StateHistory* vm_;
  const vm::VmOptions* vectors_;
};

}  // namespace vmtrace::graph::internal

#endif  // VMTRACE_ANALYSES_GRAPH_GUEST_FACTS_H_
