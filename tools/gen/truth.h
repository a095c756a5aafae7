// Ground truth of a generated host trace.
//
// Two kinds of timelines are kept, both in simulation time (ns):
//  - *Semantic* timelines: the states that docs/vm-semantics.md defines from
//    host-only events. The simulator feeds the KVM/scheduler facts it emits
//    (switch in/out, entry, exit, enter_guest CR3, injected vector) to a
//    TruthRecorder, which applies the contract's rules (deferred wait labels,
//    nested mode rules, CR3 labelling). These are what an analysis must find.
//  - *Actual* timelines of guest processes: what the simulated guest really
//    did (running, runnable in the guest run queue, blocked and why, who woke
//    it). Where they differ from the semantic ones the host trace cannot tell;
//    the truth file lists these differences as "unobservable".
// The true critical path of each guest process is derived from the actual
// timelines and the recorded wake-ups.
#ifndef VMTRACE_TOOLS_GEN_TRUTH_H_
#define VMTRACE_TOOLS_GEN_TRUTH_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "base/status.h"

namespace vmtrace::gen {

enum class VState : uint8_t {
  kUnknown,
  kGuest,
  kGuestL2,
  kHypervisor,
  kL1ForL2,
  kPreemptedHost,
  kPreemptedVm,
  kWaitTimer,
  kWaitDisk,
  kWaitNet,
  kWaitTask,
  kWaitUnknown,
  kNone,  // nested vCPU row outside nested mode: no state
};

enum class PState : uint8_t {
  kUnknown,
  kRunning,
  kVcpuHypervisor,
  kVcpuPreempted,
  kWaitTimer,
  kWaitDisk,
  kWaitNet,
  kWaitTask,
  kWaitUnknown,
};

// What the simulated guest process was really doing.
enum class AState : uint8_t {
  kNotStarted,
  kRunning,     // its code runs (in L1 or L2)
  kHypervisor,  // current on its vCPU, vCPU in L0 (or L1 working for L2)
  kPreempted,   // current on its vCPU, vCPU thread preempted on the host
  kReady,       // runnable in the guest run queue, another process runs
  kTimer,       // blocked on a guest timer
  kDisk,        // blocked on a disk request
  kNet,         // blocked on the network (external peer or incoming request)
  kTask,        // blocked until another guest process wakes it
  kReply,       // blocked on a request to a server process
};

const char* VStateName(VState s);
const char* PStateName(PState s);
const char* AStateName(AState s);

struct Interval {
  uint64_t start = 0;
  uint64_t end = 0;
  uint8_t state = 0;
  int32_t info = -1;  // exit reason, preempting tid, or BlockInfo index
};

// A sequence of contiguous intervals with an open last one.
class Timeline {
 public:
  // Starts `state` at `ts` (closing the open interval). Returns its index.
  size_t Set(uint64_t ts, uint8_t state, int32_t info = -1);
  void Close(uint64_t end);
  bool open() const { return open_; }
  uint8_t state() const { return open_ ? items_.back().state : 0; }
  std::vector<Interval>& items() { return items_; }
  const std::vector<Interval>& items() const { return items_; }

 private:
  std::vector<Interval> items_;
  bool open_ = false;
};

enum class WaitReason : uint8_t { kTimer, kDisk, kNet, kTask, kUnknown };

// Who ended a blocked interval (for the critical path).
struct BlockInfo {
  int waker_host = -1;    // host index of the waker
  int waker = -1;         // process index in that host, -1 = outside source
  uint64_t wake_ts = 0;   // when the waker acted (network: its I/O kick)
  uint64_t block_ts = 0;  // when this process blocked
  // Network waits (kReply, kNet serving a request): when the waker's packet
  // reached this VM (its vhost thread accepted the IRQ); 0 if it did not.
  uint64_t accept_ts = 0;
};

struct ProcTruth {
  std::string name;
  std::string worker;  // "<host>/<vm>/<proc>" or "<host>/<vm>/<nested>/<proc>"
  int host = 0;        // index of the host in the scenario
  int vm = 0;          // VM index within the host's recorder
  int vcpu = 0;        // vCPU index within the VM
  int level = 1;       // 1 or 2
  bool hypervisor = false;
  uint64_t cr3 = 0;
  Timeline semantic;
  Timeline actual;
  int32_t off_index = -1;  // semantic interval waiting for its WAIT_ label
};

struct VcpuTruth {
  int tid = 0;
  Timeline row;
  Timeline nested_row;
  // Observer state (vm-semantics.md sections 3-5).
  bool waiting = false;
  bool awaiting_vector = false;
  int32_t wait_index = -1;
  int32_t nested_wait_index = -1;
  uint64_t cr3 = 0;  // C: the latest enter_guest CR3
  bool nested_mode = false;
  bool expect_l2 = false;
  bool last_entry_l2 = false;
  bool entry_is_l2 = false;  // decided at enter_guest
  bool end_nested_at_entry = false;
  int cur[3] = {-1, -1, -1};  // current process per level (1, 2)
  bool fresh[3] = {false, false, false};
  WaitReason reason = WaitReason::kUnknown;
  bool in_guest = false;
  VState last = VState::kUnknown;
};

struct VmTruth {
  std::string name;
  int pid = 0;
  int vector_timer = 236, vector_ipi = 253, vector_disk = 34, vector_net = 35;
  std::vector<VcpuTruth> vcpus;
  bool has_nested = false;
  std::string nested_name;
  uint64_t hypervisor_cr3 = 0;
  int nested_vcpus = 0;
  std::vector<int> procs;  // indices into TruthRecorder::procs()
};

// Per host. All timestamps given to it are simulation ns.
class TruthRecorder {
 public:
  // A disabled recorder ignores every input (used with --no-truth, so that
  // 100M-event traces need no memory for intervals).
  void set_enabled(bool on) { enabled_ = on; }
  bool enabled() const { return enabled_; }
  int AddVm(const VmTruth& vm);
  int AddProc(ProcTruth p);
  std::vector<ProcTruth>& procs() { return procs_; }
  std::vector<VmTruth>& vms() { return vms_; }
  std::vector<BlockInfo>& blocks() { return blocks_; }

  void Begin(uint64_t ts);
  // Semantic inputs, with the timestamps of the emitted events.
  void SwitchIn(int vm, int vcpu, uint64_t ts);
  void SwitchOut(int vm, int vcpu, uint64_t ts, bool runnable,
                 bool next_is_vcpu, int next_tid);
  void EnterGuest(int vm, int vcpu, uint64_t ts, uint64_t cr3);
  void Entry(int vm, int vcpu, uint64_t ts);
  void Exit(int vm, int vcpu, uint64_t ts, int reason);
  void Inject(int vm, int vcpu, uint64_t ts, int vector);
  // Actual inputs.
  void Actual(int proc, uint64_t ts, AState s, int32_t info = -1) {
    if (enabled_) procs_[proc].actual.Set(ts, static_cast<uint8_t>(s), info);
  }
  void Finish(uint64_t end);

  struct HostInfo {
    std::string host;
    std::string scenario;
    uint64_t seed = 0;
    uint64_t events = 0;
    uint64_t to_epoch_ns = 0;  // add to a simulation ns to get trace time
  };
  // `all` holds every host's recorder (critical paths cross hosts);
  // `to_epoch` their offsets.
  Status WriteJson(const std::string& path, const HostInfo& info,
                   const std::vector<TruthRecorder*>& all,
                   const std::vector<uint64_t>& to_epoch) const;

 private:
  void SetRow(VcpuTruth& v, int vm, uint64_t ts, VState s, int32_t info);
  void Name(VcpuTruth& v, int vm, int level, uint64_t ts, int proc);
  void GoOff(VcpuTruth& v, int level, uint64_t ts);
  void LabelWait(VcpuTruth& v, WaitReason r);
  int FindProc(int vm, int level, uint64_t cr3) const;

  std::vector<VmTruth> vms_;
  std::vector<ProcTruth> procs_;
  std::vector<BlockInfo> blocks_;
  uint64_t begin_ = 0;
  uint64_t end_ = 0;
  bool enabled_ = true;
};

}  // namespace vmtrace::gen

#endif  // VMTRACE_TOOLS_GEN_TRUTH_H_
