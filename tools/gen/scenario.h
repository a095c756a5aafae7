// Scenario files of vmtrace-gen: the description of hosts, VMs, guest
// processes and their workloads that the simulator turns into host kernel
// traces plus ground truth. The JSON format is documented in
// docs/generator.md; ParseScenario() is strict: an unknown key, a negative
// duration or a reference to something that does not exist is an error whose
// message names the offending path (e.g. "hosts[0].vms[1].processes[2].vcpu").
#ifndef VMTRACE_TOOLS_GEN_SCENARIO_H_
#define VMTRACE_TOOLS_GEN_SCENARIO_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace vmtrace::gen {

// One step of a guest process's workload. Workloads loop forever; the
// simulation stops at the scenario duration or at the requested event count.
enum class StepKind {
  kRun,    // consume `ns` of guest CPU time
  kSleep,  // block on a guest timer for `ns`
  kDisk,   // virtio-blk request; the QEMU I/O thread completes it after `ns`
  kNet,    // send a packet to an outside peer, block until its reply (`ns`)
  kWake,  // wake process `target` of the same VM level (IPI if on another vCPU)
  kWait,  // block until another process wakes this one
  kRequest,  // send a request to `target` ("host/vm/process") and wait for the
             // reply
  kServe,    // block until a request arrives
  kRespond,  // reply to the last request served
};

struct Step {
  StepKind kind = StepKind::kRun;
  uint64_t ns = 0;
  std::string target;  // kWake: process name; kRequest: "host/vm/process"
};

// A later identity of a guest process slot (written to the guest trace
// only): from `at_ns` on, the next time the guest scheduler switches the
// slot in, it is this process. The same pid is an exec (new comm, maybe a
// new page table); another pid is a new process that reuses the CR3 after
// the previous one exited.
struct IdentitySpec {
  uint64_t at_ns = 0;
  std::string name;
  int pid = 0;
  uint64_t cr3 = 0;       // 0: keep the CR3
  std::string container;  // "": keep the container
};

struct GuestProcessSpec {
  std::string name;
  uint64_t cr3 = 0;
  int vcpu = 0;  // index into the VM's (or nested VM's) vCPUs
  std::vector<Step> workload;
  // Guest-trace side (GuestSpec::trace): the guest pid (0: 1000 + 10 *
  // index), its container ("": the root namespaces) and later identities.
  int pid = 0;
  std::string container;
  std::vector<IdentitySpec> then;
};

// A container inside a guest: its pid namespace inode, cgroup path and
// name (the truth's; a guest trace shows the inode and the comm of the
// container's first process).
struct ContainerSpec {
  std::string name;
  uint32_t pid_ns = 0;
  std::string cgroup;
};

// What runs inside a guest beyond what the host sees: containers, and
// whether an LTTng trace of the guest is written (sim_guest_trace.h).
struct GuestSpec {
  bool trace = false;
  // Guest TSC = host TSC + offset (ns at 1 GHz); written to the host trace
  // as kvm_x86_write_tsc_offset unless `write_tsc_offset` is false.
  int64_t tsc_offset_ns = -250'000;
  bool write_tsc_offset = true;
  // KPTI: the host sees each process under two CR3s (bit 12: user page
  // table) with PCID bits set.
  bool kpti = false;
  std::vector<ContainerSpec> containers;
};

struct ThreadSpec {
  int tid = 0;
  int cpu = 0;
};

// A nested VM runs inside an L1 VM: an L1 hypervisor process (CR3 `cr3`)
// whose vCPU threads run on the L1 vCPUs with the same index.
struct NestedVmSpec {
  std::string name;
  std::string hypervisor_name = "qemu-l2";
  uint64_t hypervisor_cr3 = 0;
  int vcpus = 1;
  std::vector<GuestProcessSpec> processes;
  GuestSpec guest;
};

struct VectorSpec {
  int timer = 236;
  int ipi = 253;
  int disk = 34;
  int net = 35;
};

struct VmSpec {
  std::string name;
  int pid = 0;
  std::vector<ThreadSpec> vcpus;
  ThreadSpec io_thread;
  ThreadSpec vhost;
  VectorSpec vectors;
  uint64_t guest_timeslice_ns = 4'000'000;
  uint64_t exit_interval_ns = 300'000;  // mean time between spurious exits
  std::vector<GuestProcessSpec> processes;
  bool has_nested = false;
  NestedVmSpec nested;
  GuestSpec guest;
};

struct HostProcessSpec {
  std::string name;
  int tid = 0;
  int cpu = 0;
  uint64_t period_ns = 10'000'000;
  uint64_t run_ns = 1'000'000;
};

struct HostSpec {
  std::string name;
  int cpus = 1;
  int64_t clock_offset_ns = 0;
  uint64_t timeslice_ns = 3'000'000;
  std::vector<HostProcessSpec> processes;
  std::vector<VmSpec> vms;
};

struct Scenario {
  std::string name;
  uint64_t duration_ns = 100'000'000;
  uint64_t seed = 1;
  double jitter = 0.1;  // relative spread of every duration
  uint64_t link_latency_ns = 60'000;
  std::vector<HostSpec> hosts;
};

// Parses and validates a scenario document.
StatusOr<Scenario> ParseScenario(std::string_view json_text);
StatusOr<Scenario> LoadScenarioFile(const std::string& path);

}  // namespace vmtrace::gen

#endif  // VMTRACE_TOOLS_GEN_SCENARIO_H_
