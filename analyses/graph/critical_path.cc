// Critical path walk (c.3 bounded, with the HEC guest rules of the header).
#include "analyses/graph/critical_path.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "analyses/graph/guest_facts.h"
#include "analyses/vm/vm_layout.h"

namespace vmtrace::graph {
namespace {

constexpr int kMaxDepth = 48;
constexpr int64_t kLazyIdleNs = 20000;  // kick -> HLT idle run bound

Cause WaitCause(int64_t state) {
  switch (state) {
    case vm::kWaitTimer:
      return Cause::kTimer;
    case vm::kWaitDisk:
      return Cause::kBlockDevice;
    case vm::kWaitNet:
      return Cause::kNetwork;
    case vm::kWaitTask:
      return Cause::kPreempted;
    default:
      return Cause::kBlocked;
  }
}

using internal::GuestFacts;
using internal::IsWait;
using internal::Iv;
using internal::IvList;

class Walker {
 public:
  Walker(const ExecGraph& g, const storage::StateHistory* vm,
         const PathOptions& options, uint32_t owner)
      : g_(g),
        facts_(g, vm, options.vectors),
        clocks_(options.clocks),
        owner_(owner) {}

  Status Walk(const WorkerId& w, int64_t a, int64_t b, int depth) {
    if (a >= b) return Status::Ok();
    const size_t mark = cp_.segments.size();
    Status st = w.kind == WorkerId::kHostThread ? WalkThread(w, a, b, depth)
                                                : WalkGuest(w, a, b, depth);
    if (st.ok() || st.code() != StatusCode::kNotFound || depth == 0) {
      return st;
    }
    // A waker the graph or the VM store does not know (a thread never
    // switched in the trace, say): its part of the path is UNKNOWN rather
    // than the whole path an error.
    Truncate(mark, a, w.host);
    Emit(w, a, b, Cause::kUnknown, Layer::kL0);
    return Status::Ok();
  }

  CriticalPath Take() { return std::move(cp_); }

 private:
  // `t` of host `from` in the clock of host `to`.
  int64_t Conv(uint32_t from, uint32_t to, int64_t t) const {
    if (from == to || clocks_ == nullptr) return t;
    return clocks_->FromReference(g_.hosts[to],
                                  clocks_->ToReference(g_.hosts[from], t));
  }

  // [s, e) in the clock of host `clock` (w's own unless said).
  void Emit(const WorkerId& w, int64_t s, int64_t e, Cause c, Layer l) {
    Emit(w, s, e, c, l, w.host);
  }
  void Emit(const WorkerId& w, int64_t s, int64_t e, Cause c, Layer l,
            uint32_t clock) {
    if (s >= e) return;
    s = Conv(clock, owner_, s);
    e = Conv(clock, owner_, e);
    if (!cp_.segments.empty()) {
      PathSegment& b = cp_.segments.back();
      // Two conversions of one instant may round 1 ns apart.
      if (s != b.end && s > b.end - 3 && s < b.end + 3) s = b.end;
      if (s >= e) return;
      if (b.worker == w && b.end == s && b.cause == c && b.layer == l) {
        b.end = e;
        return;
      }
    }
    cp_.segments.push_back({w, s, e, c, l});
  }

  void Arrow(const WorkerId& from, const WorkerId& to, int64_t ts, Cause c,
             uint32_t clock) {
    cp_.arrows.push_back({from, to, Conv(clock, owner_, ts), c});
  }

  // Drops what was emitted from `t` (of host `clock`) on, from segment
  // `from` on.
  void Truncate(size_t from, int64_t t, uint32_t clock) {
    t = Conv(clock, owner_, t);
    auto& s = cp_.segments;
    size_t keep = from;
    for (size_t i = from; i < s.size(); ++i) {
      if (s[i].start >= t) break;
      if (s[i].end > t) s[i].end = t;
      keep = i + 1;
    }
    s.resize(std::max(keep, std::min(from, s.size())));
  }

  // Runnable in the guest from `s` until it runs at `g1`: PREEMPTED at its
  // layer; for an L2 process, from the L1 hypervisor's entry that resumes
  // it, HYPERVISOR at L0 (L1 working for L2).
  void Ready(const WorkerId& w, int64_t s, int64_t g1, Layer layer,
             bool first_seen = false) {
    int64_t x = g1;
    if (w.kind == WorkerId::kL2) {
      if (const GuestWorker* h = g_.Guest({w.host, w.id, w.hcr3})) {
        auto it =
            std::lower_bound(h->hyp_entries.begin(), h->hyp_entries.end(), s);
        if (it != h->hyp_entries.end() && *it < g1) x = *it;
        if (first_seen) x = s;
      }
    }
    Emit(w, s, x, Cause::kPreempted, layer);
    Emit(w, std::max(s, x), g1, Cause::kHypervisor, Layer::kL0);
  }

  // A wait [g0, g1) of `w` ended by a packet a guest process sent (header).
  Status NetWait(const WorkerId& w, int64_t g0, int64_t g1,
                 const GuestWake& wake, Layer layer, int depth) {
    const uint32_t sh = static_cast<uint32_t>(wake.net_host);
    const WorkerId snd{WorkerId::kGuest, sh, wake.net_pid, 0, wake.net_cr3};
    const int64_t inj = std::clamp(wake.inj_ts, g0, g1);
    const int64_t acc = std::clamp(wake.accept_ts(), g0, inj);
    int64_t k = std::clamp(Conv(sh, w.host, wake.net_kick_ts), g0, acc);
    if (k > g0 && depth < kMaxDepth && !(snd == w) &&
        g_.Guest({sh, snd.id, snd.cr3}) != nullptr) {
      Status st =
          Walk(snd, Conv(w.host, sh, g0), Conv(w.host, sh, k), depth + 1);
      if (!st.ok()) return st;
    } else {
      k = g0;
    }
    const WorkerId hop{WorkerId::kNetwork, sh, wake.net_pid, w.host,
                       static_cast<uint64_t>(w.id)};
    // Arrows: the sender's kick into the hop (when the sender is on the
    // path), the hop into the receiver when its vhost accepted the packet.
    if (k > g0) Arrow(snd, hop, k, Cause::kNetwork, w.host);
    Arrow(hop, w, acc, Cause::kNetwork, w.host);
    Emit(hop, k, acc, Cause::kNetwork, Layer::kL0, w.host);
    Emit(w, acc, inj, Cause::kNetwork, layer);
    Ready(w, inj, g1, layer);
    return Status::Ok();
  }

  // True if `wake` is an IPI another known guest process of w's level
  // sent (an IPI an L1 process sends to a vCPU running L2 is for L1).
  bool IpiFrom(const WorkerId& w, const GuestWake* wake, int depth) const {
    return wake != nullptr && wake->ipi && wake->waker_cr3 != w.cr3 &&
           depth < kMaxDepth && facts_.SameLevel(w, wake->waker_cr3);
  }

  // Another vCPU's process sent an IPI: its path, then IPI until injected.
  Status IpiWait(const WorkerId& w, int64_t g0, int64_t g1,
                 const GuestWake& wake, Layer layer, int depth) {
    WorkerId waker = w;
    waker.cr3 = wake.waker_cr3;
    const int64_t inj = std::clamp(wake.inj_ts, g0, g1);
    const int64_t wt = std::clamp(wake.wake_ts(), g0, inj);
    Status st = Walk(waker, g0, wt, depth + 1);
    if (!st.ok()) return st;
    Arrow(waker, w, wt, Cause::kIpi, w.host);
    Emit(w, wt, inj, Cause::kIpi, layer);
    Ready(w, inj, g1, layer);
    return Status::Ok();
  }

  // A WAIT_TASK off period [g0, g1) of `w`: who made it runnable.
  Status TaskWait(const WorkerId& w, int64_t g0, int64_t g1,
                  const GuestWake* wake, Layer layer, int depth) {
    if (IpiFrom(w, wake, depth)) return IpiWait(w, g0, g1, *wake, layer, depth);
    if (wake != nullptr && wake->net_host >= 0) {
      return NetWait(w, g0, g1, *wake, layer, depth);
    }
    if (wake != nullptr && !wake->ipi &&
        (facts_.Timer(w, wake->vector) || wake->device != Cause::kUnknown)) {
      // Its timer / device fired while another process had the vCPU.
      Emit(w, g0, wake->inj_ts,
           wake->device != Cause::kUnknown ? wake->device : Cause::kTimer,
           layer);
      Ready(w, wake->inj_ts, g1, layer);
      return Status::Ok();
    }
    // Which explains the wake-up (host-only events cannot tell; the choice
    // and its order are the header's):
    // - kt: a timer interrupt on its vCPU that the guest did not switch on
    //   while another process ran; the process it woke runs later;
    // - the guess: no host event, a wake-up on the same vCPU by the process
    //   of w's level that ran last on w's vCPU before w runs again, when it
    //   last ran;
    // - ht: a timer the L1 hypervisor took (interrupts go to L1 first).
    // A timer bound to the guessed waker itself, or later than its last run,
    // wins over the guess; the guess wins over an earlier timer.
    uint64_t kt_cr3 = 0, ki_cr3 = 0;
    const GuestWake* kt = facts_.UnswitchedTimer(w, g0, g1, false, &kt_cr3);
    const GuestWake* ki = facts_.UnswitchedIpi(w, g0, g1, &ki_cr3);
    if (ki != nullptr && !IpiFrom(w, ki, depth)) ki = nullptr;
    WorkerId waker;
    int64_t wt = g0;
    const bool guess =
        depth < kMaxDepth && facts_.LastOnVcpu(w, g0, g1, &waker, &wt);
    auto beats_guess = [&](const GuestWake* x, uint64_t bound) {
      return x != nullptr && (!guess || bound == waker.cr3 || x->inj_ts > wt);
    };
    // An IPI the guest did not switch on, sent by another process: like kt,
    // the later of the two.
    if (beats_guess(ki, ki_cr3) &&
        (!beats_guess(kt, kt_cr3) || ki->inj_ts > kt->inj_ts)) {
      return IpiWait(w, g0, g1, *ki, layer, depth);
    }
    if (beats_guess(kt, kt_cr3)) {
      Emit(w, g0, kt->inj_ts, Cause::kTimer, layer);
      Ready(w, kt->inj_ts, g1, layer);
      return Status::Ok();
    }
    const GuestWake* ht = facts_.UnswitchedTimer(w, g0, g1, true);
    if (guess && (ht == nullptr || ht->inj_ts < wt)) {
      Status st = Walk(waker, g0, wt, depth + 1);
      if (!st.ok()) return st;
      Arrow(waker, w, wt, Cause::kIpi, w.host);
      Ready(w, wt, g1, layer);
      return Status::Ok();
    }
    if (ht != nullptr) {
      Emit(w, g0, ht->inj_ts, Cause::kTimer, layer);
      Ready(w, ht->inj_ts, g1, layer);
      return Status::Ok();
    }
    Emit(w, g0, g1, Cause::kPreempted, layer);
    return Status::Ok();
  }

  Status WalkGuest(const WorkerId& w, int64_t a, int64_t b, int depth) {
    auto row = facts_.Row(w, a, b);
    if (!row.ok()) return row.status();
    const IvList& ivs = *row;
    const GuestWorker* gw = g_.Guest({w.host, w.id, w.cr3});
    const Layer layer = w.kind == WorkerId::kL2 ? Layer::kL2 : Layer::kL1;
    int64_t last_run_end = -1, stretch_start = -1;
    int64_t kick_t = -1, run_since_kick = 0;
    size_t mark = cp_.segments.size(), stretch_mark = mark;
    size_t i = 0;
    while (i < ivs.size()) {
      const Iv& iv = ivs[i];
      if (!IsWait(iv.state)) {
        if (iv.state == vm::kProcessUnknown) {
          // Not seen yet: runnable in the guest (the truth's READY) until
          // its first RUNNING; the top-level path starts when first seen,
          // an L2 process's with its L1 hypervisor working for it (it is
          // first seen right after the hypervisor's VMLAUNCH / VMRESUME).
          size_t j = i;
          while (j < ivs.size() && ivs[j].state != vm::kRunning) ++j;
          const int64_t g1 = j < ivs.size() ? ivs[j].start : b;
          Ready(w, depth == 0 ? iv.end : iv.start, g1, layer, depth == 0);
          mark = cp_.segments.size();
          i = j;
          continue;
        }
        if (stretch_start < 0) {
          stretch_start = iv.start;
          stretch_mark = cp_.segments.size();
        }
        if (iv.state == vm::kRunning) {
          // Kicked (exit 30), then only the guest's idle run (< 20 us),
          // HYPERVISOR or PREEMPTED until a device completion woke it:
          // blocked on the device from the kick.
          if (kick_t >= 0 && run_since_kick < kLazyIdleNs) {
            const GuestWake* dw = facts_.LatestWake(w, kick_t, iv.start);
            if (dw != nullptr && dw->device != Cause::kUnknown) {
              Truncate(stretch_mark, kick_t, w.host);
              Emit(w, kick_t, dw->inj_ts, dw->device, layer);
              Emit(w, dw->inj_ts, iv.start, Cause::kPreempted, layer);
              kick_t = -1;
            }
          }
          Emit(w, iv.start, iv.end, Cause::kRunning, layer);
          if (gw != nullptr &&
              std::binary_search(gw->kicks.begin(), gw->kicks.end(), iv.end)) {
            kick_t = iv.end;
            run_since_kick = 0;
          } else if (kick_t >= 0) {
            run_since_kick += iv.end - iv.start;
          }
          last_run_end = iv.end;
          mark = cp_.segments.size();
        } else if (iv.state == vm::kVcpuPreempted) {
          Emit(w, iv.start, iv.end, Cause::kPreempted, Layer::kL0);
        } else {
          Emit(w, iv.start, iv.end, Cause::kHypervisor, Layer::kL0);
        }
        ++i;
        continue;
      }
      // An off period: from the last run to the next RUNNING.
      const int64_t reason = iv.state;
      int64_t g0 = iv.start;
      if (last_run_end >= 0) {
        g0 = last_run_end;
        Truncate(mark, g0, w.host);
      }
      const bool open_at_end =
          reason == vm::kWaitUnknown && OpenAtEnd(w, ivs, i);
      size_t j = i;
      while (j < ivs.size() && ivs[j].state != vm::kRunning) ++j;
      const int64_t g1 = j < ivs.size() ? ivs[j].start : b;
      // The I/O kick its last run ended with (then only the idle run).
      int64_t kick = -1;
      if (gw != nullptr && last_run_end >= 0) {
        auto k = std::upper_bound(gw->kicks.begin(), gw->kicks.end(), g0);
        if (k != gw->kicks.begin() && *(k - 1) >= stretch_start &&
            g0 - *(k - 1) < kLazyIdleNs) {
          kick = *(k - 1);
        }
      }
      // A WAIT_TASK after a kick whose device completion was injected while
      // another process ran: blocked on the device from the kick.
      const GuestWake* dev = reason == vm::kWaitTask && kick >= 0
                                 ? facts_.FirstDeviceWake(w, kick, g1)
                                 : nullptr;
      if (kick >= 0 && (reason == vm::kWaitDisk || reason == vm::kWaitNet ||
                        open_at_end || dev != nullptr)) {
        g0 = kick;
        Truncate(stretch_mark, g0, w.host);
      }
      const GuestWake* wake = facts_.LatestWake(w, g0, g1);
      if (dev != nullptr && dev->net_host >= 0) {
        Status st = NetWait(w, g0, g1, *dev, layer, depth);
        if (!st.ok()) return st;
      } else if (dev != nullptr) {
        Emit(w, g0, dev->inj_ts, dev->device, layer);
        Ready(w, dev->inj_ts, g1, layer);
      } else if (reason == vm::kWaitTask) {
        // Only wake-ups bound to `w` itself (not its L1 hypervisor's).
        WorkerId self = w;
        self.kind = WorkerId::kGuest;
        Status st =
            TaskWait(w, g0, g1, facts_.LatestWake(self, g0, g1), layer, depth);
        if (!st.ok()) return st;
      } else if (wake != nullptr && wake->net_host >= 0) {
        Status st = NetWait(w, g0, g1, *wake, layer, depth);
        if (!st.ok()) return st;
      } else if (wake == nullptr && reason == vm::kWaitTimer &&
                 (wake = facts_.UnswitchedTimer(w, g0, g1, false)) != nullptr) {
        Emit(w, g0, wake->inj_ts, Cause::kTimer, layer);
        Ready(w, wake->inj_ts, g1, layer);
      } else if (wake == nullptr) {
        Emit(w, g0, g1, WaitCause(reason), layer);
      } else {
        Emit(w, g0, wake->inj_ts, WaitCause(reason), layer);
        Ready(w, wake->inj_ts, g1, layer);
      }
      last_run_end = -1;
      stretch_start = -1;
      kick_t = -1;
      mark = cp_.segments.size();
      i = j;
    }
    // The trace ends after a kick with only the lazy idle run since: the
    // process blocked at the kick, on what the trace does not tell.
    if (kick_t >= 0 && run_since_kick < kLazyIdleNs && !ivs.empty() &&
        w.host < g_.host_end.size() && ivs.back().end >= g_.host_end[w.host]) {
      Truncate(stretch_mark, kick_t, w.host);
      Emit(w, kick_t, ivs.back().end, Cause::kBlocked, layer);
    }
    return Status::Ok();
  }

  // True if ivs[i..] runs to the end of w's host trace with no RUNNING.
  bool OpenAtEnd(const WorkerId& w, const IvList& ivs, size_t i) {
    for (size_t j = i; j < ivs.size(); ++j) {
      if (ivs[j].state == vm::kRunning) return false;
    }
    return w.host < g_.host_end.size() && ivs.back().end >= g_.host_end[w.host];
  }

  Status WalkThread(const WorkerId& w, int64_t a, int64_t b, int depth) {
    const HostThread* t = g_.Thread(w.host, w.id);
    if (t == nullptr) return NotFound("no host thread " + WorkerLabel(g_, w));
    const auto& e = t->edges;
    auto it = std::upper_bound(
        e.begin(), e.end(), a,
        [](int64_t ts, const HostEdge& x) { return ts < x.ts; });
    if (it != e.begin()) --it;
    for (; it != e.end() && it->ts < b; ++it) {
      const int64_t s = std::max(it->ts, a);
      const int64_t en = std::min(it + 1 == e.end() ? b : (it + 1)->ts, b);
      if (s >= en) continue;
      if (it->cause != Cause::kBlocked || it + 1 == e.end() ||
          depth >= kMaxDepth) {
        Emit(w, s, en, it->cause, Layer::kL0);
        continue;
      }
      // Who woke it at the end of the blocked interval.
      const int64_t wake_ts = (it + 1)->ts;
      auto hw = std::lower_bound(
          g_.host_wakes.begin(), g_.host_wakes.end(), wake_ts,
          [](const HostWake& x, int64_t ts) { return x.ts < ts; });
      const HostWake* found = nullptr;
      for (; hw != g_.host_wakes.end() && hw->ts == wake_ts; ++hw) {
        if (hw->wakee == w.id) found = &*hw;
      }
      if (found == nullptr || found->waker == w.id) {
        Emit(w, s, en, Cause::kBlocked, Layer::kL0);
        continue;
      }
      WorkerId waker = w;
      waker.id = found->waker;
      Status st = Walk(waker, s, en, depth + 1);
      if (!st.ok()) return st;
      Arrow(waker, w, en, Cause::kRunning, w.host);
    }
    return Status::Ok();
  }

  const ExecGraph& g_;
  GuestFacts facts_;
  const sync::ClockSync* clocks_;
  uint32_t owner_;
  CriticalPath cp_;
};

}  // namespace

std::string Cr3Text(uint64_t cr3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx",
                static_cast<unsigned long long>(cr3));
  return buf;
}

std::string WorkerLabel(const ExecGraph& g, const WorkerId& w) {
  std::string h = w.host < g.hosts.size() ? g.hosts[w.host] : "?";
  switch (w.kind) {
    case WorkerId::kHostThread:
      return h + "/" + std::to_string(w.id);
    case WorkerId::kGuest:
      return h + "/" + std::to_string(w.id) + "/" + Cr3Text(w.cr3);
    case WorkerId::kL2:
      return h + "/" + std::to_string(w.id) + "/" + Cr3Text(w.hcr3) + "/" +
             Cr3Text(w.cr3);
    case WorkerId::kNetwork: {
      std::string to = w.hcr3 < g.hosts.size() ? g.hosts[w.hcr3] : "?";
      return "network " + h + "/" + std::to_string(w.id) + " -> " + to + "/" +
             std::to_string(w.cr3);
    }
  }
  return h;
}

StatusOr<CriticalPath> ComputeCriticalPath(const ExecGraph& g,
                                           const storage::StateHistory* vm,
                                           const WorkerId& w, int64_t start,
                                           int64_t end, PathOptions options) {
  if (w.host >= g.hosts.size()) return InvalidArgument("unknown host");
  if (w.kind == WorkerId::kNetwork) {
    return InvalidArgument("a network hop has no path of its own");
  }
  Walker walker(g, vm, options, w.host);
  Status st = walker.Walk(w, start, end, 0);
  if (!st.ok()) return st;
  return walker.Take();
}

Status FindWorker(const ExecGraph& g, const storage::StateHistory* vm,
                  const WorkerId& w) {
  if (w.host >= g.hosts.size()) return InvalidArgument("unknown host");
  switch (w.kind) {
    case WorkerId::kHostThread:
      if (g.Thread(w.host, w.id) == nullptr) {
        return NotFound("no host thread " + WorkerLabel(g, w));
      }
      return Status::Ok();
    case WorkerId::kGuest:
    case WorkerId::kL2: {
      if (vm == nullptr) return NotFound("no VM store for guest workers");
      std::vector<std::string> path =
          internal::GuestFacts(g, vm, nullptr).ProcessesPath(w);
      path.push_back(Cr3Text(w.cr3));
      if (!vm->Find(path)) {
        return NotFound("no guest process " + WorkerLabel(g, w));
      }
      return Status::Ok();
    }
    case WorkerId::kNetwork:
      break;
  }
  return InvalidArgument("a network hop has no path of its own");
}

}  // namespace vmtrace::graph
