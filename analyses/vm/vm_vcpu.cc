// VmModel: the vCPU and nested-vCPU state machine (vm-semantics §3, §5).
// The handlers follow the contract step by step; each row write goes
// through Put() so that a row whose wait is still unlabelled queues it.
#include "analyses/vm/vm_model.h"

namespace vmtrace::vm {
namespace {

using storage::StateValue;

constexpr int64_t kNull = -1;

StateValue Value(int64_t v) {
  return v == kNull ? StateValue::Null() : StateValue::Int(v);
}

// A process's state while it is current on a vCPU in state `s` (§4).
int64_t Mirror(int64_t s) {
  switch (s) {
    case kGuest:
    case kGuestL2:
      return kRunning;
    case kHypervisor:
    case kL1ForL2:
      return kVcpuHypervisor;
    case kPreemptedHost:
    case kPreemptedVm:
      return kVcpuPreempted;
    default:
      return kProcessUnknown;
  }
}

bool IsVmx(int64_t reason) {
  return reason == 20 || reason == 21 || reason == 24;
}

}  // namespace

void VmModel::Put(Row& r, int64_t t, int64_t value) {
  if (r.pending) {
    r.queued.emplace_back(t, value);
  } else {
    w_->Set(t, r.q, Value(value));
  }
}

void VmModel::BeginWait(Row& r, int64_t t) {
  // Two waits without a switch-in between cannot happen; if the data says
  // so, the first one stays unexplained.
  if (r.pending) Resolve(r, kWaitUnknown);
  r.pending = true;
  r.wait_start = t;
}

void VmModel::Resolve(Row& r, int64_t label) {
  if (!r.pending) return;
  r.pending = false;
  w_->Set(r.wait_start, r.q, StateValue::Int(label));
  for (const auto& [t, v] : r.queued) w_->Set(t, r.q, Value(v));
  r.queued.clear();
}

// Writes a vCPU state on its row, on its nested row while in nested mode,
// and mirrors it on the processes current at each level.
void VmModel::SetRow(Vcpu& v, int64_t t, int64_t s) {
  Put(v.row, t, s);
  v.last = s;
  if (v.cur[1] >= 0) SetProc(procs_[v.cur[1]], t, Mirror(s));
  if (v.nested_mode) {
    const int64_t ns = s == kGuest ? kL1ForL2 : s;
    Put(v.nrow, t, ns);
    if (v.cur[2] >= 0) SetProc(procs_[v.cur[2]], t, Mirror(ns));
  }
}

void VmModel::LabelWait(Vcpu& v, int64_t reason) {
  Resolve(v.row, reason);
  if (v.nested_wait) {
    Resolve(v.nrow, reason);
    v.fresh[2] = true;
  }
  v.nested_wait = false;
  v.reason = reason;
  v.fresh[1] = true;
}

void VmModel::SwitchIn(Vcpu& v, int64_t t) {
  if (v.waiting) {
    v.waiting = false;
    v.awaiting_vector = true;
  }
  SetRow(v, t, kHypervisor);
  w_->Set(t, v.preempter, StateValue::Null());
}

void VmModel::SwitchOut(Vcpu& v, int64_t t, bool runnable, bool next_is_vcpu,
                        int64_t next_tid) {
  if (runnable) {
    SetRow(v, t, next_is_vcpu ? kPreemptedVm : kPreemptedHost);
    w_->Set(t, v.preempter, StateValue::Int(next_tid));
    return;
  }
  // A new wait: the previous one, never followed by an injection, is
  // unexplained.
  if (v.awaiting_vector) LabelWait(v, kWaitUnknown);
  v.awaiting_vector = false;
  BeginWait(v.row, t);
  v.last = kWaitUnknown;
  v.nested_wait = false;
  if (v.nested_mode) {
    BeginWait(v.nrow, t);
    v.nested_wait = true;
  }
  // A halted vCPU runs the guest's idle task: every CR3 goes off it.
  GoOff(v, 1, t);
  GoOff(v, 2, t);
  v.waiting = true;
}

void VmModel::EnterGuest(Vcpu& v, int64_t t, uint64_t cr3, bool has_sp,
                         uint64_t sp) {
  if (!v.has_cr3 || v.cr3 != cr3) {
    // Most entries re-enter the same CR3: format and write only changes.
    char buf[24];
    snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(cr3));
    w_->Set(t, v.cr3_q, StateValue::Str(buf));
  }
  v.cr3 = cr3;
  v.has_cr3 = true;
  v.end_nested_at_entry = false;
  int level = 1;
  if (v.nested_mode) {
    if (cr3 == v.nested_h) {
      v.entry_is_l2 = false;  // §5.2: the exit was reflected to L1
    } else if (v.expect_l2 || v.last_entry_l2) {
      v.entry_is_l2 = true;  // §5.1 / §5.2: L2 (the same or another process)
      level = 2;
    } else {
      // §5.3: after an L1 period, L1 switched to one of its own processes.
      v.entry_is_l2 = false;
      v.end_nested_at_entry = true;
    }
  } else {
    v.entry_is_l2 = false;
  }
  if (level == 2 && vms_[v.vm].proc_of.count(cr3)) {
    // An "L2" entry under a CR3 already known as an L1 process of this VM:
    // the L1 idle loop's lazy-TLB CR3 (the generator's nested idle), not an
    // L2 process. It names no process, as the ground truth does.
    Name(v, level, t, -1);
    return;
  }
  const int p = GetProc(v, level, cr3);
  Name(v, level, t, p);
  SetThread(v, procs_[p], t, has_sp, sp);
}

void VmModel::Entry(Vcpu& v, int64_t t) {
  if (v.awaiting_vector) {
    LabelWait(v, kWaitUnknown);
    v.awaiting_vector = false;
  }
  if (v.end_nested_at_entry && v.nested_mode) {
    Put(v.nrow, t, kNull);
    GoOff(v, 2, t);
    v.nested_mode = false;
  }
  v.end_nested_at_entry = false;
  SetRow(v, t, v.entry_is_l2 ? kGuestL2 : kGuest);
  v.last_entry_l2 = v.entry_is_l2;
  v.expect_l2 = false;
}

void VmModel::Exit(Vcpu& v, int64_t t, int64_t reason) {
  w_->Set(t, v.exit, StateValue::Int(reason));
  v.last_exit = reason;
  SetRow(v, t, kHypervisor);
  // §5.1: VMLAUNCH / VMPTRLD / VMRESUME from L1 code: the current CR3 is
  // the L1 hypervisor's, and the next entry is into L2.
  if (!IsVmx(reason) || v.entry_is_l2 || !v.has_cr3) return;
  if (v.nested_mode && v.cr3 != v.nested_h) return;
  if (!v.nested_mode) {
    Vm& vm = vms_[v.vm];
    auto [it, inserted] = vm.nested_of.try_emplace(v.cr3);
    Nested& n = it->second;
    if (inserted) {
      char buf[24];
      snprintf(buf, sizeof buf, "0x%llx",
               static_cast<unsigned long long>(v.cr3));
      n.q = w_->GetOrAdd(vm.nested, buf);
      n.vcpus = w_->GetOrAdd(n.q, "vCPUs");
      n.procs = w_->GetOrAdd(n.q, "Processes");
    }
    v.nrow.q = w_->GetOrAdd(n.vcpus, std::to_string(v.id));
    v.nested_mode = true;
    v.nested_h = v.cr3;
    Put(v.nrow, t, kHypervisor);
  }
  v.expect_l2 = true;
}

void VmModel::Inject(Vcpu& v, int64_t t, int64_t vector) {
  w_->Set(t, v.vector, StateValue::Int(vector));
  if (!v.awaiting_vector) return;
  LabelWait(v, ReasonOf(vms_[v.vm], vector));
  v.awaiting_vector = false;
}

}  // namespace vmtrace::vm
