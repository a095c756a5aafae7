// A small CTF 1.8 writer that lays traces out like lttng-modules kernel
// traces: a plain-text TSDL `metadata` file and one stream file per CPU
// (`channel0_<cpu>`) made of packed little-endian packets. Packet header:
// magic 0xC1FC1FC1, trace uuid, stream_id, stream_instance_id. Packet context:
// timestamp_begin/end, content_size, packet_size, packet_seq_num,
// events_discarded, cpu_id. Event header: {uint32 id; uint64 timestamp}.
// Stream event context: {int32 _pid; int32 _tid; char _procname[16]}, the
// layout `lttng add-context -k -t pid -t tid -t procname` produces.
//
// Events are appended per CPU with non-decreasing timestamps (the caller's
// duty; the writer clamps a smaller timestamp up to the last one of the CPU
// and returns the timestamp it wrote). Nothing is allocated per event: each
// CPU has one packet buffer that is written out when full.
#ifndef VMTRACE_TOOLS_GEN_CTF_WRITER_H_
#define VMTRACE_TOOLS_GEN_CTF_WRITER_H_

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace vmtrace::gen {

struct CtfOptions {
  int tracer_major = 2;
  int tracer_minor = 13;
  // Spell KVM events kvm_entry/kvm_exit/... (Nemati's 2.7 fork) instead of
  // kvm_x86_*; chosen by --tracer-version 2.7.
  bool old_kvm_names = false;
  // Lay the trace out as `perf record -a` + `perf data convert --to-ctf`
  // does (perf 6.x): `subsystem:name` events, perf_stream_<cpu> files, no
  // stream event context but perf_tid/perf_pid/common_* fields in every
  // payload, strings for comms, raw_syscalls, no TCP header in the network
  // events. Events perf cannot record (LTTng's statedump, the ttwu and
  // vcpu_enter_guest addons) are not written. Chosen by --format perf.
  bool perf = false;
  // A guest trace (sim_guest_trace.h): also declares sched_process_fork,
  // sched_process_exec and lttng_statedump_process_pid_ns as lttng-modules
  // 2.13 writes them.
  bool guest_events = false;
  // Declares kvm_x86_write_tsc_offset (a host running a traced guest).
  bool tsc_offset_events = false;
  size_t packet_bytes = 256 * 1024;
  uint64_t clock_offset_s = 1'700'000'000;  // metadata clock offset_s
  uint64_t ts_base = 0;  // added to every timestamp given to the writer
};

// The thread an event is attributed to (the stream event context).
struct EventContext {
  int32_t pid = 0;
  int32_t tid = 0;
  std::array<char, 16> comm{};
};

std::array<char, 16> MakeComm(const std::string& name);

// TCP/IPv4 header values carried by net_dev_queue / net_if_receive_skb.
struct TcpPacket {
  uint64_t skbaddr = 0;
  uint32_t len = 0;
  uint32_t saddr = 0, daddr = 0;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack_seq = 0;
  uint16_t flags = 0;  // 9 bits: 0x10 ACK, 0x08 PSH, 0x02 SYN
};

class CtfWriter {
 public:
  // Creates `dir` (and parents) and the stream files.
  static StatusOr<std::unique_ptr<CtfWriter>> Create(
      const std::string& dir, const std::string& hostname, int num_cpus,
      const std::string& uuid_seed, const CtfOptions& options);
  ~CtfWriter();
  CtfWriter(const CtfWriter&) = delete;
  CtfWriter& operator=(const CtfWriter&) = delete;

  // Flushes packets and writes the metadata. Must be called once.
  Status Close();
  uint64_t event_count() const { return events_; }
  uint64_t bytes_written() const { return bytes_; }
  // Timestamp of the last event of `cpu` (0 if none).
  uint64_t last_ts(int cpu) const { return streams_[cpu].last_ts; }

  // Each emitter returns the timestamp actually written.
  uint64_t SchedSwitch(int cpu, uint64_t ts, const EventContext& c,
                       const EventContext& prev, int prev_prio,
                       int64_t prev_state, const EventContext& next,
                       int next_prio);
  uint64_t SchedWaking(int cpu, uint64_t ts, const EventContext& c,
                       const EventContext& wakee, int prio, int target_cpu);
  uint64_t SchedWakeup(int cpu, uint64_t ts, const EventContext& c,
                       const EventContext& wakee, int prio, int target_cpu);
  uint64_t SchedTtwu(int cpu, uint64_t ts, const EventContext& c, int tid);
  uint64_t StatedumpStart(int cpu, uint64_t ts, const EventContext& c);
  uint64_t StatedumpEnd(int cpu, uint64_t ts, const EventContext& c);
  uint64_t StatedumpProcess(int cpu, uint64_t ts, const EventContext& c,
                            const EventContext& t, int ppid, int type,
                            int status, int on_cpu);
  // lttng_statedump_process_pid_ns: the pid namespace of `tid` (level 0 is
  // the root namespace).
  uint64_t StatedumpPidNs(int cpu, uint64_t ts, const EventContext& c, int tid,
                          int vtid, int vpid, int vppid, int ns_level,
                          uint32_t ns_inum);
  uint64_t SchedProcessFork(int cpu, uint64_t ts, const EventContext& c,
                            const EventContext& parent, uint32_t parent_ns,
                            const EventContext& child, uint32_t child_ns);
  uint64_t SchedProcessExec(int cpu, uint64_t ts, const EventContext& c,
                            const std::string& filename, int tid);
  uint64_t KvmWriteTscOffset(int cpu, uint64_t ts, const EventContext& c,
                             uint32_t vcpu, uint64_t previous, uint64_t next);
  uint64_t SyscallEntryRw(int cpu, uint64_t ts, const EventContext& c,
                          bool write, uint64_t fd, uint64_t pos);
  uint64_t SyscallExitRw(int cpu, uint64_t ts, const EventContext& c,
                         bool write, int64_t ret);
  uint64_t IrqHandlerEntry(int cpu, uint64_t ts, const EventContext& c, int irq,
                           const char* name);
  uint64_t IrqHandlerExit(int cpu, uint64_t ts, const EventContext& c, int irq);
  // which: 0 raise, 1 entry, 2 exit.
  uint64_t Softirq(int cpu, uint64_t ts, const EventContext& c, int which,
                   uint32_t vec);
  uint64_t HrtimerExpireEntry(int cpu, uint64_t ts, const EventContext& c,
                              uint64_t hrtimer, uint64_t function);
  uint64_t HrtimerExpireExit(int cpu, uint64_t ts, const EventContext& c,
                             uint64_t hrtimer);
  uint64_t BlockRqIssue(int cpu, uint64_t ts, const EventContext& c,
                        uint64_t sector, uint32_t nr_sector, bool write);
  uint64_t BlockRqComplete(int cpu, uint64_t ts, const EventContext& c,
                           uint64_t sector, uint32_t nr_sector, bool write);
  // receive = false: net_dev_queue; true: net_if_receive_skb.
  uint64_t NetPacket(int cpu, uint64_t ts, const EventContext& c, bool receive,
                     const char* dev, const TcpPacket& p);
  uint64_t KvmEntry(int cpu, uint64_t ts, const EventContext& c, uint32_t vcpu);
  uint64_t KvmExit(int cpu, uint64_t ts, const EventContext& c, uint32_t reason,
                   uint64_t rip, uint32_t vcpu);
  uint64_t KvmInjVirq(int cpu, uint64_t ts, const EventContext& c,
                      uint32_t irq);
  uint64_t KvmApicAcceptIrq(int cpu, uint64_t ts, const EventContext& c,
                            uint32_t apicid, uint8_t vec);
  uint64_t VcpuEnterGuest(int cpu, uint64_t ts, const EventContext& c,
                          uint32_t vcpu, uint64_t cr3, uint64_t sp,
                          uint64_t ip);

 private:
  struct Stream {
    FILE* file = nullptr;
    std::vector<uint8_t> buf;
    size_t used = 0;
    uint64_t first_ts = 0;
    uint64_t last_ts = 0;
    uint64_t seq = 0;
    bool has_events = false;
  };
  CtfWriter() = default;
  // Starts an event: ensures room, writes header and context; returns the
  // write cursor. `ts` is clamped to the stream's last timestamp.
  uint8_t* Begin(int cpu, uint32_t id, uint64_t* ts, const EventContext& c);
  // A comm as the format spells it: char[16] (LTTng) or a string (perf).
  uint8_t* PutName(uint8_t* p, const std::array<char, 16>& comm) const;
  size_t PacketPrefixBytes() const;  // packet header + context
  std::string PerfMetadata() const;  // ctf_metadata_perf.cc
  void End(int cpu, uint8_t* p);
  Status FlushPacket(int cpu);
  std::string Metadata() const;

  std::string dir_;
  std::string hostname_;
  CtfOptions options_;
  std::array<uint8_t, 16> uuid_{};
  std::vector<Stream> streams_;
  uint64_t events_ = 0;
  uint64_t bytes_ = 0;
  Status io_status_;
};

}  // namespace vmtrace::gen

#endif  // VMTRACE_TOOLS_GEN_CTF_WRITER_H_
