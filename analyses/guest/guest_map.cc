#include "analyses/guest/guest_map.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <set>
#include <unordered_map>

namespace vmtrace::guest {

namespace {

using VmKey = std::pair<std::string, int64_t>;

// A change of the canonical CR3 on one vCPU.
struct Change {
  int64_t ts;
  uint64_t cr3, prev;  // canonical; prev 0 for the first
};

// A guest switch that changes the CR3 (to another process, not idle).
struct Candidate {
  int cpu;
  int64_t ts;  // guest clock
  int64_t tid, pid;
  std::string comm;
};

struct Match {
  int64_t ts;  // host clock, the change's
  uint64_t cr3, prev;
  const Candidate* who;
};

std::string Hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

std::vector<Change> Changes(const std::vector<Cr3Sample>& samples) {
  std::vector<Change> out;
  uint64_t last = 0;
  for (const Cr3Sample& s : samples) {
    const uint64_t c = vm::CanonicalCr3(s.cr3);
    if (c == last) continue;
    out.push_back({s.ts, c, last});
    last = c;
  }
  return out;
}

std::vector<Candidate> Candidates(const GuestTrace& g) {
  std::vector<Candidate> out;
  for (size_t cpu = 0; cpu < g.cpus.size(); ++cpu) {
    int64_t last_pid = -1;
    for (const GuestSwitch& s : g.cpus[cpu]) {
      if (s.next_tid <= 0) continue;  // idle: the CR3 stays (lazy TLB)
      auto t = g.threads.find(s.next_tid);
      const int64_t pid = t != g.threads.end() && t->second.pid > 0
                              ? t->second.pid
                              : s.next_tid;
      if (pid == last_pid) continue;  // same address space
      last_pid = pid;
      out.push_back(
          {static_cast<int>(cpu), s.ts, s.next_tid, pid, s.next_comm});
    }
  }
  return out;
}

// The VM's vCPUs' changes, by vCPU id.
using VmChanges = std::map<int, std::vector<Change>>;

const Change* Nearest(const std::vector<Change>& ch, int64_t t) {
  auto it =
      std::lower_bound(ch.begin(), ch.end(), t,
                       [](const Change& c, int64_t v) { return c.ts < v; });
  const Change* best = nullptr;
  int64_t best_d = kMatchWindowNs + 1;
  if (it != ch.end() && it->ts - t < best_d) {
    best = &*it;
    best_d = it->ts - t;
  }
  if (it != ch.begin() && t - std::prev(it)->ts < best_d) {
    best = &*std::prev(it);
  }
  return best;
}

std::vector<Match> MatchAll(const std::vector<Candidate>& cands,
                            const VmChanges& vm, int64_t offset) {
  std::vector<Match> out;
  for (const Candidate& c : cands) {
    auto v = vm.find(c.cpu);
    if (v == vm.end()) continue;
    if (const Change* ch = Nearest(v->second, c.ts - offset)) {
      out.push_back({ch->ts, ch->cr3, ch->prev, &c});
    }
  }
  return out;
}

// The offset (guest - host) that lines the most switches up with CR3
// changes. A few switches vote with their differences to every change
// within 1 s on their vCPU (1 us bins): the true offset gets a vote from
// nearly each of them, any other bin from few. The best bins are then
// tried on a larger sample, each switch with its nearest change only, and
// the winner's offset is the median of the differences that fell near it.
// Why two stages: voting with every switch of the sample cost
// sample x changes-per-second (2.5 s for a busy 2M-event host); the
// shortlist's check costs sample x log(changes).
bool FitOffset(const std::vector<Candidate>& cands, const VmChanges& vm,
               int64_t* offset) {
  constexpr int64_t kRange = 1'000'000'000;  // clocks within 1 s
  constexpr size_t kVoters = 12;
  constexpr size_t kShortlist = 8;
  constexpr size_t kSample = 200;
  constexpr int64_t kNearNs = 3'000;  // around a bin's centre
  auto changes_of = [&vm](const Candidate& c) -> const std::vector<Change>* {
    auto v = vm.find(c.cpu);
    return v == vm.end() ? nullptr : &v->second;
  };
  const size_t vote_step = std::max<size_t>(1, cands.size() / kVoters);
  std::unordered_map<int64_t, uint32_t> bins;
  for (size_t i = 0; i < cands.size(); i += vote_step) {
    const Candidate& c = cands[i];
    const std::vector<Change>* ch = changes_of(c);
    if (ch == nullptr) continue;
    auto lo =
        std::lower_bound(ch->begin(), ch->end(), c.ts - kRange,
                         [](const Change& x, int64_t t) { return x.ts < t; });
    int64_t last_bin = INT64_MIN;
    for (auto it = lo; it != ch->end() && it->ts <= c.ts + kRange; ++it) {
      const int64_t d = c.ts - it->ts;
      const int64_t bin = d >= 0 ? d / 1000 : (d - 999) / 1000;
      if (bin == last_bin) continue;  // one vote per switch and bin
      last_bin = bin;
      ++bins[bin];
    }
  }
  if (bins.empty()) return false;
  // Ties go to the smallest bin, so the answer does not depend on the hash
  // order.
  std::vector<std::pair<int64_t, uint32_t>> ranked(bins.begin(), bins.end());
  const size_t keep = std::min(kShortlist, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end(),
                    [](const auto& x, const auto& y) {
                      return x.second != y.second ? x.second > y.second
                                                  : x.first < y.first;
                    });
  const size_t step = std::max<size_t>(1, cands.size() / kSample);
  std::vector<int64_t> best_near;
  for (size_t k = 0; k < keep; ++k) {
    const int64_t centre = ranked[k].first * 1000 + 500;
    std::vector<int64_t> near;
    for (size_t i = 0; i < cands.size(); i += step) {
      const Candidate& c = cands[i];
      const std::vector<Change>* ch = changes_of(c);
      if (ch == nullptr) continue;
      const int64_t t = c.ts - centre;
      auto it =
          std::lower_bound(ch->begin(), ch->end(), t - kNearNs,
                           [](const Change& x, int64_t v) { return x.ts < v; });
      if (it != ch->end() && it->ts <= t + kNearNs) {
        near.push_back(c.ts - it->ts);
      }
    }
    if (near.size() > best_near.size()) best_near = std::move(near);
  }
  if (best_near.empty()) return false;
  std::nth_element(best_near.begin(), best_near.begin() + best_near.size() / 2,
                   best_near.end());
  *offset = best_near[best_near.size() / 2];
  return true;
}

struct Fit {
  VmKey vm;
  int64_t offset = 0;
  std::string clock;
  std::vector<Match> matches;
};

// The best alignment of `cands` on one VM: the TSC offset if it aligns at
// least half of the switches, else a fitted one.
Fit Align(const std::vector<Candidate>& cands, const VmKey& key,
          const VmChanges& vm, const HostView& host) {
  Fit f;
  f.vm = key;
  if (auto t = host.tsc_offsets.find(key); t != host.tsc_offsets.end()) {
    f.matches = MatchAll(cands, vm, t->second);
    f.offset = t->second;
    f.clock = "kvm_write_tsc_offset";
    if (2 * f.matches.size() >= cands.size()) return f;
  }
  int64_t fitted = 0;
  if (FitOffset(cands, vm, &fitted)) {
    auto m = MatchAll(cands, vm, fitted);
    if (m.size() > f.matches.size()) {
      f.matches = std::move(m);
      f.offset = fitted;
      f.clock = "fitted";
    }
  }
  return f;
}

std::string ContainerOf(const GuestTrace& g, const GuestThread* t) {
  if (t == nullptr || t->pid_ns == 0) return "";
  if (t->ns_level == 0 || t->pid_ns == g.root_pid_ns) return "";
  if (t->ns_level < 0 && g.root_pid_ns == 0) return "";
  return std::to_string(t->pid_ns);
}

// Holders of each CR3 over time, from the matches (time order).
void BuildNaming(const GuestTrace& g, std::vector<Match>& matches,
                 vm::VmNaming* out, vm::GuestTraceReport* r) {
  std::stable_sort(matches.begin(), matches.end(),
                   [](const Match& a, const Match& b) { return a.ts < b.ts; });
  // The leader's latest comm names a process whose other threads run.
  std::map<uint64_t, std::vector<const Match*>> by_cr3;
  for (const Match& m : matches) by_cr3[m.cr3].push_back(&m);
  for (const auto& [cr3, list] : by_cr3) {
    std::vector<vm::GuestProcess>& holders = out->processes[cr3];
    std::set<int64_t> past;  // pids that held it before the current one
    for (const Match* m : list) {
      const Candidate& c = *m->who;
      auto t = g.threads.find(c.pid);
      const GuestThread* leader = t != g.threads.end() ? &t->second : nullptr;
      std::string name =
          c.tid == c.pid || leader == nullptr ? c.comm : leader->comm;
      if (!holders.empty() && holders.back().pid == c.pid &&
          holders.back().name == name) {
        continue;
      }
      if (!holders.empty() && holders.back().pid != c.pid) {
        if (past.count(c.pid)) {
          ++r->conflicts;
          if (r->problems.size() < 5) {
            r->problems.push_back("CR3 " + Hex(cr3) + " claimed by pid " +
                                  std::to_string(holders.back().pid) + " (" +
                                  holders.back().name + ") and pid " +
                                  std::to_string(c.pid) + " (" + name +
                                  ") at once, at " + std::to_string(m->ts));
          }
        }
        past.insert(holders.back().pid);
      }
      vm::GuestProcess p;
      p.begin = holders.empty() ? INT64_MIN : m->ts;
      if (!holders.empty()) holders.back().end = m->ts;
      p.name = name;
      p.pid = c.pid;
      auto th = g.threads.find(c.tid);
      p.container =
          ContainerOf(g, th != g.threads.end() ? &th->second : leader);
      if (!p.container.empty() && !out->containers.count(p.container)) {
        vm::GuestContainer gc;
        gc.source = "pid_ns " + p.container;
        // Named by its init (pid 1 in the namespace), as seen in the dump.
        for (const auto& [tid, info] : g.threads) {
          if (std::to_string(info.pid_ns) == p.container && info.vpid == 1) {
            gc.name = info.comm;
          }
        }
        out->containers[p.container] = gc;
      }
      holders.push_back(std::move(p));
    }
  }
  r->processes = 0;
  for (const auto& [cr3, h] : out->processes) r->processes += h.size();
  r->containers = out->containers.size();
}

}  // namespace

GuestMapping MapGuestTraces(const HostView& host,
                            const std::vector<GuestTrace>& guests) {
  GuestMapping out;
  std::map<VmKey, VmChanges> vms;
  for (const HostVcpu& v : host.vcpus) {
    vms[{v.host, v.vm_pid}][v.vcpu] = Changes(v.cr3);
  }
  for (const GuestTrace& g : guests) {
    vm::GuestTraceReport r;
    r.trace = g.name;
    r.path = g.path;
    const std::vector<Candidate> cands = Candidates(g);
    r.switches = cands.size();
    if (g.has_kvm_events) {
      r.reason = "it has KVM events: a host trace, not a guest's";
    } else if (cands.empty()) {
      r.reason = "no sched_switch to another process in it";
    } else if (vms.empty()) {
      r.reason =
          "the experiment has no VM CR3 (no addons_vcpu_enter_guest in the "
          "host traces)";
    }
    if (!r.reason.empty()) {
      out.reports.push_back(std::move(r));
      continue;
    }
    Fit best;
    for (const auto& [key, changes] : vms) {
      Fit f = Align(cands, key, changes, host);
      if (f.matches.size() > best.matches.size()) best = std::move(f);
    }
    if (2 * best.matches.size() < cands.size()) {
      r.reason =
          "its switches match no VM's CR3 changes (best: " +
          std::to_string(best.matches.size()) + " of " +
          std::to_string(cands.size()) +
          (best.vm.first.empty() ? std::string(")")
                                 : " on VM " + std::to_string(best.vm.second) +
                                       " of " + best.vm.first + ")") +
          ": a trace of another machine, or clocks that cannot be "
          "aligned (more than 1 s apart without kvm_write_tsc_offset)";
      out.reports.push_back(std::move(r));
      continue;
    }
    r.used = true;
    r.host = best.vm.first;
    r.vm_pid = best.vm.second;
    r.clock = best.clock;
    r.offset_ns = best.offset;
    r.matched = best.matches.size();
    // Nested: most changes to its CR3s come from one CR3 it never holds.
    std::set<uint64_t> own;
    for (const Match& m : best.matches) own.insert(m.cr3);
    std::map<uint64_t, uint64_t> foreign;
    uint64_t foreign_n = 0;
    for (const Match& m : best.matches) {
      if (m.prev != 0 && !own.count(m.prev)) {
        ++foreign[m.prev];
        ++foreign_n;
      }
    }
    vm::VmNaming& vm_naming = out.names.vms[best.vm];
    vm::VmNaming* naming = &vm_naming;
    if (2 * foreign_n > best.matches.size()) {
      uint64_t top = 0, top_n = 0;
      for (const auto& [cr3, n] : foreign) {
        if (n > top_n) {
          top = cr3;
          top_n = n;
        }
      }
      r.level = 2;
      r.l1_cr3 = top;
      naming = &vm_naming.nested[top];
    }
    if (!naming->processes.empty()) {
      r.problems.push_back(
          "another guest trace already named this VM: "
          "both kept, CR3s may conflict");
    }
    naming->name = g.name;
    BuildNaming(g, best.matches, naming, &r);
    out.reports.push_back(std::move(r));
  }
  return out;
}

}  // namespace vmtrace::guest
