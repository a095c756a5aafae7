// The TSDL text of traces written with CtfOptions::perf: what perf 6.x's
// `perf data convert --to-ctf` writes for `perf record -a` of the same
// tracepoints (compare ../shared/traces/perf-kvm-tinyguest-2cpu/metadata):
// every field byte-packed (align = 1 bit), comms as strings, and the perf
// sample fields before each tracepoint's own.
#include <sstream>

#include "tools/gen/ctf_events.h"
#include "tools/gen/ctf_writer.h"

namespace vmtrace::gen {
namespace {

std::string Int(int bits, bool is_signed, const char* name, bool hex = false) {
  std::ostringstream o;
  o << "\n\t\tinteger { size = " << bits
    << "; align = 1; signed = " << (is_signed ? "true" : "false")
    << "; encoding = none; base = " << (hex ? "hexadecimal" : "decimal")
    << "; byte_order = le; } " << name << ";";
  return o.str();
}
std::string Str(const char* name) {
  return std::string("\n\t\tstring { encoding = UTF8; } ") + name + ";";
}

// The perf sample fields (-a: ip, tid/pid, id, period) and the tracepoint's
// common fields, in the converter's order.
std::string Prefix() {
  return Int(64, false, "perf_ip", true) + Int(32, true, "perf_tid") +
         Int(32, true, "perf_pid") + Int(64, false, "perf_id") +
         Int(64, false, "perf_period") + Int(32, false, "common_type") +
         Int(32, false, "common_flags") +
         Int(32, false, "common_preempt_count") + Int(32, true, "common_pid");
}

std::string HeaderAndStream(const std::string& uuid, const std::string& host,
                            uint64_t offset_s) {
  const std::string u32 =
      "integer { size = 32; align = 8; signed = false; encoding = none; base "
      "= decimal; byte_order = le; }";
  const std::string u64 =
      "integer { size = 64; align = 8; signed = false; encoding = none; base "
      "= decimal; byte_order = le; }";
  const std::string clk =
      "integer { size = 64; align = 8; signed = false; encoding = none; base "
      "= decimal; byte_order = le; map = clock.perf_clock.value; }";
  std::ostringstream m;
  m << "/* CTF 1.8 */\n\ntrace {\n\tmajor = 1;\n\tminor = 8;\n\tuuid = \""
    << uuid << "\";\n\tbyte_order = le;\n\tpacket.header := struct {\n\t\t"
    << u32 << " magic;\n\t\tinteger { size = 8; align = 8; signed = false; "
    << "encoding = none; base = decimal; byte_order = le; } uuid[16];\n\t\t"
    << u32 << " stream_id;\n\t} align(8);\n};\n\n";
  m << "env {\n\thost = \"" << host
    << "\";\n\tsysname = \"Linux\";\n\trelease = \"6.1.0-vmtrace-gen\";\n"
       "\tversion = \"6.1\";\n\tmachine = \"x86_64\";\n"
       "\tdomain = \"kernel\";\n\ttracer_name = \"perf\";\n};\n\n";
  m << "clock {\n\tname = perf_clock;\n\tuuid = \"" << uuid
    << "\";\n\tdescription = \"perf clock\";\n\tfreq = 1000000000;\n"
       "\tprecision = 10;\n\toffset_s = "
    << offset_s << ";\n\toffset = 0;\n\tabsolute = FALSE;\n};\n\n";
  m << "stream {\n\tid = 0;\n\tevent.header := struct {\n\t\t" << u32
    << " id;\n\t\t" << clk << " timestamp;\n\t} align(8);\n\n"
    << "\tpacket.context := struct {\n\t\t" << clk << " timestamp_begin;\n\t\t"
    << clk << " timestamp_end;\n\t\t" << u64 << " content_size;\n\t\t" << u64
    << " packet_size;\n\t\t" << u64 << " events_discarded;\n\t\t"
    << "integer { size = 32; align = 1; signed = false; encoding = none; "
       "base = decimal; byte_order = le; } cpu_id;\n\t} align(8);\n};\n\n";
  return m.str();
}

}  // namespace

std::string CtfWriter::PerfMetadata() const {
  static const char kHex[] = "0123456789abcdef";
  std::string uuid;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) uuid += '-';
    uuid += kHex[uuid_[i] >> 4];
    uuid += kHex[uuid_[i] & 15];
  }
  std::ostringstream m;
  // perf writes offset_s = 0 (time since boot); the generator keeps the
  // scenario's offset so the truth's absolute times hold in both formats.
  m << HeaderAndStream(uuid, hostname_, options_.clock_offset_s);
  const std::string prefix = Prefix();
  auto ev = [&](uint32_t id, const char* name, const std::string& fields) {
    m << "event {\n\tid = " << id << ";\n\tname = \"" << name
      << "\";\n\tstream_id = 0;\n\tfields := struct {" << prefix << fields
      << "\n\t} align(1);\n};\n\n";
  };
  const std::string wake = Str("comm") + Int(32, true, "pid") +
                           Int(32, true, "prio") + Int(32, true, "target_cpu");
  ev(kSchedSwitch, "sched:sched_switch",
     Str("prev_comm") + Int(32, true, "prev_pid") + Int(32, true, "prev_prio") +
         Int(64, true, "prev_state") + Str("next_comm") +
         Int(32, true, "next_pid") + Int(32, true, "next_prio"));
  ev(kSchedWaking, "sched:sched_waking", wake);
  ev(kSchedWakeup, "sched:sched_wakeup", wake);
  // Both system calls the generator emits share raw_syscalls' two events
  // (CtfWriter::Begin maps the preadv ids onto the pwritev ones).
  ev(kSyscallEntryPwritev, "raw_syscalls:sys_enter",
     Int(64, true, "id") +
         "\n\t\tinteger { size = 64; align = 1; signed = false; encoding = "
         "none; base = hexadecimal; byte_order = le; } args[6];");
  ev(kSyscallExitPwritev, "raw_syscalls:sys_exit",
     Int(64, true, "id") + Int(64, true, "ret"));
  ev(kIrqHandlerEntry, "irq:irq_handler_entry",
     Int(32, true, "irq") + Str("name"));
  ev(kIrqHandlerExit, "irq:irq_handler_exit",
     Int(32, true, "irq") + Int(32, true, "ret"));
  ev(kSoftirqRaise, "irq:softirq_raise", Int(32, false, "vec"));
  ev(kSoftirqEntry, "irq:softirq_entry", Int(32, false, "vec"));
  ev(kSoftirqExit, "irq:softirq_exit", Int(32, false, "vec"));
  ev(kHrtimerEntry, "timer:hrtimer_expire_entry",
     Int(64, false, "hrtimer", true) + Int(64, true, "now") +
         Int(64, false, "function", true));
  ev(kHrtimerExit, "timer:hrtimer_expire_exit",
     Int(64, false, "hrtimer", true));
  ev(kBlockRqIssue, "block:block_rq_issue",
     Int(32, false, "dev") + Int(64, false, "sector") +
         Int(32, false, "nr_sector") + Int(32, false, "bytes") +
         Int(32, false, "ioprio") + Str("rwbs") + Str("comm") + Str("cmd"));
  ev(kBlockRqComplete, "block:block_rq_complete",
     Int(32, false, "dev") + Int(64, false, "sector") +
         Int(32, false, "nr_sector") + Int(32, true, "error") +
         Int(32, false, "ioprio") + Str("rwbs") + Str("cmd"));
  const std::string net =
      Int(64, false, "skbaddr", true) + Int(32, false, "len") + Str("name");
  ev(kNetDevQueue, "net:net_dev_queue", net);
  ev(kNetIfReceiveSkb, "net:netif_receive_skb", net);
  ev(kKvmEntry, "kvm:kvm_entry",
     Int(32, false, "vcpu_id") + Int(64, false, "rip", true) +
         Int(32, false, "immediate_exit") + Int(32, false, "intr_info") +
         Int(32, false, "error_code"));
  ev(kKvmExit, "kvm:kvm_exit",
     Int(32, false, "exit_reason") + Int(64, false, "guest_rip", true) +
         Int(32, false, "isa") + Int(64, false, "info1") +
         Int(64, false, "info2") + Int(32, false, "intr_info") +
         Int(32, false, "error_code") + Int(32, false, "vcpu_id") +
         Int(64, false, "requests"));
  ev(kKvmInjVirq, "kvm:kvm_inj_virq",
     Int(32, false, "vector") + Int(32, false, "soft") +
         Int(32, false, "reinjected"));
  ev(kKvmApicAcceptIrq, "kvm:kvm_apic_accept_irq",
     Int(32, false, "apicid") + Int(32, false, "dm") + Int(32, false, "tm") +
         Int(32, false, "vec"));
  return m.str();
}

}  // namespace vmtrace::gen
