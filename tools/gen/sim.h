// The deterministic discrete-event simulation behind vmtrace-gen.
//
// Host model: every host thread is pinned to one CPU; each CPU runs one
// thread at a time (or its idle thread). Host processes, QEMU I/O threads and
// vhost threads preempt vCPU threads when they wake; vCPU threads sharing a
// CPU are scheduled round-robin with the host timeslice.
// vCPU/KVM model: a vCPU thread alternates between root mode (HYPERVISOR) and
// guest mode between kvm_entry and kvm_exit; addons_vcpu_enter_guest names
// the CR3 about to run before each entry. A halted guest (HLT, exit 12)
// blocks the vCPU thread until an interrupt is delivered; the first vector
// injected after it runs again is the one that woke it.
// Guest model: processes are pinned to a vCPU and scheduled round-robin by a
// per-vCPU guest scheduler; a guest context switch is always made at an exit
// so that the host sees the new CR3. Nested VMs: an L1 hypervisor process
// runs the L2 processes of its vCPU through VMLAUNCH/VMRESUME exits (20/24).
//
// Every action happens at one instant on one host CPU and only emits events
// on that CPU; effects on other CPUs are scheduled as later actions, so
// wake-ups precede the switch-ins they cause and streams stay monotonic.
#ifndef VMTRACE_TOOLS_GEN_SIM_H_
#define VMTRACE_TOOLS_GEN_SIM_H_

#include <cstdint>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/gen/ctf_writer.h"
#include "tools/gen/scenario.h"
#include "tools/gen/sim_guest_trace.h"
#include "tools/gen/truth.h"

namespace vmtrace::gen {

struct GenOptions {
  uint64_t seed = 0;
  bool seed_set = false;       // otherwise the scenario's seed
  uint64_t target_events = 0;  // 0: run for the scenario duration
  bool write_truth = true;
  CtfOptions ctf;
};

struct HostReport {
  std::string name;
  std::string trace_dir;
  std::string truth_file;
  uint64_t events = 0;
  uint64_t bytes = 0;
};

struct GenReport {
  std::vector<HostReport> hosts;
  uint64_t events = 0;
  uint64_t sim_ns = 0;
};

// A fixed-capacity FIFO that never allocates after construction.
template <typename T>
class Ring {
 public:
  void Init(size_t cap) { buf_.assign(cap + 1, T{}); }
  bool empty() const { return head_ == tail_; }
  size_t size() const { return (tail_ + buf_.size() - head_) % buf_.size(); }
  bool Push(const T& v) {
    size_t next = (tail_ + 1) % buf_.size();
    if (next == head_) return false;
    buf_[tail_] = v;
    tail_ = next;
    return true;
  }
  T Pop() {
    T v = buf_[head_];
    head_ = (head_ + 1) % buf_.size();
    return v;
  }
  T& At(size_t i) { return buf_[(head_ + i) % buf_.size()]; }
  void RemoveAt(size_t i) {
    for (size_t k = i; k + 1 < size(); ++k) At(k) = At(k + 1);
    tail_ = (tail_ + buf_.size() - 1) % buf_.size();
  }
  void Clear() { head_ = tail_ = 0; }

 private:
  std::vector<T> buf_;
  size_t head_ = 0, tail_ = 0;
};

class Simulator {
 public:
  Simulator(const Scenario& scenario, const GenOptions& options);
  ~Simulator();
  Status Run(const std::string& out_dir, GenReport* report);

 private:
  enum class Kind : uint8_t { kIdle, kHostProc, kVcpu, kIo, kVhost };
  enum class TState : uint8_t { kRunning, kRunnable, kBlocked };
  enum class Mode : uint8_t { kRoot, kGuest };
  enum class Act : uint8_t {
    kResched,
    kSlice,
    kHostProcWake,
    kHostProcDone,
    kVcpuEnter,
    kGuestTick,
    kVcpuBlock,
    kVcpuKick,
    kGuestTimer,
    kIoRun,
    kDiskIrq,
    kVhostRun,
    kNetRx,
  };
  enum class Wait : uint8_t {
    kNone,
    kTimer,
    kDisk,
    kNet,
    kTask,
    kServe,
    kReply
  };
  // Packet kinds carried through vhost threads.
  enum PacketKind : uint32_t {
    kPktReply = 0,
    kPktRequest = 1,
    kPktResponse = 2
  };

  struct Action {
    uint64_t t;
    uint64_t order;
    Act kind;
    uint32_t host, a, b, c, d, e;
  };
  struct Later {
    bool operator()(const Action& x, const Action& y) const {
      return x.t != y.t ? x.t > y.t : x.order > y.order;
    }
  };
  struct Thread {
    EventContext ctx;
    Kind kind = Kind::kIdle;
    TState state = TState::kBlocked;
    int cpu = 0;
    int prio = 20;
    int vm = -1;    // host-local VM index (vCPU, I/O, vhost threads)
    int vcpu = -1;  // host-local vCPU index
    int spec = -1;  // host process spec index
    uint32_t epoch = 0;
    uint64_t remaining = 0;
    uint64_t run_start = 0;
  };
  struct Cpu {
    int idle = 0;
    int current = 0;
    Ring<int> rq;
    uint64_t slice_start = 0;
    uint32_t slice_epoch = 0;
  };
  struct Pending {
    int vector = 0;
    int proc = -1;
    Wait kind = Wait::kNone;
  };
  struct Packet {
    uint32_t dest, kind, src, seq, ack;
    uint64_t latency;
  };
  struct Effect {
    StepKind kind = StepKind::kRun;  // kRun: none
    int proc = -1;
    uint64_t ns = 0;
    int sender = -1;  // global id of the process that ran the step
  };
  struct Vcpu {
    int vm = 0, index = 0, thread = 0;
    Mode mode = Mode::kRoot;
    uint32_t epoch = 0;
    int cur1 = -1, cur2 = -1;  // current L1 process (may be the hypervisor)
    Ring<int> rq1, rq2;
    Ring<Pending> pending;
    uint64_t entry_ts = 0;
    uint64_t slice_left = 0;
    uint64_t spurious_left = 0;
    bool idle = false;      // in guest with nothing to run: HLT is next
    bool in_l2 = false;     // current entry is into L2
    bool l2_next = false;   // VMRESUME done: next entry goes to L2
    bool l1_phase = false;  // hypervisor runs at L1 for its L2 guest
    bool launched = false;
    bool reflect = false;  // exit from L2 goes through the L1 hypervisor
    bool tick_slice = false, tick_spurious = false;
    uint64_t last_l1_cr3 = 0;
    uint32_t kpti_toggle = 0;  // KPTI: user/kernel page table alternation
    Effect effect;
  };
  struct Proc {
    const GuestProcessSpec* spec = nullptr;
    int vm = 0, vcpu = 0, level = 1;  // vcpu: host-local vCPU index
    bool hypervisor = false;
    uint64_t cr3 = 0;
    size_t step = 0;
    uint64_t remaining = 0;  // of the current run step
    bool blocked = false, queued = false;
    Wait waiting = Wait::kNone;
    int tokens = 0;
    int inbox = 0;
    Ring<int> requesters;  // global ids of clients
    int reply_to = -1;
    int32_t block_info = -1;
    uint32_t timer_epoch = 0;
    uint32_t snd = 1000, rcv = 5000;
    int gid = 0;               // global id: host << 16 | index
    int slot = -1;             // its slot in its guest's tracer, if traced
    std::vector<int> targets;  // per step: wake target index / request gid
  };
  struct Vm {
    const VmSpec* spec = nullptr;
    int first_vcpu = 0;
    int io = 0, vhost = 0;   // thread indices
    Ring<Pending> io_queue;  // proc, latency in `vector`-less form
    Ring<uint64_t> io_lat;
    Ring<int> io_done;
    Ring<Packet> tx;
    Ring<Packet> rx;
    int hypervisor = -1;  // proc index of the L1 hypervisor
    uint32_t ip = 0;
    uint64_t sector = 2048;
    // Guest traces (GuestSpec::trace): [0] the VM's, [1] its nested VM's.
    std::unique_ptr<GuestTracer> tracer[2];
  };
  struct Host {
    uint32_t index = 0;
    const HostSpec* spec = nullptr;
    std::unique_ptr<CtfWriter> writer;
    TruthRecorder truth;
    std::vector<Thread> threads;
    std::vector<Cpu> cpus;
    std::vector<Vm> vms;
    std::vector<Vcpu> vcpus;
    std::vector<Proc> procs;
  };

  // Setup (sim.cc).
  Status Build(const std::string& out_dir);
  int AddThread(Host& h, const std::string& name, int pid, int tid, int cpu,
                Kind kind);
  void Schedule(uint64_t t, Act kind, uint32_t host, uint32_t a = 0,
                uint32_t b = 0, uint32_t c = 0, uint32_t d = 0, uint32_t e = 0);
  void Dispatch(const Action& a);
  uint64_t Jit(uint64_t ns);
  uint64_t Small(uint64_t lo, uint64_t hi);

  // Host scheduler (sim_host.cc).
  const EventContext& Cur(Host& h, int cpu) {
    return h.threads[h.cpus[cpu].current].ctx;
  }
  uint64_t Wake(Host& h, int thread, int waker_cpu, uint64_t t);
  void Resched(Host& h, int cpu, uint64_t t, bool slice);
  void SwitchTo(Host& h, int cpu, uint64_t t, int next);
  void Block(Host& h, int thread, uint64_t t);
  uint64_t InterruptCpu(Host& h, int cpu, uint64_t t);
  void HostProcWake(Host& h, int thread, uint64_t t);
  void HostProcDone(Host& h, int thread, uint32_t epoch, uint64_t t);
  void IoRun(Host& h, int vm, uint32_t epoch, uint64_t t);
  void DiskIrq(Host& h, int vm, int proc, uint64_t t);
  void VhostRun(Host& h, int vm, uint32_t epoch, uint64_t t);
  void NetRx(Host& h, const Action& a);
  uint64_t Deliver(Host& h, int vcpu, int vector, int proc, Wait kind,
                   int waker_cpu, uint64_t t);

  // vCPU and guest (sim_guest.cc).
  void VcpuSwitchedIn(Host& h, int vcpu, uint64_t t);
  void VcpuSwitchedOut(Host& h, int vcpu, uint64_t t, bool runnable, int next);
  uint64_t VcpuExit(Host& h, int vcpu, uint64_t t, int reason);
  void VcpuEnter(Host& h, int vcpu, uint32_t epoch, uint64_t t);
  void GuestTick(Host& h, int vcpu, uint32_t epoch, uint64_t t);
  void VcpuBlock(Host& h, int vcpu, uint32_t epoch, uint64_t t);
  void VcpuKick(Host& h, int vcpu, uint32_t epoch, uint64_t t);
  void GuestTimer(Host& h, int proc, uint32_t epoch, uint64_t t);
  void GuestWake(Host& h, int proc, Wait kind, uint64_t t);
  // Runs the current process's instantaneous steps; returns the exit reason
  // needed (0: keep running) and sets *blocks when the process blocked.
  int AdvanceSteps(Host& h, int vcpu, int proc, uint64_t t, bool* blocks);
  bool HypervisorRunnable(Host& h, const Vcpu& v) const;
  void PickProcess(Host& h, Vcpu& v, uint64_t t, bool from_l2);
  void SetActualCurrent(Host& h, const Vcpu& v, uint64_t t, AState s);
  void ScheduleTick(Host& h, int vcpu, uint64_t t);
  uint64_t DoEffect(Host& h, int vcpu, uint64_t t);
  // Guest traces (sim_guest.cc): before an entry, the identity changes of
  // the process about to run; after it, the guest's sched_switch.
  void GuestTraceBefore(Host& h, Vcpu& v, uint64_t t);
  uint64_t GuestTraceCr3(Host& h, Vcpu& v, int pidx, bool l2, uint64_t cr3);
  void GuestTraceAfter(Host& h, Vcpu& v, bool l2, uint64_t seen_ts,
                       uint64_t entry_ts);
  Status BuildGuestTracers(Host& h, const std::string& out_dir);
  Status FinishGuestTracers(Host& h, const std::string& out_dir,
                            uint64_t to_epoch, uint64_t end);
  void BlockProc(Host& h, int proc, Wait kind, AState actual, uint64_t t,
                 int waker_gid);
  Proc& ProcByGid(int gid) { return hosts_[gid >> 16]->procs[gid & 0xffff]; }

  const Scenario& sc_;
  GenOptions opt_;
  std::mt19937_64 rng_;
  std::priority_queue<Action, std::vector<Action>, Later> queue_;
  uint64_t order_ = 0;
  std::vector<std::unique_ptr<Host>> hosts_;
  uint64_t events_ = 0;
};

}  // namespace vmtrace::gen

#endif  // VMTRACE_TOOLS_GEN_SIM_H_
