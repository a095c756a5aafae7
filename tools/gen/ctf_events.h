// Event ids shared by the CTF writer and its metadata text (internal).
#ifndef VMTRACE_TOOLS_GEN_CTF_EVENTS_H_
#define VMTRACE_TOOLS_GEN_CTF_EVENTS_H_

#include <cstdint>

namespace vmtrace::gen {

enum EventId : uint32_t {
  kSchedSwitch = 0,
  kSchedWaking,
  kSchedWakeup,
  kSchedTtwu,
  kStatedumpStart,
  kStatedumpEnd,
  kStatedumpProcess,
  kSyscallEntryPwritev,
  kSyscallExitPwritev,
  kSyscallEntryPreadv,
  kSyscallExitPreadv,
  kIrqHandlerEntry,
  kIrqHandlerExit,
  kSoftirqRaise,
  kSoftirqEntry,
  kSoftirqExit,
  kHrtimerEntry,
  kHrtimerExit,
  kBlockRqIssue,
  kBlockRqComplete,
  kNetDevQueue,
  kNetIfReceiveSkb,
  kKvmEntry,
  kKvmExit,
  kKvmInjVirq,
  kKvmApicAcceptIrq,
  kVcpuEnterGuest,
  // Only in the metadata of traces that write them (CtfOptions::
  // guest_events, tsc_offset_events), so other traces stay as they were.
  kSchedProcessFork,
  kSchedProcessExec,
  kStatedumpPidNs,
  kKvmWriteTscOffset,
};

}  // namespace vmtrace::gen

#endif  // VMTRACE_TOOLS_GEN_CTF_EVENTS_H_
