// Bounded critical path (vm-analyses.md c.3) of a host thread, a guest
// process (host, VM pid, CR3) or an L2 process (host, VM pid, L1 hypervisor
// CR3, L2 CR3) over [start, end), on the execution graph of graph_model.h.
//
// Guest processes (HEC, c.4) follow the ground truth's rules
// (docs/generator.md, "critical_path"), with what host-only events can tell:
// - the process's horizontal edges are its VM-model row (vm_layout.h):
//   RUNNING -> RUNNING at its layer (L1/L2); VCPU_HYPERVISOR -> HYPERVISOR
//   and VCPU_PREEMPTED -> PREEMPTED at L0, while the process stays current;
// - an off period (a WAIT_* label) starts when the process last ran (the end
//   of its last RUNNING interval; for a disk/net wait, at the I/O kick, exit
//   30, when the guest then only idled under the same CR3 for < 20 us) and
//   ends at its next RUNNING. It splits at the wake-up, the interrupt
//   injected into its vCPU (GuestWake): before it the wait's cause (TIMER,
//   BLOCK_DEVICE, NETWORK), after it PREEMPTED at the guest's layer (runnable
//   in the guest, not yet running);
// - a WAIT_TASK off period: if the wake-up is an IPI from another guest
//   process, that process's path (recursively) up to its exit that sent
//   the IPI, then IPI until the injection (a vertical edge, an arrow); if
//   the wake-up bound to the process itself is a timer (236/238/239) or
//   device vector, that cause then PREEMPTED (it fired while another process
//   had the vCPU). Otherwise the host saw nothing that names the waker; in
//   this order:
//   (kt) a timer injected into its vCPU while another process ran, that
//   the guest did not switch on (the vCPU re-entered the same CR3,
//   GuestWake::kept), woke it: TIMER until then, PREEMPTED after;
//   (guess) a wake-up on the same vCPU: the waker is the process of its
//   level (L1 or the same nested VM's L2, not an L1 hypervisor) that ran
//   last on its vCPU before it runs again, its path up to that last run,
//   then PREEMPTED — unless kt is bound to that process or comes after that
//   run (kt wins);
//   (ht) a timer the L1 hypervisor took (interrupts go to L1 first: a wake
//   held at the hypervisor's entry binds to it if it resumes L2, to the
//   next L1 process if it sleeps, graph_model.h) after the guessed waker's
//   last run, or with no guess: TIMER until then;
//   (ki) like kt, an IPI injected into its vCPU while another process ran
//   and not switched on: its sender's path, then IPI (the later of kt and
//   ki, when either wins over the guess by the same test);
//   else PREEMPTED at its layer for the whole period;
// - a WAIT_TASK period right after an I/O kick whose disk / net completion
//   was injected while another process ran: the device wait from the kick,
//   as for WAIT_DISK / WAIT_NET;
// - a WAIT_TIMER period whose interrupt was bound to another process (it
//   fired while that one ran): TIMER until kt, then PREEMPTED;
// - an L1 process entered in nested mode right after an L2 entry counts as
//   L2 for the VM model (vm-semantics §5.2); its runs there, on a row of
//   its CR3 under the nested VM, are laid over its L1 row's off periods;
// - an L2 process, runnable after its wake-up, is HYPERVISOR at L0 from the
//   L1 hypervisor's entry that resumes it (L1 working for L2); first seen
//   (right after a VMLAUNCH / VMRESUME), it is HYPERVISOR until it runs;
// - a wait still open at the end of its host's trace is BLOCKED (what
//   would end it is after the end); after an I/O kick and only the idle run
//   since, BLOCKED from the kick;
// - a network wait (WAIT_NET, or a net-device wake of a WAIT_TASK period)
//   ended by a packet that a guest process sent (graph_model.h: matched TCP
//   send, on any host): if the sender's I/O kick came after the wait began,
//   the sender's path (recursively, on its own host) up to the kick; then
//   the network hop, a `network` worker at L0, from the kick (or the wait's
//   start) until the receiving vhost accepted the packet; then NETWORK at
//   the process's layer until the interrupt is injected; then PREEMPTED at
//   its layer until it runs. A packet from outside the experiment: NETWORK.
// Several hosts: every time of the result is in the clock of the path
// owner's host; the other hosts' times are converted with `clocks` (the
// experiment's clock synchronisation; null or identity: raw times).
// Timer vectors are the VM vector configuration's (PathOptions::vectors,
// the same the VM model was built with; null: Linux's 236/238/239).
// Host threads: RUNNING / PREEMPTED / TIMER / ... pass through at L0; a
// BLOCKED interval ended by a task-context wake-up is replaced by the
// waker's path up to the wake-up.
// Errors (unknown worker, no VM store for a guest worker) are Status, never
// exceptions.
#ifndef VMTRACE_ANALYSES_GRAPH_CRITICAL_PATH_H_
#define VMTRACE_ANALYSES_GRAPH_CRITICAL_PATH_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "analyses/graph/graph_model.h"
#include "analyses/sync/clock_sync.h"
#include "analyses/vm/vm_model.h"
#include "base/status.h"
#include "storage/state_history.h"

namespace vmtrace::graph {

struct WorkerId {
  // kNetwork: the hop of a message from VM (host, id) to VM (hcr3 = host
  // index, cr3 = QEMU pid) of the receiving process.
  enum Kind : uint8_t { kHostThread, kGuest, kL2, kNetwork };
  Kind kind = kGuest;
  uint32_t host = 0;
  int64_t id = 0;     // tid (host thread) or QEMU pid
  uint64_t hcr3 = 0;  // kL2: the L1 hypervisor's CR3
  uint64_t cr3 = 0;   // kGuest / kL2
  bool operator==(const WorkerId& o) const {
    return kind == o.kind && host == o.host && id == o.id && hcr3 == o.hcr3 &&
           cr3 == o.cr3;
  }
  bool operator<(const WorkerId& o) const {
    return std::tie(kind, host, id, hcr3, cr3) <
           std::tie(o.kind, o.host, o.id, o.hcr3, o.cr3);
  }
};

struct PathSegment {
  WorkerId worker;
  int64_t start = 0, end = 0;  // half-open
  Cause cause = Cause::kUnknown;
  Layer layer = Layer::kL0;
};

// A vertical edge on the path: `from` woke `to` at `ts`.
struct PathArrow {
  WorkerId from, to;
  int64_t ts = 0;
  Cause cause = Cause::kIpi;
};

struct CriticalPath {
  // Contiguous, in time order. A deque: a path as long as the trace grows
  // in chunks, never copied whole into a buffer twice its size (the
  // vector's doubling held 1.5x the path at each step, peak RSS).
  std::deque<PathSegment> segments;
  std::vector<PathArrow> arrows;
};

// "0x11a000" (the VM store's and the truth's CR3 spelling).
std::string Cr3Text(uint64_t cr3);
// "host/tid", "host/pid/0xcr3", "host/pid/0xhcr3/0xcr3",
// "network host/pid -> host/pid".
std::string WorkerLabel(const ExecGraph& g, const WorkerId& w);

struct PathOptions {
  const sync::ClockSync* clocks = nullptr;  // several hosts
  const vm::VmOptions* vectors = nullptr;   // the VM model's vector maps
};

// The path of `w` over [start, end). `vm` is the VM model's store (needed
// for guest workers; may be null for host threads). A guest worker's path
// starts when the VM model first saw it (not before `start`). What
// `options` points to must outlive the call.
StatusOr<CriticalPath> ComputeCriticalPath(const ExecGraph& g,
                                           const storage::StateHistory* vm,
                                           const WorkerId& w, int64_t start,
                                           int64_t end,
                                           PathOptions options = {});

// Whether `w` exists in a complete graph and VM model: OK for a host
// thread of the graph, or a guest (L2) process with a row in `vm`; else
// NotFound naming the worker (InvalidArgument for a network hop).
Status FindWorker(const ExecGraph& g, const storage::StateHistory* vm,
                  const WorkerId& w);

}  // namespace vmtrace::graph

#endif  // VMTRACE_ANALYSES_GRAPH_CRITICAL_PATH_H_
