// Execution graph of the KVM hosts of an experiment (vm-analyses.md c.1,
// c.2, c.4), built in the single pass from host-only kernel events.
//
// Compact form: no per-event object is kept. What the pass stores is
// - host-thread workers (host, tid): a vector of state changes (16 bytes per
//   sched_switch side or wake-up) typed RUNNING / PREEMPTED / BLOCKED /
//   TIMER / NETWORK / BLOCK_DEVICE / INTERRUPTED, the wake cause of a
//   blocked interval coming from the interrupt context the wake-up happened
//   in (hrtimer, irq, softirq NET_RX / BLOCK), and vertical wake-up edges
//   (waker tid -> wakee tid, from task-context sched_waking/sched_wakeup and
//   sched_ttwu);
// - guest-process workers (host, VM pid, CR3; the same for L2 processes:
//   CR3s of L1 and L2 do not mix, vm_model.h): the vertical edges that tell
//   why a guest process resumed: one GuestWake per interrupt injected into a
//   vCPU (the first kvm_inj_virq after an entry), bound to the CR3 the vCPU
//   next enters (into an L1 hypervisor's CR3: held until it either resumes
//   L2, then bound to it, or sleeps, then bound to the next CR3 entered).
//   An IPI's waker is the source vCPU's current CR3 at its last kvm_exit
//   before kvm_apic_accept_irq (the guest's ICR write, exit 32);
//   disk / net completions come from the QEMU I/O / vhost thread's
//   kvm_apic_accept_irq (their tid is kept as the source);
// - the guest's I/O kicks (exit 30 while a CR3 is current), used to place
//   the start of a disk/net wait before the guest's lazy-TLB idle run;
// - network messages between guests (c.5): a TCP send (`net_dev_queue`) by
//   a vhost thread is bound to the guest process whose vCPU last woke that
//   vhost (its CR3 at the vCPU's last exit, the I/O kick); a receive
//   (`net_if_receive_skb`) to the vhost thread woken in that softirq, then
//   to the next net-vector kvm_apic_accept_irq of that vhost and the
//   injection it causes. Sends and receives are matched on (seq, ack_seq,
//   flags) in Finish(), across hosts; one vhost serving several vCPUs at
//   once binds its sends to the latest waker (a documented approximation).
// The horizontal edges of guest-process workers are the VM model's process
// rows (vm_layout.h): the critical path reads them from the VM store after
// the pass rather than recomputing vm-semantics §4 (critical_path.h).
//
// Keys always include the host and the VM (vm-analyses.md c.6).
#ifndef VMTRACE_ANALYSES_GRAPH_GRAPH_MODEL_H_
#define VMTRACE_ANALYSES_GRAPH_GRAPH_MODEL_H_

#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/events/event_decoder.h"
#include "analyses/events/typed_event.h"
#include "analyses/sync/tcp_event.h"
#include "analyses/vm/vm_model.h"
#include "base/status.h"

namespace vmtrace::graph {

// Edge / path-segment causes. Codes of OSEdgeContextEnum (c.1) where one
// exists; kHypervisor is L0 working for a guest (HEC's RUNNING "HL0").
enum class Cause : uint8_t {
  kUnknown = 2,
  kRunning = 4,
  kBlocked = 5,
  kInterrupted = 6,
  kPreempted = 7,
  kTimer = 8,
  kNetwork = 9,
  kBlockDevice = 11,
  kIpi = 12,
  kHypervisor = 13,
};

enum class Layer : uint8_t { kL0 = 0, kL1 = 1, kL2 = 2 };

// "RUNNING", "BLOCK_DEVICE", ... (the truth files' spelling); "L0".."L2".
const char* CauseName(Cause c);
const char* LayerName(Layer l);
// "#339900" etc. (c.1 colours; HYPERVISOR gets its own).
const char* CauseColor(Cause c);

// An array of the graph. While the pass builds it, a vector (vec()) whose
// older elements may have been spilled to the pass's spill file (`spilled`:
// the runs written there, in order, before what vec() holds); once the
// graph is saved, a view of the mapped graph file (graph_store.h), so the
// graph is not on the heap. Readers use the const interface (contiguous,
// in order); a graph kept in memory only (no directory) stays a vector.
template <typename T>
class Column {
 public:
  struct Run {
    uint64_t offset;  // in the spill file
    uint64_t count;
  };

  const T* begin() const { return view_ != nullptr ? view_ : v_.data(); }
  const T* end() const { return begin() + size(); }
  size_t size() const { return view_ != nullptr ? n_ : v_.size(); }
  bool empty() const { return size() == 0; }
  const T& operator[](size_t i) const { return begin()[i]; }
  const T& front() const { return begin()[0]; }
  const T& back() const { return end()[-1]; }
  friend bool operator==(const Column& a, const Column& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

  // The pass's side.
  std::vector<T>& vec() { return v_; }
  std::vector<Run> spilled;
  uint64_t spilled_count = 0;
  // Elements in the spill file and in vec().
  uint64_t total() const { return spilled_count + size(); }

  // Makes this a view of `n` elements at `p` (memory owned elsewhere).
  void View(const T* p, size_t n) {
    std::vector<T>().swap(v_);
    spilled.clear();
    spilled_count = 0;
    view_ = n > 0 ? p : nullptr;
    n_ = n;
  }
  size_t heap_bytes() const {
    return v_.capacity() * sizeof(T) + spilled.capacity() * sizeof(Run);
  }

 private:
  std::vector<T> v_;
  const T* view_ = nullptr;
  size_t n_ = 0;
};

// A state change of a host thread: from `ts` on, the thread is in `cause`.
// The arrays of the graph are saved as raw bytes (graph_store.cc) and
// mapped back, so their structs have no padding (whose bytes would be
// unspecified: the graph file is the same bytes for the same trace) and are
// kept small: at 100M events the file holds ~20M host edges and ~3M guest
// wakes.
//
// Packed: 9 bytes instead of 16 (an edge per host thread state change).
// Unaligned reads cost nothing on x86; never take a reference to `ts`.
struct __attribute__((packed)) HostEdge {
  int64_t ts;
  Cause cause;
};

struct HostThread {
  uint32_t host = 0;
  int64_t tid = 0;
  Column<HostEdge> edges;
};

// A vertical edge between host threads (waker at `ts` -> wakee at `ts`).
struct HostWake {
  int64_t ts;
  int32_t waker, wakee;  // tids of the same host (pid_max <= 2^22)
};
static_assert(sizeof(HostWake) == 16);

// Why a guest process resumed: the interrupt injected into its vCPU.
// 56 bytes: times and CR3s first, then the narrow fields (tids and pids fit
// 32 bits, pid_max being at most 2^22; vectors 8; vCPU ids 16; the hosts of
// one experiment 7; the IPI's exit and the vhost's accept are microseconds
// before the injection on the same host, kept as 32-bit deltas, saturated
// at +-2.1 s).
struct GuestWake {
  int64_t inj_ts = 0;      // kvm_inj_virq on the wakee's vCPU
  uint64_t waker_cr3 = 0;  // IPI only
  // kNetwork with a matched packet (vm-analyses.md c.5): the vhost thread
  // accepted the IRQ for a packet whose send was found (on any host of the
  // experiment) and whose sending vhost had been woken by a guest vCPU.
  // Times are in the clock of their own host.
  uint64_t net_cr3 = 0;      // the sending guest process
  int64_t net_kick_ts = 0;   // its I/O kick (the exit before the vhost wake)
  int32_t wake_delta = 0;    // wake_ts() - inj_ts
  int32_t accept_delta = 0;  // accept_ts() - inj_ts
  int32_t source_tid = -1;   // thread that accepted the IRQ (-1 unknown)
  int32_t net_pid = -1;      // the sender's VM (QEMU pid)
  int16_t vector = -1;
  int16_t vcpu = -1;     // vcpu id of the wakee
  int8_t net_host = -1;  // the sender's host, -1 if not matched
  bool ipi = false;      // waker_cr3 names the waking guest process
  // The vCPU re-entered the CR3 it ran before (the guest did not switch on
  // this interrupt: it woke a process that runs later, if any).
  bool kept = false;
  // Device completion accepted by a QEMU thread for this vector: kTimer
  // (none), kBlockDevice (QEMU main or "IO *" thread) or kNetwork ("vhost-*").
  Cause device = Cause::kUnknown;

  // IPI: the source vCPU's exit; else inj_ts.
  int64_t wake_ts() const { return inj_ts + wake_delta; }
  // The receiving vhost's kvm_apic_accept_irq (kNetwork with a packet).
  int64_t accept_ts() const { return inj_ts + accept_delta; }
  // Set after inj_ts.
  void set_wake_ts(int64_t t) { wake_delta = Delta(t); }
  void set_accept_ts(int64_t t) { accept_delta = Delta(t); }

 private:
  int32_t Delta(int64_t t) const {
    return static_cast<int32_t>(
        std::clamp<int64_t>(t - inj_ts, INT32_MIN, INT32_MAX));
  }
};
static_assert(sizeof(GuestWake) == 56);
static_assert(sizeof(HostEdge) == 9);

struct GuestKey {
  uint32_t host;
  int64_t pid;
  uint64_t cr3;
  bool operator<(const GuestKey& o) const {
    return std::tie(host, pid, cr3) < std::tie(o.host, o.pid, o.cr3);
  }
};

struct GuestWorker {
  Column<GuestWake> wakes;  // by inj_ts
  Column<int64_t> kicks;    // exit 30 times while current
  // L1 hypervisor CR3s only: its kvm_entry times (L1 working for L2).
  Column<int64_t> hyp_entries;
};

// The graph as built by the pass. Read-only once Finish() ran.
struct ExecGraph {
  std::vector<std::string> hosts;  // host index -> hostname
  std::vector<HostThread> threads;
  Column<HostWake> host_wakes;                                 // by ts
  std::map<std::pair<uint32_t, int64_t>, uint32_t> thread_of;  // (host,tid)
  std::map<GuestKey, GuestWorker> guests;
  uint64_t events = 0;            // events fed
  int64_t begin = 0, end = 0;     // first and last event fed
  std::vector<int64_t> host_end;  // last event of each host (its clock)

  int HostIndex(const std::string& name) const;
  const HostThread* Thread(uint32_t host, int64_t tid) const;
  const GuestWorker* Guest(const GuestKey& k) const;
  // Bytes held on the heap by the vectors and maps (approximate).
  size_t MemoryBytes() const;

  // The mapped graph file the columns view (graph_store.h), if any.
  std::shared_ptr<const void> mapping;
  size_t mapped_bytes = 0;
  // Gives back the mapped pages read so far (after a critical-path walk):
  // they count in the server's resident set until then. Safe while others
  // read: the file is read-only, a page read again is faulted in again.
  void ReleasePages() const;
};

// Builds an ExecGraph from the events of `traces`, in timestamp order.
class GraphModel {
 public:
  // `vectors`: the VM vector configuration (which vectors are IPIs), the
  // same the VM model is built with.
  explicit GraphModel(
      const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
      vm::VmOptions vectors = {});
  ~GraphModel();
  // One decoded event, in rank order (the pass).
  void OnEvent(const events::TypedEvent& ev);
  // Decodes `ev` with the model's own decoder first (tests and tools that
  // feed this model alone).
  void OnEvent(const ctf::Event& ev);
  void Finish(int64_t end_time);
  // Keeps at most about `chunk` elements of each array of the graph in
  // memory during the pass: older ones go to the file `path` (created;
  // the caller removes it once the graph is saved, SaveGraph reads it).
  // Call before the first event. IoError if the file cannot be created.
  Status SpillTo(const std::string& path, size_t chunk);
  int spill_fd() const;
  // IoError if the spill file could not be written or read back (the graph
  // is then incomplete).
  Status spill_status() const;
  // Reads every spilled run back into memory and stops spilling (when the
  // graph could not be saved: it then stays whole on the heap).
  Status Unspill();
  const ExecGraph& graph() const { return g_; }
  ExecGraph& mutable_graph() { return g_; }

 private:
  using Ev = events::TypedEvent;
  struct Vcpu;
  struct Cpu;
  struct State;
  // One handler per event kind (`ctx_tid`: the emitting thread, from its
  // context or the CPU's current thread).
  void OnSwitch(const Ev& ev);
  void OnWakeup(const Ev& ev, Cpu& cpu, int64_t ctx_tid);
  void OnKvmEntry(const Ev& ev, int64_t ctx_tid);
  void OnKvmExit(const Ev& ev, int64_t ctx_tid);
  void OnEnterGuest(const Ev& ev, int64_t ctx_tid);
  void OnAcceptIrq(const Ev& ev, int64_t ctx_tid);
  // kvm_apic_accept_irq by a QEMU device thread (no vCPU).
  void OnDeviceIrq(const Ev& ev, int64_t ctx_tid);
  void OnInjVirq(const Ev& ev, int64_t ctx_tid);
  void OnNetSend(const Ev& ev, int64_t ctx_tid);
  void OnStatedump(const Ev& ev);
  Vcpu* VcpuOf(uint32_t host, int64_t tid);
  HostThread& Thread(uint32_t host, int64_t tid);
  void Change(uint32_t host, int64_t tid, int64_t ts, Cause c);
  // Writes all but the last element of c's vector to the spill file once it
  // holds `chunk` (the pass may still change the last one).
  template <typename T>
  void MaybeSpill(Column<T>& c);
  // Reads c's spilled runs back in front of its vector (Finish()).
  template <typename T>
  Status Gather(Column<T>& c);
  // Moves `wakes` (with their packets) to the guest worker `cr3` of v's VM.
  void Bind(uint32_t host, Vcpu& v, uint64_t cr3, std::vector<GuestWake>* wakes,
            std::vector<std::pair<bool, sync::TcpKey>>* packets, bool kept);

  bool Ipi(uint32_t host, int64_t pid, int64_t vector) const {
    return vm::IsTaskVector(vectors_, g_.hosts[host], pid, vector);
  }

  ExecGraph g_;
  vm::VmOptions vectors_;
  std::vector<std::shared_ptr<const ctf::Trace>> traces_;
  std::unique_ptr<events::EventDecoder> own_decoder_;  // OnEvent(ctf::Event)
  std::unique_ptr<State> s_;
  struct Spill;
  std::unique_ptr<Spill> spill_;
};

}  // namespace vmtrace::graph

#endif  // VMTRACE_ANALYSES_GRAPH_GRAPH_MODEL_H_
