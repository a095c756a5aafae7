// The guest side of a simulated VM, when its scenario asks for a guest
// trace (GuestSpec::trace): an LTTng-like kernel trace recorded inside the
// guest (hostname = the VM's name, one CPU per vCPU) with the state dump
// (lttng_statedump_process_state and _pid_ns, as lttng-modules 2.13 writes
// them), sched_switch, sched_process_exec and sched_process_fork, in the
// guest's clock: the host clock plus the VM's TSC offset (the host trace
// carries it as kvm_x86_write_tsc_offset).
//
// Ground truth: which guest process (pid, comm, container) holds each
// canonical CR3 over time, in host trace time. A process slot of the
// simulation takes a later identity (exec, or exit and reuse of its CR3 by a
// new process) the next time the guest switches it in after the identity's
// time, so the host sees the change at that entry.
#ifndef VMTRACE_TOOLS_GEN_SIM_GUEST_TRACE_H_
#define VMTRACE_TOOLS_GEN_SIM_GUEST_TRACE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/gen/ctf_writer.h"
#include "tools/gen/scenario.h"

namespace vmtrace::gen {

class GuestTracer {
 public:
  struct Options {
    std::string dir;   // trace directory
    std::string name;  // hostname of the guest (the VM's name)
    int vcpus = 1;
    const GuestSpec* spec = nullptr;
    CtfOptions ctf;  // the host's options (ts_base = the host's)
    std::string uuid_seed;
  };
  static StatusOr<std::unique_ptr<GuestTracer>> Create(const Options& o);

  // A process slot; `spec` null for the L1 hypervisor process of a nested
  // VM. Returns the slot index.
  int AddProcess(const GuestProcessSpec* spec, const std::string& name,
                 uint64_t cr3, int index);
  // Tracing starts: the state dump, on guest CPU 0, at host time `t`
  // (nothing earlier is written).
  void Begin(uint64_t t);
  // Slot `slot` (-1: idle) is about to run on `vcpu` at sim time `t`. If it
  // is switched in and a later identity is due, takes it. True if the
  // slot's CR3 changed (then read cr3()).
  bool Prepare(int vcpu, int slot, uint64_t t);
  uint64_t cr3(int slot) const { return slots_[slot].cr3; }
  // The entry that runs `slot` (-1: idle) happened: enter_guest at
  // `seen_ts`, kvm_entry at `entry_ts` (host times). Writes the guest's
  // sched_switch if the slot is not already current on `vcpu`.
  void Entered(int vcpu, int slot, uint64_t seen_ts, uint64_t entry_ts);
  // The CR3 the host sees for a slot under KPTI: kernel and user page
  // tables alternate, both with the slot's PCID.
  uint64_t Observed(int slot, uint64_t cr3, uint32_t* toggle) const;
  bool kpti() const { return spec_->kpti; }

  Status Close();
  // Truth of this guest, in host trace time (`to_epoch` added).
  Status WriteTruth(const std::string& path, const std::string& host,
                    int vm_pid, const std::string& vm_name, int level,
                    uint64_t l1_hypervisor_cr3, uint64_t to_epoch,
                    uint64_t end) const;
  const std::string& name() const { return name_; }

 private:
  struct Segment {
    uint64_t begin = 0;  // host sim ns (0: from the start)
    uint64_t cr3 = 0;    // canonical
    int pid = 0;
    std::string name;
    int container = -1;  // index into spec_->containers
  };
  struct Slot {
    const GuestProcessSpec* spec = nullptr;
    EventContext ctx;
    uint64_t cr3 = 0;
    int container = -1;
    int vpid = 0;
    size_t next = 0;  // next identity of spec->then
    std::vector<Segment> segments;
    bool pending_begin = false;
  };
  GuestTracer() = default;
  int ContainerIndex(const std::string& name) const;
  uint32_t NsOf(int container) const;
  int NextVpid(int container);
  EventContext Current(int vcpu) const;

  std::string name_;
  const GuestSpec* spec_ = nullptr;
  std::unique_ptr<CtfWriter> writer_;
  std::vector<Slot> slots_;
  std::vector<int> current_;  // per vCPU: slot, -1 idle, -2 none yet
  std::vector<int> last_;     // per vCPU: last non-idle slot
  std::vector<int> vpids_;    // per container: last vpid given
  uint64_t begin_ = 0;
};

}  // namespace vmtrace::gen

#endif  // VMTRACE_TOOLS_GEN_SIM_GUEST_TRACE_H_
