#include "analyses/stats/vm_walk.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace vmtrace::stats {
namespace {

// Numeric names (vCPU ids) sort as numbers, so vCPU 10 follows vCPU 9.
bool NumericLess(const std::string& a, const std::string& b) {
  char* ea = nullptr;
  char* eb = nullptr;
  long long x = strtoll(a.c_str(), &ea, 10), y = strtoll(b.c_str(), &eb, 10);
  if (!a.empty() && !b.empty() && !*ea && !*eb && x != y) return x < y;
  return a < b;
}

std::vector<VcpuRef> Vcpus(const StateHistory& h, Quark parent) {
  std::vector<VcpuRef> out;
  auto vq = h.Child(parent, "vCPUs");
  if (!vq) return out;
  for (Quark c : h.Children(*vq)) out.push_back({c, h.Name(c)});
  std::stable_sort(out.begin(), out.end(),
                   [](const VcpuRef& a, const VcpuRef& b) {
                     return NumericLess(a.id, b.id);
                   });
  return out;
}

std::vector<ProcessRef> Processes(const StateHistory& h, Quark parent) {
  std::vector<ProcessRef> out;
  auto pq = h.Child(parent, "Processes");
  if (!pq) return out;
  for (Quark c : h.Children(*pq)) out.push_back({c, h.Name(c)});
  return out;
}

VmRef MakeVm(const StateHistory& h, Quark host, Quark vm) {
  VmRef r;
  r.host = host;
  r.host_name = h.Name(host);
  r.q = vm;
  r.pid = h.Name(vm);
  r.name = r.pid;
  if (auto nq = h.Child(vm, "Name")) {
    // The name is set once and stays open until the history closes, so it
    // may be invisible while the pass runs: the pid stands in for it.
    auto iv = h.QueryRange(*nq, std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max());
    if (iv.ok()) {
      for (auto it = iv->rbegin(); it != iv->rend(); ++it) {
        if (it->value.kind == storage::StateValue::kString &&
            !it->value.s.empty()) {
          r.name = it->value.s;
          break;
        }
      }
    }
  }
  r.vcpus = Vcpus(h, vm);
  r.processes = Processes(h, vm);
  if (auto nq = h.Child(vm, "Nested")) {
    for (Quark n : h.Children(*nq)) {
      r.nested.push_back({n, h.Name(n), Vcpus(h, n), Processes(h, n)});
    }
  }
  return r;
}

}  // namespace

std::vector<VmRef> ListVms(const StateHistory& h) {
  std::vector<VmRef> out;
  for (Quark host : h.Children(storage::kRootQuark)) {
    auto vms = h.Child(host, "VMs");
    if (!vms) continue;
    for (Quark vm : h.Children(*vms)) out.push_back(MakeVm(h, host, vm));
  }
  return out;
}

std::optional<VmRef> FindVm(const StateHistory& h, Quark q) {
  if (q == storage::kRootQuark || q >= h.AttributeCount()) return std::nullopt;
  Quark vms = h.Parent(q);
  if (vms == storage::kRootQuark || h.Name(vms) != "VMs") return std::nullopt;
  Quark host = h.Parent(vms);
  if (host == storage::kRootQuark || h.Parent(host) != storage::kRootQuark) {
    return std::nullopt;
  }
  return MakeVm(h, host, q);
}

Window ObservedWindow(const StateHistory& h) {
  return {h.start_time(), h.flushed_until()};
}

Window ClipToObserved(const StateHistory& h, const Window& w) {
  const Window o = ObservedWindow(h);
  Window r{std::max(w.start, o.start), std::min(w.end, o.end)};
  if (r.end < r.start) r.end = r.start;
  return r;
}

int64_t Clipped(const StateInterval& iv, const Window& w) {
  int64_t lo = std::max(iv.start, w.start);
  int64_t hi = std::min(iv.end + 1, w.end);
  return hi > lo ? hi - lo : 0;
}

StatusOr<std::vector<StateInterval>> ReadAll(const StateHistory& h, Quark q,
                                             const Window& w) {
  if (w.end <= w.start) return std::vector<StateInterval>{};
  return h.QueryRange(q, w.start, w.end);
}

}  // namespace vmtrace::stats
