// VmModel: guest processes (by CR3) and their threads (by kernel-stack
// prefix), vm-semantics §4. A process that goes off its vCPU is not written
// until it is named again: only then is its off interval's label known.
#include <cstdio>

#include "analyses/vm/vm_model.h"

namespace vmtrace::vm {
namespace {

using storage::StateValue;

std::string Hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

int VmModel::GetProc(Vcpu& v, int level, uint64_t cr3) {
  Vm& vm = vms_[v.vm];
  std::unordered_map<uint64_t, int>* map = &vm.proc_of;
  storage::Quark parent = vm.procs;
  if (level == 2) {
    Nested& n = vm.nested_of[v.nested_h];
    map = &n.proc_of;
    parent = n.procs;
  }
  auto [it, inserted] = map->try_emplace(cr3, int(procs_.size()));
  if (!inserted) return it->second;
  Proc p;
  p.q = w_->GetOrAdd(parent, Hex(cr3));
  p.vcpu_q = w_->GetOrAdd(p.q, "vCPU");
  p.threads_q = w_->GetOrAdd(p.q, "Threads");
  w_->Set(hosts_[vm.host].begin, p.q, StateValue::Int(kProcessUnknown));
  procs_.push_back(std::move(p));
  return it->second;
}

void VmModel::SetProc(Proc& p, int64_t t, int64_t state) {
  w_->Set(t, p.q, StateValue::Int(state));
  if (p.thread) w_->Set(t, p.thread, StateValue::Int(state));
}

void VmModel::GoOff(Vcpu& v, int level, int64_t t) {
  const int p = v.cur[level];
  if (p < 0) return;
  procs_[p].off_start = t;
  w_->Set(t, procs_[p].vcpu_q, StateValue::Null());
  v.cur[level] = -1;
}

void VmModel::Name(Vcpu& v, int level, int64_t t, int p) {
  if (p < 0 || v.cur[level] == p) {
    v.fresh[level] = false;
    return;
  }
  GoOff(v, level, t);
  Proc& pr = procs_[p];
  if (pr.off_start >= 0) {
    // Labelled now that it runs again: the vCPU's wait reason if it is the
    // first CR3 entered after that wait, else it waited for another task.
    SetProc(pr, pr.off_start, v.fresh[level] ? v.reason : kWaitTask);
    pr.off_start = -1;
  }
  v.fresh[level] = false;
  v.cur[level] = p;
  const int64_t row = level == 2 && v.last == kGuest ? kL1ForL2 : v.last;
  int64_t ps = kVcpuHypervisor;
  switch (row) {
    case kGuest:
    case kGuestL2:
      ps = kRunning;
      break;
    case kPreemptedHost:
    case kPreemptedVm:
      ps = kVcpuPreempted;
      break;
    default:
      break;
  }
  SetProc(pr, t, ps);
  w_->Set(t, pr.vcpu_q, StateValue::Int(v.id));
}

// Guest thread identity: a kernel-mode sp (more than 13 hex digits) names
// the thread by its kernel stack, digits [1, 12) (digest a.5).
void VmModel::SetThread(Vcpu& v, Proc& p, int64_t t, bool has_sp, uint64_t sp) {
  if (!has_sp) return;
  // The prefix is hex digits 1..11 of sptmp; it is formatted only for a new
  // thread (this runs at every addons_vcpu_enter_guest).
  const uint64_t u = sp;
  const int n = u == 0 ? 1 : (64 - __builtin_clzll(u) + 3) / 4;
  if (n <= 13) return;  // user stack: the current thread stays
  const uint64_t digits = (u >> (4 * (n - 12))) & ((uint64_t{1} << 44) - 1);
  auto [it, inserted] = p.threads.try_emplace(digits | (uint64_t(n) << 44), 0);
  if (inserted) {
    char buf[24];
    snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(u));
    const std::string prefix(buf + 1, 11);
    it->second = w_->GetOrAdd(p.threads_q, prefix);
    w_->Set(hosts_[vms_[v.vm].host].begin, it->second,
            StateValue::Int(kProcessUnknown));
  }
  if (it->second == p.thread) return;
  if (p.thread) w_->Set(t, p.thread, StateValue::Int(kWaitTask));
  p.thread = it->second;
  w_->Set(t, p.thread, w_->Current(p.q));
}

}  // namespace vmtrace::vm
