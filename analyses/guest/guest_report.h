// What became of one guest trace of an experiment: the VM it was matched
// with, how its clock was aligned, how much of it matched, and why it was
// not used or what looked wrong. Shown in the experiment's properties under
// "guest trace <name>" (Summary()) and readable by the trace check.
#ifndef VMTRACE_ANALYSES_GUEST_GUEST_REPORT_H_
#define VMTRACE_ANALYSES_GUEST_GUEST_REPORT_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace vmtrace::vm {

struct GuestTraceReport {
  std::string trace;  // the guest trace's hostname (else directory name)
  std::string path;
  // Matched with a VM: its names were learnt.
  bool used = false;
  std::string host;
  int64_t vm_pid = -1;
  int level = 1;        // 2: a nested VM under `l1_cr3`
  uint64_t l1_cr3 = 0;  // canonical CR3 of its L1 hypervisor process
  // "kvm_write_tsc_offset", "fitted" or "" (not aligned).
  std::string clock;
  int64_t offset_ns = 0;   // guest clock - host clock
  uint64_t switches = 0;   // switches that change the CR3
  uint64_t matched = 0;    // of them, matched with a host CR3 change
  uint64_t processes = 0;  // named processes (CR3 holders)
  uint64_t containers = 0;
  uint64_t conflicts = 0;  // CR3s claimed by two processes at once
  // Why it was not used (empty when used), and what looked wrong.
  std::string reason;
  std::vector<std::string> problems;

  // One line: "web-vm: VM 6000 on host-g (L1), clock kvm_write_tsc_offset
  // -310000 ns, 812/812 switches matched, 7 processes, 2 containers" or
  // "web-vm: not used: <reason>".
  std::string Summary() const;
};

// The reports of an experiment's guest traces, shared by the job that maps
// them (tsp/service/guest_traces.h) and their readers (the trace check).
// Thread-safe: written once by the background job.
class GuestTraceReports {
 public:
  void Set(std::vector<GuestTraceReport> reports);
  // True once the guest traces are mapped (or found unusable); always true
  // for an experiment without guest traces.
  bool done() const;
  std::vector<GuestTraceReport> reports() const;

 private:
  mutable std::mutex mu_;
  bool done_ = false;
  std::vector<GuestTraceReport> reports_;
};

}  // namespace vmtrace::vm

#endif  // VMTRACE_ANALYSES_GUEST_GUEST_REPORT_H_
