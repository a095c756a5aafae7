// VmModel: virtual CPUs, nested VMs and guest processes of the KVM hosts of
// an experiment, inferred from host-only kernel traces in the single pass
// and written to a state history with the layout of vm_layout.h.
//
// Rules: ../shared/reference/vm-semantics.md §1-§5, the same contract the
// trace generator's ground truth (tools/gen/truth.cc) follows:
// - VM = (host, QEMU pid); vCPU = (VM, vcpu_id) bound to the host thread
//   that emits its KVM events. The pid is the `pid` context, else the
//   statedump's pid of the thread; without either the thread's tid stands in
//   for it (counted in vm_pid_guessed). A thread is known to be a vCPU thread
//   from its first KVM event, or earlier from its QEMU name "CPU <n>/KVM"
//   (statedump, sched_switch next_comm), so its first switch-in already
//   counts (HYPERVISOR before the first entry). A thread bound at a KVM event
//   while it runs gets HYPERVISOR from its switch-in.
// - Wait labels are deferred: the interval from a blocking switch-out is
//   held, with every later write to that row queued behind it, until the
//   first kvm_inj_virq after the switch-in (its vector's reason) or the next
//   entry / blocking switch-out (WAIT_UNKNOWN); then written once. Nothing
//   written is rewritten. Still pending at the end: WAIT_UNKNOWN.
// - Vector -> reason per VM: timer {236,238,239}, task {251,252,253}, disk =
//   vectors accepted or injected by the QEMU main thread (tid == pid) or an
//   "IO *" thread, net = vectors accepted while a "vhost-<pid>" thread runs;
//   VmOptions may replace the timer/task sets and add disk/net vectors per
//   VM. A vector learnt later does not relabel anything.
// - Preempted = prev_state's low byte is 0 (TASK_RUNNING; recent kernels'
//   TASK_REPORT_MAX preemption encoding masks to 0). Without prev_state in
//   the layout, the last exit reason decides (12 HLT = wait).
// - Nested mode (§5): an exit 20/21/24 outside an L2 entry makes the current
//   CR3 the L1 hypervisor H of nested VM (VM, H). Choice where the contract
//   is silent (as the truth): in nested mode the L1 hypervisor stays the
//   current L1 process while L2 runs, so it shows RUNNING then. An L2
//   entry (§5.2) whose CR3 is already an L1 process of the same VM names no
//   L2 process (the L1 idle loop's lazy-TLB CR3; CR3s of L1 and L2 do not
//   mix in the generator's scenarios), as the truth does.
// - Guest threads: kernel-stack prefix of sptmp (more than 13 hex digits:
//   digits [1, 12)); a user-mode sp keeps the process's current thread. A
//   thread mirrors its process while current; replaced, it waits WAIT_TASK.
// Bad data (KVM events of a thread that cannot be bound, no CPU) is counted
// in stats(), never fatal.
#ifndef VMTRACE_ANALYSES_VM_VM_MODEL_H_
#define VMTRACE_ANALYSES_VM_VM_MODEL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/events/event_decoder.h"
#include "analyses/events/typed_event.h"
#include "analyses/vm/vm_layout.h"
#include "storage/state_history.h"

namespace vmtrace::vm {

// A guest kernel's interrupt vectors (per VM, for guests whose kernel uses
// other vectors than Linux's defaults).
struct VectorMap {
  std::vector<int64_t> timer;  // replaces {236, 238, 239} when not empty
  std::vector<int64_t> task;   // replaces {251, 252, 253} when not empty
  std::vector<int64_t> disk;   // added to the learnt ones
  std::vector<int64_t> net;    // added to the learnt ones
};

struct VmOptions {
  // Key "<host>/<QEMU pid>", "<host>/*" (every VM of the host), "*/<pid>"
  // or "*/*"; the most specific key applies.
  std::map<std::string, VectorMap> vectors;
  // Canonical text of the options, part of the store's fingerprint so a
  // store built with other vectors is rebuilt.
  std::string Fingerprint() const;
};

// The vector map that applies to VM `pid` of `host` (most specific key
// first: this VM, every VM of its host, this pid on any host, every VM);
// null when none does (Linux's defaults).
const VectorMap* FindVectors(const VmOptions& options, const std::string& host,
                             int64_t pid);
// True if `vector` is a timer vector of that VM ({236, 238, 239} unless
// its map says otherwise).
bool IsTimerVector(const VmOptions& options, const std::string& host,
                   int64_t pid, int64_t vector);
// True if `vector` is an IPI (task) vector of that VM ({251, 252, 253}
// unless its map says otherwise).
bool IsTaskVector(const VmOptions& options, const std::string& host,
                  int64_t pid, int64_t vector);

struct VmStats {
  uint64_t events_without_cpu = 0;
  uint64_t kvm_events_unbound = 0;  // no vCPU id to bind the thread with
  uint64_t vm_pid_guessed = 0;      // vCPU threads without a known pid
  uint64_t vcpu_rebound = 0;        // a thread seen with another vcpu id
};

class VmModel {
 public:
  // Bumped whenever what the model writes changes.
  static constexpr int kVersion = 2;  // 2: per-host ends

  VmModel(const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
          storage::StateWriter* writer, VmOptions options = {});
  ~VmModel();

  // One decoded event, in rank order (the pass).
  void OnEvent(const events::TypedEvent& ev);
  // Decodes `ev` with the model's own decoder first (tests and tools that
  // feed this model alone).
  void OnEvent(const ctf::Event& ev);
  // Writes what is still pending and closes the history at `end_time`.
  Status Finish(int64_t end_time);
  const VmStats& stats() const { return stats_; }

 private:
  // A row whose wait interval may be pending: later writes queue behind it.
  struct Row {
    storage::Quark q = 0;
    bool pending = false;
    int64_t wait_start = 0;
    std::vector<std::pair<int64_t, int64_t>> queued;  // value -1 = null
  };
  struct Thread {
    int64_t pid = -1;
    std::string name;
    int vcpu = -1;  // index into vcpus_
    bool running = false;
    int64_t since = 0;  // last switch-in
  };
  struct Host {
    std::string name;
    int64_t begin = -1, last = -1;  // first and last event of the host
    storage::Quark vms = 0;         // 0 until the first VM
    std::unordered_map<int64_t, Thread> threads;
  };
  struct Proc {
    storage::Quark q = 0, vcpu_q = 0, threads_q = 0, thread = 0;
    int64_t off_start = -1;  // pending off interval
    // Kernel-stack prefix (its hex digits 1..11, and the digit count) ->
    // thread quark.
    std::unordered_map<uint64_t, storage::Quark> threads;
  };
  struct Nested {
    storage::Quark q = 0, vcpus = 0, procs = 0;
    std::unordered_map<uint64_t, int> proc_of;  // L2 cr3 -> procs_
  };
  struct Vm {
    size_t host = 0;
    int64_t pid = 0;
    storage::Quark q = 0, name = 0, vcpus = 0, procs = 0, nested = 0;
    bool named = false;
    std::unordered_map<uint64_t, int> proc_of;  // cr3 -> procs_
    std::map<uint64_t, Nested> nested_of;       // H -> nested VM
  };
  struct Vcpu {
    int vm = 0;
    int64_t id = 0, tid = 0;
    Row row, nrow;
    storage::Quark exit = 0, preempter = 0, cr3_q = 0, vector = 0, thread = 0;
    int64_t last_exit = -1;
    bool waiting = false, awaiting_vector = false, nested_wait = false;
    uint64_t cr3 = 0;
    bool has_cr3 = false;
    bool nested_mode = false, expect_l2 = false, last_entry_l2 = false;
    bool entry_is_l2 = false, end_nested_at_entry = false;
    uint64_t nested_h = 0;
    int cur[3] = {-1, -1, -1};  // current process per level (1, 2)
    bool fresh[3] = {false, false, false};
    int64_t reason = kWaitUnknown;  // label of the last wait
    int64_t last = kVcpuUnknown;    // last state set on the row
  };
  struct Learnt {
    std::set<int64_t> disk, net;
  };

  using Ev = events::TypedEvent;
  // --- vm_model.cc: dispatch, one handler per event kind ---
  // False for events the VM model ignores (and for KVM events lacking the
  // field they are about).
  static bool Relevant(const Ev& ev);
  void OnStatedump(const Ev& ev);
  void OnSwitch(const Ev& ev);
  // KVM events: the emitting thread (tid context, else the CPU's current
  // thread; -1 if neither is known).
  int64_t KvmThread(const Ev& ev);
  void OnAcceptIrq(const Ev& ev, int64_t tid);
  void OnInjVirq(const Ev& ev, int64_t tid);
  void OnKvmEntry(const Ev& ev, int64_t tid);
  void OnKvmExit(const Ev& ev, int64_t tid);
  void OnEnterGuest(const Ev& ev, int64_t tid);
  // --- vm_model.cc: identities, binding, vectors ---
  Vm& GetVm(size_t host, int64_t pid);
  int GetVcpu(size_t host, int64_t pid, int64_t id, int64_t tid);
  int BindThread(const Ev& ev, int64_t tid, int64_t vcpu_id);
  void NameVm(Vm& vm);
  int64_t ReasonOf(const Vm& vm, int64_t vector) const;
  void LearnVector(const Ev& ev, int64_t tid, int64_t vector, bool accept);
  // --- vm_vcpu.cc: the vCPU and nested-vCPU state machine (§3, §5) ---
  void Put(Row& r, int64_t t, int64_t value);
  void BeginWait(Row& r, int64_t t);
  void Resolve(Row& r, int64_t label);
  void SetRow(Vcpu& v, int64_t t, int64_t state);
  void LabelWait(Vcpu& v, int64_t reason);
  void SwitchIn(Vcpu& v, int64_t t);
  void SwitchOut(Vcpu& v, int64_t t, bool runnable, bool next_is_vcpu,
                 int64_t next_tid);
  void EnterGuest(Vcpu& v, int64_t t, uint64_t cr3, bool has_sp, uint64_t sp);
  void Entry(Vcpu& v, int64_t t);
  void Exit(Vcpu& v, int64_t t, int64_t reason);
  void Inject(Vcpu& v, int64_t t, int64_t vector);
  // --- vm_process.cc: guest processes and threads (§4) ---
  int GetProc(Vcpu& v, int level, uint64_t cr3);
  void SetProc(Proc& p, int64_t t, int64_t state);
  void GoOff(Vcpu& v, int level, int64_t t);
  void Name(Vcpu& v, int level, int64_t t, int proc);
  void SetThread(Vcpu& v, Proc& p, int64_t t, bool has_sp, uint64_t sp);

  storage::StateWriter* w_;
  VmOptions options_;
  std::vector<Host> hosts_;  // by TypedEvent::host
  std::vector<std::shared_ptr<const ctf::Trace>> traces_;
  std::unique_ptr<events::EventDecoder> own_decoder_;    // OnEvent(ctf::Event)
  std::unordered_map<uint64_t, int> vm_of_;              // (host << 40) | pid
  std::unordered_map<uint64_t, int> vcpu_of_;            // (vm << 32) | vcpu id
  std::map<std::pair<size_t, int64_t>, Learnt> learnt_;  // (host, pid)
  std::vector<Vm> vms_;
  std::vector<Vcpu> vcpus_;
  std::vector<Proc> procs_;
  VmStats stats_;
};

}  // namespace vmtrace::vm

#endif  // VMTRACE_ANALYSES_VM_VM_MODEL_H_
