// The kernel analysis' state-history layout: the contract between the
// kernel model (which writes it in the single pass) and the kernel outputs
// (Thread Status, Resources, CPU Usage, which read it). Matches
// ../vm/vm_layout.h for the VM analyses.
//
// One store per experiment (<experiment dir>/kernel), one subtree per host
// (the trace's `hostname`, else its directory's name), so several hosts
// never share a key:
//
//   <host>/Threads/<tid>                ThreadStatus (int)
//   <host>/Threads/<tid>/Exec_name      string
//   <host>/Threads/<tid>/PID            int
//   <host>/Threads/<tid>/PPID           int
//   <host>/Threads/<tid>/Prio           int
//   <host>/Threads/<tid>/System_call    string while inside a syscall
//   <host>/Threads/<tid>/CPU            int: CPU it runs on while running
//   <host>/CPUs/<n>                     CpuStatus (int)
//   <host>/CPUs/<n>/Current_thread      int: tid
//   <host>/CPUs/<n>/IRQs/<irq>          1 while the handler runs
//   <host>/CPUs/<n>/Soft_IRQs/<vec>     kSoftIrqRaised, then kSoftIrqActive
//
// The idle thread of CPU n (tid 0) is the attribute "0_<n>" (kIdlePrefix).
#ifndef VMTRACE_ANALYSES_KERNEL_KERNEL_LAYOUT_H_
#define VMTRACE_ANALYSES_KERNEL_KERNEL_LAYOUT_H_

#include <cstdint>

namespace vmtrace::kernel {

// Attribute names.
inline constexpr char kThreads[] = "Threads";
inline constexpr char kExecName[] = "Exec_name";
inline constexpr char kPid[] = "PID";
inline constexpr char kPpid[] = "PPID";
inline constexpr char kPrio[] = "Prio";
inline constexpr char kSystemCall[] = "System_call";
inline constexpr char kThreadCpu[] = "CPU";
inline constexpr char kCpus[] = "CPUs";
inline constexpr char kCurrentThread[] = "Current_thread";
inline constexpr char kIrqs[] = "IRQs";
inline constexpr char kSoftIrqs[] = "Soft_IRQs";
// Idle thread of CPU n: kIdlePrefix + n ("0_3"); its exec name is
// kSwapperPrefix + n.
inline constexpr char kIdlePrefix[] = "0_";
inline constexpr char kSwapperPrefix[] = "swapper/";

// Values of Threads/<tid> (the Trace Compass numbering).
enum ThreadStatus : int64_t {
  kThreadUnknown = 0,
  kWaitBlocked = 1,
  kRunUsermode = 2,
  kRunSyscall = 3,
  kInterrupted = 4,
  kWaitForCpu = 5,
  kWaitUnknown = 6,
  kWaitFork = 7,
};

// Values of CPUs/<n>.
enum CpuStatus : int64_t {
  kCpuIdle = 0,
  kCpuRunUsermode = 1,
  kCpuRunSyscall = 2,
  kCpuIrq = 3,
  kCpuSoftIrq = 4,
};

// Values of CPUs/<n>/Soft_IRQs/<vec>.
inline constexpr int64_t kSoftIrqActive = 1;
inline constexpr int64_t kSoftIrqRaised = 2;

// "WAIT_BLOCKED", "IDLE", ... (the truth files' spelling).
const char* ThreadStatusName(int64_t status);
const char* CpuStatusName(int64_t status);

}  // namespace vmtrace::kernel

#endif  // VMTRACE_ANALYSES_KERNEL_KERNEL_LAYOUT_H_
