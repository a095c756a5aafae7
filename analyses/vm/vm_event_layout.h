// VmEventLayout: what each event class means to the VM model, whatever the
// tracer's spelling: `kvm_X` (lttng-modules <= 2.6 and Nemati's 2.7 fork,
// perf's `kvm:X` once the reader stripped the prefix) and `kvm_x86_X`
// (mainline lttng-modules >= 2.7) for every KVM event (vm-semantics §2).
//
// Resolved once per event class before the pass; handlers read fields by
// index. Payload and context scopes are kept apart: sched_wakeup's payload
// `tid` is the woken thread, a `tid` context is the emitting thread.
#ifndef VMTRACE_ANALYSES_VM_VM_EVENT_LAYOUT_H_
#define VMTRACE_ANALYSES_VM_VM_EVENT_LAYOUT_H_

#include <cstdint>

#include "analyses/ctf/reader.h"

namespace vmtrace::vm {

enum class VmEventKind : uint8_t {
  kIgnored,
  kKvmEntry,      // vcpu_id
  kKvmExit,       // exit_reason (vcpu_id in recent kernels)
  kKvmInjVirq,    // irq = vector
  kKvmAcceptIrq,  // vec
  kEnterGuest,    // addons_vcpu_enter_guest: vcpuID, cr3tmp, sptmp, iptmp
  kSchedSwitch,   // prev_tid, prev_state, next_tid, next_comm
  kSchedWakeup,   // tid (woken)
  kSchedTtwu,     // tid (woken), waker = context tid
  kStatedump,     // lttng_statedump_process_state: tid, pid, name
};

struct VmEventLayout {
  VmEventKind kind = VmEventKind::kIgnored;
  int vcpu_id = -1, exit_reason = -1, vector = -1;
  int cr3 = -1, sp = -1, ip = -1;
  int prev_tid = -1, prev_state = -1, prev_comm = -1;
  int next_tid = -1, next_comm = -1;
  int tid = -1, pid = -1, name = -1;
  // Context fields (the emitting thread), and perf's cpu field.
  int ctx_tid = -1, ctx_pid = -1, ctx_procname = -1, perf_cpu = -1;
};

VmEventLayout ResolveVmLayout(const ctf::EventClass& cls);

}  // namespace vmtrace::vm

#endif  // VMTRACE_ANALYSES_VM_VM_EVENT_LAYOUT_H_
