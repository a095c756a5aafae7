// Internal to the VM statistics providers (vm_stats_providers.h): cell
// formatting, the complete-table cache and XY series ids. The arithmetic is
// in analyses/stats/.
#ifndef VMTRACE_TSP_OUTPUTS_VM_VM_STATS_COMMON_H_
#define VMTRACE_TSP_OUTPUTS_VM_VM_STATS_COMMON_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "analyses/stats/vm_walk.h"
#include "analyses/vm/vm_layout.h"
#include "base/status.h"
#include "storage/state_history.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp::vmstats {

using storage::Quark;
using storage::StateHistory;
using storage::StateInterval;
// The VM walk and time rules (analyses/stats/vm_walk.h).
using stats::Clipped;
using stats::FindVm;
using stats::IsGuest;
using stats::IsInt;
using stats::IsWait;
using stats::ListVms;
using stats::NestedRef;
using stats::ObservedWindow;
using stats::ProcessRef;
using stats::ReadAll;
using stats::VcpuRef;
using stats::VmRef;
using stats::Window;

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
