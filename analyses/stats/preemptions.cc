#include "analyses/stats/preemptions.h"

#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace vmtrace::stats {
namespace {

bool IsOn(const storage::StateValue& v) {
  return v.kind == storage::StateValue::kInt &&
         (v.i == vm::kRunning || v.i == vm::kVcpuHypervisor ||
          v.i == vm::kVcpuPreempted);
}

// Reads process rows once and answers "how long was it off from t".
class OffTimes {
 public:
  // Lookups at instants in [t1, t2].
  OffTimes(const StateHistory& h, const Window& w, int64_t t1, int64_t t2)
      : h_(h), w_(w), t1_(t1), t2_(t2) {}
  // The displaced row q's off (WAIT_*) interval holding t, from t to its
  // end; 0 if q is not waiting at t.
  StatusOr<int64_t> From(Quark q, int64_t t) {
    auto it = rows_.find(q);
    if (it == rows_.end()) {
      VMTRACE_ASSIGN_OR_RETURN(auto ivs, h_.QueryRange(q, t1_, t2_));
      it = rows_.emplace(q, std::move(ivs)).first;
    }
    const auto& ivs = it->second;
    auto p = std::upper_bound(
        ivs.begin(), ivs.end(), t,
        [](int64_t x, const StateInterval& iv) { return x < iv.start; });
    if (p == ivs.begin()) return 0;
    --p;
    if (!p->Contains(t) || !IsWait(p->value)) return 0;
    StateInterval rest = *p;
    rest.start = t;
    return Clipped(rest, w_);
  }

 private:
  const StateHistory& h_;
  Window w_;
  int64_t t1_, t2_;
  std::map<Quark, std::vector<StateInterval>> rows_;
};

// Process <-> process switches on one L1 vCPU (rules in preemptions.h):
// replays its intervals starting in [from, b] from `st`, reports the
// switches at instants in [a, b].
Status ProcessSwitches(const StateHistory& h, const VmRef& vm,
                       const std::vector<StateInterval>& states, Quark cr3q,
                       int64_t from, int64_t a, int64_t b, OffTimes* off,
                       SwitchState* st, std::vector<Preemption>* out) {
  std::map<std::string, Quark> l1;  // cr3 -> process row
  for (const auto& p : vm.processes) l1[p.cr3] = p.q;
  std::map<std::string, Quark> l2;
  std::set<std::string> hypervisors;
  for (const auto& n : vm.nested) {
    hypervisors.insert(n.cr3);
    for (const auto& p : n.processes) l2[p.cr3] = p.q;
  }
  VMTRACE_ASSIGN_OR_RETURN(auto cr3s, h.QueryRange(cr3q, from, b));
  std::string& cur_l1 = st->cur_l1;
  std::string& cur_l2 = st->cur_l2;
  // "Idle since the current CR3 was named or last ran": a switch after an
  // idle period is the guest waking up, not a preemption (§4).
  bool& idle_l1 = st->idle_l1;
  bool& idle_l2 = st->idle_l2;
  auto displaced = [&](const std::map<std::string, Quark>& rows,
                       const std::string& cr3, int64_t t) -> Status {
    if (t < a) return Status::Ok();  // replayed, not reported
    int64_t ns = 0;
    if (auto r = rows.find(cr3); r != rows.end()) {
      VMTRACE_ASSIGN_OR_RETURN(ns, off->From(r->second, t));
    }
    out->push_back({kProcess, t, ns});
    return Status::Ok();
  };
  // Intervals that started before `from` were replayed already.
  size_t i = 0, j = 0;
  while (i < states.size() && states[i].start < from) ++i;
  while (j < cr3s.size() && cr3s[j].start < from) ++j;
  while (i < states.size() || j < cr3s.size()) {
    // At one instant the CR3 change comes first: it is named before the
    // entry that runs it.
    if (j < cr3s.size() &&
        (i >= states.size() || cr3s[j].start <= states[i].start)) {
      const StateInterval& c = cr3s[j++];
      if (c.value.kind != storage::StateValue::kString || c.value.s.empty()) {
        continue;
      }
      const std::string& x = c.value.s;
      if (l2.count(x)) {
        if (!cur_l2.empty() && x != cur_l2 && !idle_l2) {
          VMTRACE_RETURN_IF_ERROR(displaced(l2, cur_l2, c.start));
        }
        cur_l2 = x;
        idle_l2 = false;
      } else {
        if (!cur_l1.empty() && x != cur_l1 && !idle_l1) {
          VMTRACE_RETURN_IF_ERROR(displaced(l1, cur_l1, c.start));
        }
        if (x != cur_l1) idle_l1 = false;
        cur_l1 = x;
        // Another L1 process than a hypervisor ends nested mode (§5.3).
        if (!hypervisors.count(x)) cur_l2.clear();
      }
      continue;
    }
    const StateInterval& s = states[i++];
    if (IsWait(s.value)) {
      idle_l1 = idle_l2 = true;
    } else if (IsInt(s, vm::kGuest)) {
      idle_l1 = false;
    } else if (IsInt(s, vm::kGuestL2)) {
      idle_l2 = false;
    }
  }
  return Status::Ok();
}

// Thread <-> thread switches inside one guest process, at instants in
// [a, b] (each needs only the interval before it).
Status ThreadSwitches(const StateHistory& h, const ProcessRef& p, int64_t a,
                      int64_t b, const Window& w,
                      std::vector<Preemption>* out) {
  auto tq = h.Child(p.q, "Threads");
  if (!tq) return Status::Ok();
  std::multimap<int64_t, size_t> on;  // instant -> thread coming on
  std::multimap<int64_t, std::pair<size_t, int64_t>> off;  // -> (thread, ns)
  size_t idx = 0;
  const int64_t before = a > std::numeric_limits<int64_t>::min() ? a - 1 : a;
  for (Quark t : h.Children(*tq)) {
    VMTRACE_ASSIGN_OR_RETURN(auto ivs, h.QueryRange(t, before, b));
    for (size_t k = 0; k < ivs.size(); ++k) {
      if (ivs[k].start < a) continue;
      bool was_on =
          k > 0 && IsOn(ivs[k - 1].value) && ivs[k - 1].end + 1 == ivs[k].start;
      if (IsOn(ivs[k].value) && !was_on) on.emplace(ivs[k].start, idx);
      if (IsWait(ivs[k].value) && was_on) {
        off.emplace(ivs[k].start, std::make_pair(idx, Clipped(ivs[k], w)));
      }
    }
    ++idx;
  }
  for (const auto& [t, th] : off) {
    auto [lo, hi] = on.equal_range(t);
    bool other = std::any_of(
        lo, hi, [&](const auto& o) { return o.second != th.first; });
    if (other) out->push_back({kThread, t, th.second});
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<Preemption>> PreemptionsIn(
    const StateHistory& h, const VmRef& vm, int64_t from, int64_t a, int64_t b,
    const Window& w, std::vector<SwitchState>* switches) {
  std::vector<Preemption> out;
  if (b < from || w.end <= w.start) return out;
  switches->resize(std::max(switches->size(), vm.vcpus.size()));
  OffTimes off(h, w, a, b);
  for (size_t k = 0; k < vm.vcpus.size(); ++k) {
    const VcpuRef& v = vm.vcpus[k];
    VMTRACE_ASSIGN_OR_RETURN(auto ivs, h.QueryRange(v.q, from, b));
    for (const auto& iv : ivs) {
      if (iv.start < a) continue;
      if (IsInt(iv, vm::kPreemptedHost)) {
        out.push_back({kHostToVm, iv.start, Clipped(iv, w)});
      }
      if (IsInt(iv, vm::kPreemptedVm)) {
        out.push_back({kVmToVm, iv.start, Clipped(iv, w)});
      }
    }
    if (auto cr3q = h.Child(v.q, "CR3")) {
      VMTRACE_RETURN_IF_ERROR(ProcessSwitches(h, vm, ivs, *cr3q, from, a, b,
                                              &off, &(*switches)[k], &out));
    }
  }
  for (const auto& p : vm.processes) {
    VMTRACE_RETURN_IF_ERROR(ThreadSwitches(h, p, a, b, w, &out));
  }
  return out;
}

StatusOr<PreemptionStats> VmPreemptions(const StateHistory& h, const VmRef& vm,
                                        const Window& w) {
  PreemptionStats s{};
  std::vector<SwitchState> switches;
  VMTRACE_ASSIGN_OR_RETURN(
      auto all, PreemptionsIn(h, vm, w.start, w.start, w.end, w, &switches));
  for (const Preemption& p : all) s[p.kind].Add(p.ns);
  return s;
}

}  // namespace vmtrace::stats
