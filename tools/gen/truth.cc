#include "tools/gen/truth.h"

namespace vmtrace::gen {

const char* VStateName(VState s) {
  switch (s) {
    case VState::kUnknown:
      return "UNKNOWN";
    case VState::kGuest:
      return "GUEST";
    case VState::kGuestL2:
      return "GUEST_L2";
    case VState::kHypervisor:
      return "HYPERVISOR";
    case VState::kL1ForL2:
      return "L1_FOR_L2";
    case VState::kPreemptedHost:
      return "PREEMPTED_HOST";
    case VState::kPreemptedVm:
      return "PREEMPTED_VM";
    case VState::kWaitTimer:
      return "WAIT_TIMER";
    case VState::kWaitDisk:
      return "WAIT_DISK";
    case VState::kWaitNet:
      return "WAIT_NET";
    case VState::kWaitTask:
      return "WAIT_TASK";
    case VState::kWaitUnknown:
      return "WAIT_UNKNOWN";
    case VState::kNone:
      return "NONE";
  }
  return "?";
}

const char* PStateName(PState s) {
  switch (s) {
    case PState::kUnknown:
      return "UNKNOWN";
    case PState::kRunning:
      return "RUNNING";
    case PState::kVcpuHypervisor:
      return "VCPU_HYPERVISOR";
    case PState::kVcpuPreempted:
      return "VCPU_PREEMPTED";
    case PState::kWaitTimer:
      return "WAIT_TIMER";
    case PState::kWaitDisk:
      return "WAIT_DISK";
    case PState::kWaitNet:
      return "WAIT_NET";
    case PState::kWaitTask:
      return "WAIT_TASK";
    case PState::kWaitUnknown:
      return "WAIT_UNKNOWN";
  }
  return "?";
}

const char* AStateName(AState s) {
  switch (s) {
    case AState::kNotStarted:
      return "NOT_STARTED";
    case AState::kRunning:
      return "RUNNING";
    case AState::kHypervisor:
      return "VCPU_HYPERVISOR";
    case AState::kPreempted:
      return "VCPU_PREEMPTED";
    case AState::kReady:
      return "READY_IN_GUEST";
    case AState::kTimer:
      return "BLOCKED_TIMER";
    case AState::kDisk:
      return "BLOCKED_DISK";
    case AState::kNet:
      return "BLOCKED_NET";
    case AState::kTask:
      return "BLOCKED_TASK";
    case AState::kReply:
      return "BLOCKED_REPLY";
  }
  return "?";
}

size_t Timeline::Set(uint64_t ts, uint8_t state, int32_t info) {
  if (open_) {
    Interval& last = items_.back();
    if (last.state == state && last.info == info) return items_.size() - 1;
    if (ts <= last.start) {
      // A zero-length interval is replaced rather than kept.
      last.state = state;
      last.info = info;
      if (items_.size() >= 2) {
        Interval& prev = items_[items_.size() - 2];
        if (prev.state == state && prev.info == info) {
          items_.pop_back();
        }
      }
      return items_.size() - 1;
    }
    last.end = ts;
  }
  items_.push_back({ts, ts, state, info});
  open_ = true;
  return items_.size() - 1;
}

void Timeline::Close(uint64_t end) {
  if (!open_) return;
  Interval& last = items_.back();
  last.end = end < last.start ? last.start : end;
  if (last.end == last.start) items_.pop_back();
  open_ = false;
}

namespace {

PState Mirror(VState s) {
  switch (s) {
    case VState::kGuest:
    case VState::kGuestL2:
      return PState::kRunning;
    case VState::kHypervisor:
    case VState::kL1ForL2:
      return PState::kVcpuHypervisor;
    case VState::kPreemptedHost:
    case VState::kPreemptedVm:
      return PState::kVcpuPreempted;
    default:
      return PState::kUnknown;
  }
}

VState WaitState(WaitReason r) {
  switch (r) {
    case WaitReason::kTimer:
      return VState::kWaitTimer;
    case WaitReason::kDisk:
      return VState::kWaitDisk;
    case WaitReason::kNet:
      return VState::kWaitNet;
    case WaitReason::kTask:
      return VState::kWaitTask;
    default:
      return VState::kWaitUnknown;
  }
}

PState ProcWaitState(WaitReason r) {
  switch (r) {
    case WaitReason::kTimer:
      return PState::kWaitTimer;
    case WaitReason::kDisk:
      return PState::kWaitDisk;
    case WaitReason::kNet:
      return PState::kWaitNet;
    case WaitReason::kTask:
      return PState::kWaitTask;
    default:
      return PState::kWaitUnknown;
  }
}

constexpr uint8_t U(VState s) { return static_cast<uint8_t>(s); }
constexpr uint8_t U(PState s) { return static_cast<uint8_t>(s); }

}  // namespace

int TruthRecorder::AddVm(const VmTruth& vm) {
  vms_.push_back(vm);
  return static_cast<int>(vms_.size()) - 1;
}

int TruthRecorder::AddProc(ProcTruth p) {
  procs_.push_back(std::move(p));
  int idx = static_cast<int>(procs_.size()) - 1;
  vms_[procs_.back().vm].procs.push_back(idx);
  return idx;
}

void TruthRecorder::Begin(uint64_t ts) {
  begin_ = ts;
  if (!enabled_) return;
  for (VmTruth& vm : vms_) {
    for (VcpuTruth& v : vm.vcpus) v.row.Set(ts, U(VState::kUnknown));
  }
  for (ProcTruth& p : procs_) {
    p.semantic.Set(ts, U(PState::kUnknown));
    p.actual.Set(ts, static_cast<uint8_t>(AState::kNotStarted));
  }
}

int TruthRecorder::FindProc(int vm, int level, uint64_t cr3) const {
  for (int idx : vms_[vm].procs) {
    const ProcTruth& p = procs_[idx];
    if (p.cr3 == cr3 && (p.level == level || (level == 1 && p.hypervisor))) {
      return idx;
    }
  }
  return -1;
}

// Writes a vCPU state on its row, on the nested row while in nested mode,
// and mirrors it on the processes current at each level (section 4).
void TruthRecorder::SetRow(VcpuTruth& v, int vm, uint64_t ts, VState s,
                           int32_t info) {
  v.row.Set(ts, U(s), info);
  v.last = s;
  if (v.cur[1] >= 0) procs_[v.cur[1]].semantic.Set(ts, U(Mirror(s)));
  if (v.nested_mode) {
    VState ns = s == VState::kGuest ? VState::kL1ForL2 : s;
    v.nested_row.Set(ts, U(ns), info);
    if (v.cur[2] >= 0) procs_[v.cur[2]].semantic.Set(ts, U(Mirror(ns)));
  }
}

void TruthRecorder::GoOff(VcpuTruth& v, int level, uint64_t ts) {
  int p = v.cur[level];
  if (p < 0) return;
  procs_[p].off_index =
      static_cast<int32_t>(procs_[p].semantic.Set(ts, U(PState::kWaitUnknown)));
  v.cur[level] = -1;
}

void TruthRecorder::Name(VcpuTruth& v, int vm, int level, uint64_t ts, int p) {
  if (p < 0 || v.cur[level] == p) {
    v.fresh[level] = false;
    return;
  }
  GoOff(v, level, ts);
  ProcTruth& pr = procs_[p];
  if (pr.off_index >= 0 &&
      static_cast<size_t>(pr.off_index) < pr.semantic.items().size()) {
    // An off interval is labelled when the CR3 next runs: the reason of the
    // vCPU's wait if it is the first CR3 entered after it, else WAIT_TASK.
    PState label = v.fresh[level] ? ProcWaitState(v.reason) : PState::kWaitTask;
    Interval& off = pr.semantic.items()[pr.off_index];
    if (off.state == U(PState::kWaitUnknown)) off.state = U(label);
    pr.off_index = -1;
  }
  v.fresh[level] = false;
  v.cur[level] = p;
  VState row =
      level == 2 && v.last == VState::kGuest ? VState::kL1ForL2 : v.last;
  PState ps = Mirror(row);
  pr.semantic.Set(ts, U(ps == PState::kUnknown ? PState::kVcpuHypervisor : ps));
}

void TruthRecorder::LabelWait(VcpuTruth& v, WaitReason r) {
  if (v.wait_index >= 0 &&
      static_cast<size_t>(v.wait_index) < v.row.items().size()) {
    Interval& w = v.row.items()[v.wait_index];
    if (w.state == U(VState::kWaitUnknown)) w.state = U(WaitState(r));
  }
  if (v.nested_wait_index >= 0 &&
      static_cast<size_t>(v.nested_wait_index) < v.nested_row.items().size()) {
    Interval& w = v.nested_row.items()[v.nested_wait_index];
    if (w.state == U(VState::kWaitUnknown)) w.state = U(WaitState(r));
    v.fresh[2] = true;
  }
  v.wait_index = v.nested_wait_index = -1;
  v.reason = r;
  v.fresh[1] = true;
}

void TruthRecorder::SwitchIn(int vm, int vcpu, uint64_t ts) {
  if (!enabled_) return;
  VcpuTruth& v = vms_[vm].vcpus[vcpu];
  if (v.waiting) {
    v.waiting = false;
    v.awaiting_vector = true;
  }
  SetRow(v, vm, ts, VState::kHypervisor, -1);
}

void TruthRecorder::SwitchOut(int vm, int vcpu, uint64_t ts, bool runnable,
                              bool next_is_vcpu, int next_tid) {
  if (!enabled_) return;
  VcpuTruth& v = vms_[vm].vcpus[vcpu];
  if (runnable) {
    SetRow(v, vm, ts,
           next_is_vcpu ? VState::kPreemptedVm : VState::kPreemptedHost,
           next_tid);
    return;
  }
  if (v.awaiting_vector) LabelWait(v, WaitReason::kUnknown);
  v.awaiting_vector = false;
  v.wait_index = static_cast<int32_t>(v.row.Set(ts, U(VState::kWaitUnknown)));
  v.last = VState::kWaitUnknown;
  v.nested_wait_index = -1;
  if (v.nested_mode) {
    v.nested_wait_index =
        static_cast<int32_t>(v.nested_row.Set(ts, U(VState::kWaitUnknown)));
  }
  // A halted vCPU runs the guest's idle task: every CR3 goes off.
  GoOff(v, 1, ts);
  GoOff(v, 2, ts);
  v.waiting = true;
}

void TruthRecorder::EnterGuest(int vm, int vcpu, uint64_t ts, uint64_t cr3) {
  if (!enabled_) return;
  VcpuTruth& v = vms_[vm].vcpus[vcpu];
  const VmTruth& m = vms_[vm];
  v.cr3 = cr3;
  v.end_nested_at_entry = false;
  if (v.nested_mode) {
    if (cr3 == m.hypervisor_cr3) {
      v.entry_is_l2 = false;
      Name(v, vm, 1, ts, FindProc(vm, 1, cr3));
    } else if (v.expect_l2 || v.last_entry_l2) {
      v.entry_is_l2 = true;
      Name(v, vm, 2, ts, FindProc(vm, 2, cr3));
    } else {
      // Rule 5.3: L1 switched to one of its own processes.
      v.entry_is_l2 = false;
      v.end_nested_at_entry = true;
      Name(v, vm, 1, ts, FindProc(vm, 1, cr3));
    }
  } else {
    v.entry_is_l2 = false;
    Name(v, vm, 1, ts, FindProc(vm, 1, cr3));
  }
}

void TruthRecorder::Entry(int vm, int vcpu, uint64_t ts) {
  if (!enabled_) return;
  VcpuTruth& v = vms_[vm].vcpus[vcpu];
  if (v.awaiting_vector) {
    LabelWait(v, WaitReason::kUnknown);
    v.awaiting_vector = false;
  }
  if (v.end_nested_at_entry && v.nested_mode) {
    v.nested_row.Set(ts, U(VState::kNone));
    GoOff(v, 2, ts);
    v.nested_mode = false;
  }
  v.end_nested_at_entry = false;
  SetRow(v, vm, ts, v.entry_is_l2 ? VState::kGuestL2 : VState::kGuest, -1);
  v.last_entry_l2 = v.entry_is_l2;
  v.expect_l2 = false;
  v.in_guest = true;
}

void TruthRecorder::Exit(int vm, int vcpu, uint64_t ts, int reason) {
  if (!enabled_) return;
  VcpuTruth& v = vms_[vm].vcpus[vcpu];
  const VmTruth& m = vms_[vm];
  SetRow(v, vm, ts, VState::kHypervisor, reason);
  v.in_guest = false;
  bool vmx = reason == 20 || reason == 21 || reason == 24;
  if (vmx && m.has_nested && !v.entry_is_l2 && v.cr3 == m.hypervisor_cr3) {
    if (!v.nested_mode) {
      v.nested_mode = true;
      v.nested_row.Set(ts, U(VState::kHypervisor), reason);
    }
    v.expect_l2 = true;
  }
}

void TruthRecorder::Inject(int vm, int vcpu, uint64_t ts, int vector) {
  if (!enabled_) return;
  VcpuTruth& v = vms_[vm].vcpus[vcpu];
  if (!v.awaiting_vector) return;
  const VmTruth& m = vms_[vm];
  WaitReason r = WaitReason::kUnknown;
  if (vector == m.vector_timer || vector == 236 || vector == 238 ||
      vector == 239) {
    r = WaitReason::kTimer;
  } else if (vector == m.vector_ipi || (vector >= 251 && vector <= 253)) {
    r = WaitReason::kTask;
  } else if (vector == m.vector_disk) {
    r = WaitReason::kDisk;
  } else if (vector == m.vector_net) {
    r = WaitReason::kNet;
  }
  LabelWait(v, r);
  v.awaiting_vector = false;
}

void TruthRecorder::Finish(uint64_t end) {
  end_ = end;
  for (VmTruth& vm : vms_) {
    for (VcpuTruth& v : vm.vcpus) {
      v.row.Close(end);
      v.nested_row.Close(end);
    }
  }
  for (ProcTruth& p : procs_) {
    p.semantic.Close(end);
    p.actual.Close(end);
  }
}

}  // namespace vmtrace::gen
