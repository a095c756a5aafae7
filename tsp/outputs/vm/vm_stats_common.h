// Internal to the VM statistics providers (vm_stats_providers.h): the walk
// of the VM layout (analyses/vm/vm_layout.h), the observed window, cell
// formatting and the complete-table cache.
#ifndef VMTRACE_TSP_OUTPUTS_VM_VM_STATS_COMMON_H_
#define VMTRACE_TSP_OUTPUTS_VM_VM_STATS_COMMON_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "analyses/vm/vm_layout.h"
#include "base/status.h"
#include "storage/state_history.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp::vmstats {

using storage::Quark;
using storage::StateHistory;
using storage::StateInterval;

struct ProcessRef {
  Quark q = 0;
  std::string cr3;  // the attribute's name, "0x..."
};

struct VcpuRef {
  Quark q = 0;
  std::string id;  // the attribute's name
};

struct NestedRef {
  Quark q = 0;
  std::string cr3;  // the L1 hypervisor's CR3
  std::vector<VcpuRef> vcpus;
  std::vector<ProcessRef> processes;
};

struct VmRef {
  Quark host = 0;
  std::string host_name;
  Quark q = 0;
  std::string pid;
  std::string name;  // the Name attribute's last visible value, or the pid
  std::vector<VcpuRef> vcpus;  // by numeric id
  std::vector<ProcessRef> processes;
  std::vector<NestedRef> nested;
};

// Every VM of every host, in attribute creation order (hosts, then VMs).
std::vector<VmRef> ListVms(const StateHistory& h);
// The VM whose attribute is q, if any.
std::optional<VmRef> FindVm(const StateHistory& h, Quark q);

// The observed window [start, end): see vm_stats_providers.h.
struct Window {
  int64_t start = 0;
  int64_t end = 0;
  int64_t length() const { return end > start ? end - start : 0; }
};
Window ObservedWindow(const StateHistory& h);

// ns of the closed interval iv, read as [start, end + 1), inside w.
int64_t Clipped(const StateInterval& iv, const Window& w);

// Every visible interval of q in the window (empty for an unknown quark).
StatusOr<std::vector<StateInterval>> ReadAll(const StateHistory& h, Quark q,
                                             const Window& w);

inline bool IsInt(const StateInterval& iv, int64_t v) {
  return iv.value.kind == storage::StateValue::kInt && iv.value.i == v;
}
// WAIT_TIMER .. WAIT_UNKNOWN (same values for vCPUs and processes).
inline bool IsWait(const storage::StateValue& v) {
  return v.kind == storage::StateValue::kInt && v.i >= vm::kWaitTimer &&
         v.i <= vm::kWaitUnknown;
}
inline bool IsGuest(const storage::StateValue& v) {
  return v.kind == storage::StateValue::kInt &&
         (v.i == vm::kGuest || v.i == vm::kGuestL2);
}

// "37.50%"; "0.00%" when den is 0.
std::string Share(double num, double den);
std::string Ns(int64_t ns);

TableColumnModel Column(int64_t id, std::string name, std::string description,
                        bool number);

// Tables are recomputed while the history grows and kept once it is
// complete (then they cannot change).
class TableCache {
 public:
  template <typename F>
  StatusOr<TableModel> Get(const StateHistory& h, F compute) const {
    const bool complete = h.complete();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cache_) return *cache_;
    }
    auto t = compute();
    if (!t.ok()) return t.status();
    t->running = !complete;
    if (complete) {
      std::lock_guard<std::mutex> lock(mu_);
      cache_ = *t;
    }
    return t;
  }

 private:
  mutable std::mutex mu_;
  mutable std::optional<TableModel> cache_;
};

// XY entry id of a category series of the node q (see
// vm_stats_providers.h), and back.
inline int64_t NodeId(Quark q) { return int64_t(q) * 8; }
inline int64_t SeriesId(Quark q, int category) {
  return int64_t(q) * 8 + 1 + category;
}
inline Quark IdQuark(int64_t id) { return Quark(id / 8); }
inline int IdCategory(int64_t id) { return int(id % 8) - 1; }

}  // namespace vmtrace::tsp::vmstats

#endif  // VMTRACE_TSP_OUTPUTS_VM_VM_STATS_COMMON_H_
