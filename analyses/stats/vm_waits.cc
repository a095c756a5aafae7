#include "analyses/stats/vm_waits.h"

#include <algorithm>
#include <utility>

#include "analyses/stats/buckets.h"

namespace vmtrace::stats {
namespace {

int WaitCategory(const storage::StateValue& v) {
  return IsWait(v) ? int(v.i - vm::kWaitTimer) : -1;
}

}  // namespace

Status AddWaits(const StateHistory& h, Quark q, const Window& w,
                WaitTotals* t) {
  if (w.end <= w.start) return Status::Ok();
  // The window's time in each value is T(end) - T(start).
  VMTRACE_ASSIGN_OR_RETURN(auto tot, h.QueryTotals(q, {w.start, w.end}));
  for (const storage::ValueTotal& v : tot[1]) {
    const int c = WaitCategory(storage::StateValue::Int(v.value));
    if (c >= 0) (*t)[c] += v.ns - storage::TotalNs(tot[0], v.value);
  }
  return Status::Ok();
}

StatusOr<WaitTable> ComputeWaitTable(const StateHistory& h,
                                     const Window& window) {
  WaitTable out;
  const Window w = ClipToObserved(h, window);
  out.window = w;
  out.vms = ListVms(h);
  const double len = double(w.length());
  auto row = [&](size_t vm, std::string element,
                 Quark q) -> StatusOr<WaitTotals> {
    WaitRow r{vm, std::move(element), {}, len};
    VMTRACE_RETURN_IF_ERROR(AddWaits(h, q, w, &r.totals));
    out.rows.push_back(std::move(r));
    return out.rows.back().totals;
  };
  for (size_t i = 0; i < out.vms.size(); ++i) {
    const VmRef& vm = out.vms[i];
    const size_t vm_row = out.rows.size();
    out.rows.push_back(
        {i, "VM", {}, len * double(std::max<size_t>(1, vm.vcpus.size()))});
    WaitTotals all{};
    for (const auto& v : vm.vcpus) {
      VMTRACE_ASSIGN_OR_RETURN(WaitTotals t, row(i, "vCPU " + v.id, v.q));
      for (int c = 0; c < kWaitCategories; ++c) all[c] += t[c];
    }
    for (const auto& p : vm.processes) {
      VMTRACE_RETURN_IF_ERROR(row(i, "Process " + p.cr3, p.q).status());
    }
    for (const auto& n : vm.nested) {
      for (const auto& v : n.vcpus) {
        VMTRACE_RETURN_IF_ERROR(
            row(i, "Nested " + n.cr3 + " vCPU " + v.id, v.q).status());
      }
      for (const auto& p : n.processes) {
        VMTRACE_RETURN_IF_ERROR(
            row(i, "Nested " + n.cr3 + " process " + p.cr3, p.q).status());
      }
    }
    // The VM row leads its block: it is what the truth's wait_totals sum.
    out.rows[vm_row].totals = all;
  }
  return out;
}

StatusOr<std::vector<std::vector<double>>> WaitBuckets(
    const StateHistory& h, const std::vector<VcpuRef>& vcpus,
    const std::vector<int64_t>& times) {
  std::vector<std::vector<double>> acc(kWaitCategories,
                                       std::vector<double>(times.size(), 0.0));
  if (times.empty()) return acc;
  for (const auto& v : vcpus) {
    VMTRACE_RETURN_IF_ERROR(
        AccumulateTotalsBuckets(h, v.q, times, WaitCategory, &acc));
  }
  return acc;
}

}  // namespace vmtrace::stats
