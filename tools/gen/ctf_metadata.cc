// The TSDL text of the traces written by CtfWriter: types, trace, env,
// clock, stream and one event block per event id of ctf_events.h.
#include <sstream>

#include "tools/gen/ctf_events.h"
#include "tools/gen/ctf_writer.h"

namespace vmtrace::gen {
namespace {

const char kTypes[] =
    R"(typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 16; align = 8; signed = false; } := uint16_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 64; align = 8; signed = false; } := uint64_t;
typealias integer { size = 32; align = 8; signed = true; } := int32_t;
typealias integer { size = 64; align = 8; signed = true; } := int64_t;
typealias integer { size = 64; align = 8; signed = false; base = 16; } := xuint64_t;
typealias integer { size = 8; align = 8; signed = false; encoding = UTF8; } := char_t;
typealias integer { size = 8; align = 8; signed = false; byte_order = be; } := be8_t;
typealias integer { size = 16; align = 8; signed = false; byte_order = be; } := be16_t;
typealias integer { size = 16; align = 8; signed = false; byte_order = be; base = 16; } := xbe16_t;
typealias integer { size = 32; align = 8; signed = false; byte_order = be; } := be32_t;
)";

// The IPv4/TCP part of lttng-modules 2.13's net_dev_queue and
// net_if_receive_skb (IPv6 is left out: the generator never emits it).
const char kNetFields[] = R"(
		xuint64_t _skbaddr;
		uint32_t _len;
		string _name;
		enum : uint8_t { "_unknown" = 0, "_ipv4" = 1 } _network_header_type;
		variant <_network_header_type> {
			struct { } _unknown;
			struct {
				integer { size = 4; align = 4; signed = false; byte_order = be; } _version;
				integer { size = 4; align = 4; signed = false; byte_order = be; } _ihl;
				be8_t _tos;
				be16_t _tot_len;
				xbe16_t _id;
				be16_t _frag_off;
				be8_t _ttl;
				enum : be8_t { "_unknown" = 0 ... 5, "_tcp" = 6, "_unknown" = 7 ... 255 } _protocol;
				xbe16_t _checksum;
				be8_t _saddr[4];
				be8_t _daddr[4];
				enum : uint8_t { "_unknown" = 0, "_tcp" = 1 } _transport_header_type;
				variant <_transport_header_type> {
					struct { } _unknown;
					struct {
						be16_t _source_port;
						be16_t _dest_port;
						be32_t _seq;
						be32_t _ack_seq;
						integer { size = 4; align = 4; signed = false; byte_order = be; } _data_offset;
						integer { size = 3; align = 1; signed = false; byte_order = be; } _reserved;
						integer { size = 9; align = 1; signed = false; byte_order = be; base = 16; } _flags;
						be16_t _window_size;
						xbe16_t _checksum;
						be16_t _urg_ptr;
					} _tcp;
				} _transport_header;
			} _ipv4;
		} _network_header;
)";

}  // namespace

std::string CtfWriter::Metadata() const {
  static const char kHex[] = "0123456789abcdef";
  std::string uuid;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) uuid += '-';
    uuid += kHex[uuid_[i] >> 4];
    uuid += kHex[uuid_[i] & 15];
  }
  const std::string kvm = options_.old_kvm_names ? "kvm_" : "kvm_x86_";
  std::ostringstream m;
  m << "/* CTF 1.8 */\n\n" << kTypes;
  m << "\ntrace {\n\tmajor = 1;\n\tminor = 8;\n\tuuid = \"" << uuid
    << "\";\n\tbyte_order = le;\n\tpacket.header := struct {\n"
       "\t\tuint32_t magic;\n\t\tuint8_t uuid[16];\n\t\tuint32_t stream_id;\n"
       "\t\tuint64_t stream_instance_id;\n\t};\n};\n\n";
  m << "env {\n\thostname = \"" << hostname_
    << "\";\n\tdomain = \"kernel\";\n\tsysname = \"Linux\";\n"
       "\tkernel_release = \"6.1.0-vmtrace-gen\";\n"
       "\tkernel_version = \"#1 SMP PREEMPT_DYNAMIC\";\n"
       "\ttracer_name = \"lttng-modules\";\n\ttracer_major = "
    << options_.tracer_major << ";\n\ttracer_minor = " << options_.tracer_minor
    << ";\n\ttracer_patchlevel = 0;\n"
       "\ttrace_buffering_scheme = \"global\";\n"
       "\ttrace_name = \"vmtrace-gen\";\n};\n\n";
  m << "clock {\n\tname = \"monotonic\";\n\tuuid = \"" << uuid
    << "\";\n\tdescription = \"Monotonic Clock\";\n\tfreq = 1000000000;\n"
       "\tprecision = 0;\n\toffset_s = "
    << options_.clock_offset_s
    << ";\n\toffset = 0;\n\tabsolute = false;\n};\n\n";
  m << "typealias integer { size = 64; align = 8; signed = false; map = "
       "clock.monotonic.value; } := uint64_clock_monotonic_t;\n\n";
  m << "stream {\n\tid = 0;\n\tevent.header := struct {\n\t\tuint32_t id;\n"
       "\t\tuint64_clock_monotonic_t timestamp;\n\t};\n"
       "\tpacket.context := struct {\n"
       "\t\tuint64_clock_monotonic_t timestamp_begin;\n"
       "\t\tuint64_clock_monotonic_t timestamp_end;\n"
       "\t\tuint64_t content_size;\n\t\tuint64_t packet_size;\n"
       "\t\tuint64_t packet_seq_num;\n\t\tuint64_t events_discarded;\n"
       "\t\tuint32_t cpu_id;\n\t};\n"
       "\tevent.context := struct {\n\t\tint32_t _pid;\n\t\tint32_t _tid;\n"
       "\t\tchar_t _procname[16];\n\t};\n};\n\n";
  // A guest's session enables the scheduler and the state dump only, and
  // LTTng declares the enabled events only.
  const bool guest = options_.guest_events;
  auto ev = [&m, guest](uint32_t id, const std::string& name,
                        const std::string& fields) {
    if (guest && id != kSchedSwitch && id != kSchedWaking &&
        id != kSchedWakeup && id != kStatedumpStart && id != kStatedumpEnd &&
        id != kStatedumpProcess && id != kSchedProcessFork &&
        id != kSchedProcessExec && id != kStatedumpPidNs) {
      return;
    }
    m << "event {\n\tname = \"" << name << "\";\n\tid = " << id
      << ";\n\tstream_id = 0;\n\tfields := struct {" << fields << "};\n};\n\n";
  };
  const std::string waking =
      "\n\t\tchar_t _comm[16];\n\t\tint32_t _tid;\n\t\tint32_t _prio;\n"
      "\t\tint32_t _target_cpu;\n\t";
  ev(kSchedSwitch, "sched_switch",
     "\n\t\tchar_t _prev_comm[16];\n\t\tint32_t _prev_tid;\n"
     "\t\tint32_t _prev_prio;\n\t\tint64_t _prev_state;\n"
     "\t\tchar_t _next_comm[16];\n\t\tint32_t _next_tid;\n"
     "\t\tint32_t _next_prio;\n\t");
  ev(kSchedWaking, "sched_waking", waking);
  ev(kSchedWakeup, "sched_wakeup", waking);
  ev(kSchedTtwu, "sched_ttwu", " int32_t _tid; ");
  ev(kStatedumpStart, "lttng_statedump_start", " ");
  ev(kStatedumpEnd, "lttng_statedump_end", " ");
  ev(kStatedumpProcess, "lttng_statedump_process_state",
     "\n\t\tint32_t _tid;\n\t\tint32_t _vtid;\n\t\tint32_t _pid;\n"
     "\t\tint32_t _vpid;\n\t\tint32_t _ppid;\n\t\tint32_t _vppid;\n"
     "\t\tchar_t _name[16];\n\t\tint32_t _type;\n\t\tint32_t _mode;\n"
     "\t\tint32_t _submode;\n\t\tint32_t _status;\n\t\tint32_t _cpu;\n\t");
  const std::string rw_entry =
      "\n\t\tuint64_t _fd;\n\t\txuint64_t _vec;\n\t\tuint64_t _vlen;\n"
      "\t\tuint64_t _pos_l;\n\t\tuint64_t _pos_h;\n\t";
  ev(kSyscallEntryPwritev, "syscall_entry_pwritev", rw_entry);
  ev(kSyscallExitPwritev, "syscall_exit_pwritev", " int64_t _ret; ");
  ev(kSyscallEntryPreadv, "syscall_entry_preadv", rw_entry);
  ev(kSyscallExitPreadv, "syscall_exit_preadv", " int64_t _ret; ");
  ev(kIrqHandlerEntry, "irq_handler_entry", " int32_t _irq; string _name; ");
  ev(kIrqHandlerExit, "irq_handler_exit", " int32_t _irq; int32_t _ret; ");
  ev(kSoftirqRaise, "irq_softirq_raise", " uint32_t _vec; ");
  ev(kSoftirqEntry, "irq_softirq_entry", " uint32_t _vec; ");
  ev(kSoftirqExit, "irq_softirq_exit", " uint32_t _vec; ");
  ev(kHrtimerEntry, "timer_hrtimer_expire_entry",
     " xuint64_t _hrtimer; int64_t _now; xuint64_t _function; ");
  ev(kHrtimerExit, "timer_hrtimer_expire_exit", " xuint64_t _hrtimer; ");
  ev(kBlockRqIssue, "block_rq_issue",
     "\n\t\tuint32_t _dev;\n\t\tuint64_t _sector;\n\t\tuint32_t _nr_sector;\n"
     "\t\tuint32_t _bytes;\n\t\tint32_t _tid;\n\t\tuint32_t _rwbs;\n"
     "\t\tchar_t _comm[16];\n\t");
  ev(kBlockRqComplete, "block_rq_complete",
     "\n\t\tuint32_t _dev;\n\t\tuint64_t _sector;\n\t\tuint32_t _nr_sector;\n"
     "\t\tint32_t _error;\n\t\tuint32_t _rwbs;\n\t");
  ev(kNetDevQueue, "net_dev_queue", kNetFields);
  ev(kNetIfReceiveSkb, "net_if_receive_skb", kNetFields);
  ev(kKvmEntry, kvm + "entry", " uint32_t _vcpu_id; ");
  std::string exit_fields =
      "\n\t\tuint32_t _exit_reason;\n\t\txuint64_t _guest_rip;\n"
      "\t\tuint32_t _isa;\n\t\txuint64_t _info1;\n\t\txuint64_t _info2;\n";
  if (!options_.old_kvm_names) {
    exit_fields +=
        "\t\tuint32_t _intr_info;\n\t\tuint32_t _error_code;\n"
        "\t\tuint32_t _vcpu_id;\n";
  }
  ev(kKvmExit, kvm + "exit", exit_fields + "\t");
  ev(kKvmInjVirq, kvm + "inj_virq", " uint32_t _irq; ");
  ev(kKvmApicAcceptIrq, kvm + "apic_accept_irq",
     " uint32_t _apicid; uint16_t _dm; uint8_t _tm; uint8_t _vec; "
     "uint8_t _coalesced; ");
  ev(kVcpuEnterGuest, "addons_vcpu_enter_guest",
     "\n\t\tuint32_t _vcpuID;\n\t\txuint64_t _cr3tmp;\n\t\txuint64_t _sptmp;\n"
     "\t\txuint64_t _iptmp;\n\t\tuint32_t _accessed;\n\t");
  if (options_.guest_events) {
    ev(kSchedProcessFork, "sched_process_fork",
       "\n\t\tchar_t _parent_comm[16];\n\t\tint32_t _parent_tid;\n"
       "\t\tint32_t _parent_pid;\n\t\tuint32_t _parent_ns_inum;\n"
       "\t\tchar_t _child_comm[16];\n\t\tint32_t _child_tid;\n"
       "\t\tint32_t _child_pid;\n\t\tuint32_t _child_ns_inum;\n\t");
    ev(kSchedProcessExec, "sched_process_exec",
       " string _filename; int32_t _tid; int32_t _old_tid; ");
    ev(kStatedumpPidNs, "lttng_statedump_process_pid_ns",
       "\n\t\tint32_t _tid;\n\t\tint32_t _vtid;\n\t\tint32_t _vpid;\n"
       "\t\tint32_t _vppid;\n\t\tint32_t _ns_level;\n"
       "\t\tuint32_t _ns_inum;\n\t");
  }
  if (options_.tsc_offset_events) {
    ev(kKvmWriteTscOffset, kvm + "write_tsc_offset",
       " uint32_t _vcpu_id; uint64_t _previous_tsc_offset; "
       "uint64_t _next_tsc_offset; ");
  }
  return m.str();
}

}  // namespace vmtrace::gen
