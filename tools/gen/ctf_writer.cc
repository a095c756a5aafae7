#include "tools/gen/ctf_writer.h"

#include <cstring>
#include <filesystem>

#include "base/uuid.h"
#include "tools/gen/ctf_events.h"

namespace vmtrace::gen {
namespace {

constexpr size_t kHeaderBytes = 32;   // magic, uuid, stream_id, instance id
constexpr size_t kContextBytes = 52;  // see the packet_context struct
// perf's converter: no stream_instance_id, no packet_seq_num.
constexpr size_t kPerfHeaderBytes = 24;
constexpr size_t kPerfContextBytes = 44;
constexpr size_t kMaxEventBytes = 256;
// Linux x86-64 system call numbers of the two calls the generator emits.
constexpr int64_t kNrPreadv = 295;
constexpr int64_t kNrPwritev = 296;

// Little-endian stores on a byte cursor. x86 and arm64 are little-endian; the
// memcpy keeps the stores alignment-safe.
template <typename T>
inline uint8_t* Put(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
  return p + sizeof(T);
}
inline uint8_t* PutBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}
inline uint8_t* PutBe32(uint8_t* p, uint32_t v) {
  p = PutBe16(p, static_cast<uint16_t>(v >> 16));
  return PutBe16(p, static_cast<uint16_t>(v));
}
inline uint8_t* PutComm(uint8_t* p, const std::array<char, 16>& comm) {
  std::memcpy(p, comm.data(), 16);
  return p + 16;
}
inline uint8_t* PutString(uint8_t* p, const char* s) {
  size_t n = std::strlen(s);
  if (n > 63) n = 63;
  std::memcpy(p, s, n);
  p[n] = 0;
  return p + n + 1;
}

}  // namespace

std::array<char, 16> MakeComm(const std::string& name) {
  std::array<char, 16> c{};
  std::memcpy(c.data(), name.data(), std::min<size_t>(name.size(), 15));
  return c;
}

StatusOr<std::unique_ptr<CtfWriter>> CtfWriter::Create(
    const std::string& dir, const std::string& hostname, int num_cpus,
    const std::string& uuid_seed, const CtfOptions& options) {
  std::unique_ptr<CtfWriter> w(new CtfWriter());
  w->dir_ = dir;
  w->hostname_ = hostname;
  w->options_ = options;
  w->uuid_ = Md5(uuid_seed);
  w->uuid_[6] = (w->uuid_[6] & 0x0f) | 0x30;  // version 3, as NameUuid does
  w->uuid_[8] = (w->uuid_[8] & 0x3f) | 0x80;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("cannot create " + dir + ": " + ec.message());
  w->streams_.resize(num_cpus);
  for (int cpu = 0; cpu < num_cpus; ++cpu) {
    Stream& s = w->streams_[cpu];
    std::string path = dir + (options.perf ? "/perf_stream_" : "/channel0_") +
                       std::to_string(cpu);
    s.file = std::fopen(path.c_str(), "wb");
    if (s.file == nullptr) return IoError("cannot create " + path);
    s.buf.assign(options.packet_bytes, 0);
    s.used = w->PacketPrefixBytes();
  }
  return w;
}

CtfWriter::~CtfWriter() {
  for (Stream& s : streams_) {
    if (s.file != nullptr) std::fclose(s.file);
  }
}

uint8_t* CtfWriter::Begin(int cpu, uint32_t id, uint64_t* ts,
                          const EventContext& c) {
  Stream& s = streams_[cpu];
  if (options_.perf && id == kSyscallEntryPreadv) id = kSyscallEntryPwritev;
  if (options_.perf && id == kSyscallExitPreadv) id = kSyscallExitPwritev;
  if (*ts < s.last_ts) *ts = s.last_ts;
  if (s.used + kMaxEventBytes > s.buf.size()) {
    Status st = FlushPacket(cpu);
    if (!st.ok() && io_status_.ok()) io_status_ = st;
  }
  if (!s.has_events) {
    s.first_ts = *ts;
    s.has_events = true;
  }
  s.last_ts = *ts;
  uint8_t* p = s.buf.data() + s.used;
  p = Put<uint32_t>(p, id);
  p = Put<uint64_t>(p, *ts + options_.ts_base);
  if (options_.perf) {
    // perf_ip, perf_tid, perf_pid, perf_id, perf_period, then the
    // tracepoint's common fields.
    p = Put<uint64_t>(p, 0xffffffff81000000ull);
    p = Put<int32_t>(p, c.tid);
    p = Put<int32_t>(p, c.pid);
    p = Put<uint64_t>(p, 0);
    p = Put<uint64_t>(p, 1);
    p = Put<uint32_t>(p, id);
    p = Put<uint32_t>(p, 0);
    p = Put<uint32_t>(p, 0);
    return Put<int32_t>(p, c.tid);
  }
  p = Put<int32_t>(p, c.pid);
  p = Put<int32_t>(p, c.tid);
  return PutComm(p, c.comm);
}

uint8_t* CtfWriter::PutName(uint8_t* p,
                            const std::array<char, 16>& comm) const {
  if (!options_.perf) return PutComm(p, comm);
  size_t n = strnlen(comm.data(), comm.size());
  std::memcpy(p, comm.data(), n);
  p[n] = 0;
  return p + n + 1;
}

size_t CtfWriter::PacketPrefixBytes() const {
  return options_.perf ? kPerfHeaderBytes + kPerfContextBytes
                       : kHeaderBytes + kContextBytes;
}

void CtfWriter::End(int cpu, uint8_t* p) {
  Stream& s = streams_[cpu];
  s.used = static_cast<size_t>(p - s.buf.data());
  ++events_;
}

Status CtfWriter::FlushPacket(int cpu) {
  Stream& s = streams_[cpu];
  if (!s.has_events) return Status::Ok();
  uint8_t* p = s.buf.data();
  p = Put<uint32_t>(p, 0xC1FC1FC1u);
  std::memcpy(p, uuid_.data(), 16);
  p += 16;
  p = Put<uint32_t>(p, 0);                                  // stream_id
  if (!options_.perf) p = Put<uint64_t>(p, uint64_t(cpu));  // instance id
  p = Put<uint64_t>(p, s.first_ts + options_.ts_base);
  p = Put<uint64_t>(p, s.last_ts + options_.ts_base);
  p = Put<uint64_t>(p, s.used * 8);  // content_size, bits
  p = Put<uint64_t>(p, s.used * 8);  // packet_size, bits
  if (!options_.perf) p = Put<uint64_t>(p, s.seq++);
  p = Put<uint64_t>(p, 0);  // events_discarded
  Put<uint32_t>(p, static_cast<uint32_t>(cpu));
  if (std::fwrite(s.buf.data(), 1, s.used, s.file) != s.used) {
    return IoError("write failed in " + dir_);
  }
  bytes_ += s.used;
  s.used = PacketPrefixBytes();
  s.has_events = false;
  return Status::Ok();
}

Status CtfWriter::Close() {
  for (size_t cpu = 0; cpu < streams_.size(); ++cpu) {
    VMTRACE_RETURN_IF_ERROR(FlushPacket(static_cast<int>(cpu)));
    if (std::fclose(streams_[cpu].file) != 0) {
      streams_[cpu].file = nullptr;
      return IoError("close failed in " + dir_);
    }
    streams_[cpu].file = nullptr;
  }
  VMTRACE_RETURN_IF_ERROR(io_status_);
  std::string text = options_.perf ? PerfMetadata() : Metadata();
  std::string path = dir_ + "/metadata";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return IoError("cannot create " + path);
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return IoError("cannot write " + path);
  bytes_ += text.size();
  return Status::Ok();
}

uint64_t CtfWriter::SchedSwitch(int cpu, uint64_t ts, const EventContext& c,
                                const EventContext& prev, int prev_prio,
                                int64_t prev_state, const EventContext& next,
                                int next_prio) {
  uint8_t* p = Begin(cpu, kSchedSwitch, &ts, c);
  p = PutName(p, prev.comm);
  p = Put<int32_t>(p, prev.tid);
  p = Put<int32_t>(p, prev_prio);
  p = Put<int64_t>(p, prev_state);
  p = PutName(p, next.comm);
  p = Put<int32_t>(p, next.tid);
  p = Put<int32_t>(p, next_prio);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::SchedWaking(int cpu, uint64_t ts, const EventContext& c,
                                const EventContext& wakee, int prio,
                                int target_cpu) {
  uint8_t* p = Begin(cpu, kSchedWaking, &ts, c);
  p = PutName(p, wakee.comm);
  p = Put<int32_t>(p, wakee.tid);
  p = Put<int32_t>(p, prio);
  p = Put<int32_t>(p, target_cpu);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::SchedWakeup(int cpu, uint64_t ts, const EventContext& c,
                                const EventContext& wakee, int prio,
                                int target_cpu) {
  uint8_t* p = Begin(cpu, kSchedWakeup, &ts, c);
  p = PutName(p, wakee.comm);
  p = Put<int32_t>(p, wakee.tid);
  p = Put<int32_t>(p, prio);
  p = Put<int32_t>(p, target_cpu);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::SchedTtwu(int cpu, uint64_t ts, const EventContext& c,
                              int tid) {
  if (options_.perf) return ts;  // an LTTng addon
  uint8_t* p = Begin(cpu, kSchedTtwu, &ts, c);
  p = Put<int32_t>(p, tid);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::StatedumpStart(int cpu, uint64_t ts,
                                   const EventContext& c) {
  if (options_.perf) return ts;  // perf has no statedump
  End(cpu, Begin(cpu, kStatedumpStart, &ts, c));
  return ts;
}

uint64_t CtfWriter::StatedumpEnd(int cpu, uint64_t ts, const EventContext& c) {
  if (options_.perf) return ts;
  End(cpu, Begin(cpu, kStatedumpEnd, &ts, c));
  return ts;
}

uint64_t CtfWriter::StatedumpProcess(int cpu, uint64_t ts,
                                     const EventContext& c,
                                     const EventContext& t, int ppid, int type,
                                     int status, int on_cpu) {
  if (options_.perf) return ts;
  uint8_t* p = Begin(cpu, kStatedumpProcess, &ts, c);
  p = Put<int32_t>(p, t.tid);
  p = Put<int32_t>(p, t.tid);
  p = Put<int32_t>(p, t.pid);
  p = Put<int32_t>(p, t.pid);
  p = Put<int32_t>(p, ppid);
  p = Put<int32_t>(p, ppid);
  p = PutComm(p, t.comm);
  p = Put<int32_t>(p, type);
  p = Put<int32_t>(p, 5);  // mode: unknown (user/kernel not dumped)
  p = Put<int32_t>(p, 0);
  p = Put<int32_t>(p, status);
  p = Put<int32_t>(p, on_cpu);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::StatedumpPidNs(int cpu, uint64_t ts, const EventContext& c,
                                   int tid, int vtid, int vpid, int vppid,
                                   int ns_level, uint32_t ns_inum) {
  uint8_t* p = Begin(cpu, kStatedumpPidNs, &ts, c);
  p = Put<int32_t>(p, tid);
  p = Put<int32_t>(p, vtid);
  p = Put<int32_t>(p, vpid);
  p = Put<int32_t>(p, vppid);
  p = Put<int32_t>(p, ns_level);
  p = Put<uint32_t>(p, ns_inum);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::SchedProcessFork(
    int cpu, uint64_t ts, const EventContext& c, const EventContext& parent,
    uint32_t parent_ns, const EventContext& child, uint32_t child_ns) {
  uint8_t* p = Begin(cpu, kSchedProcessFork, &ts, c);
  p = PutComm(p, parent.comm);
  p = Put<int32_t>(p, parent.tid);
  p = Put<int32_t>(p, parent.pid);
  p = Put<uint32_t>(p, parent_ns);
  p = PutComm(p, child.comm);
  p = Put<int32_t>(p, child.tid);
  p = Put<int32_t>(p, child.pid);
  p = Put<uint32_t>(p, child_ns);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::SchedProcessExec(int cpu, uint64_t ts,
                                     const EventContext& c,
                                     const std::string& filename, int tid) {
  uint8_t* p = Begin(cpu, kSchedProcessExec, &ts, c);
  p = PutString(p, filename.c_str());
  p = Put<int32_t>(p, tid);
  p = Put<int32_t>(p, tid);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::KvmWriteTscOffset(int cpu, uint64_t ts,
                                      const EventContext& c, uint32_t vcpu,
                                      uint64_t previous, uint64_t next) {
  uint8_t* p = Begin(cpu, kKvmWriteTscOffset, &ts, c);
  p = Put<uint32_t>(p, vcpu);
  p = Put<uint64_t>(p, previous);
  p = Put<uint64_t>(p, next);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::SyscallEntryRw(int cpu, uint64_t ts, const EventContext& c,
                                   bool write, uint64_t fd, uint64_t pos) {
  uint8_t* p =
      Begin(cpu, write ? kSyscallEntryPwritev : kSyscallEntryPreadv, &ts, c);
  if (options_.perf) {  // raw_syscalls:sys_enter: id, args[6]
    p = Put<int64_t>(p, write ? kNrPwritev : kNrPreadv);
  }
  p = Put<uint64_t>(p, fd);
  p = Put<uint64_t>(p, 0x7f0000001000ull);
  p = Put<uint64_t>(p, 1);
  p = Put<uint64_t>(p, pos);
  p = Put<uint64_t>(p, 0);
  if (options_.perf) p = Put<uint64_t>(p, 0);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::SyscallExitRw(int cpu, uint64_t ts, const EventContext& c,
                                  bool write, int64_t ret) {
  uint8_t* p =
      Begin(cpu, write ? kSyscallExitPwritev : kSyscallExitPreadv, &ts, c);
  if (options_.perf) p = Put<int64_t>(p, write ? kNrPwritev : kNrPreadv);
  p = Put<int64_t>(p, ret);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::IrqHandlerEntry(int cpu, uint64_t ts, const EventContext& c,
                                    int irq, const char* name) {
  uint8_t* p = Begin(cpu, kIrqHandlerEntry, &ts, c);
  p = Put<int32_t>(p, irq);
  p = PutString(p, name);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::IrqHandlerExit(int cpu, uint64_t ts, const EventContext& c,
                                   int irq) {
  uint8_t* p = Begin(cpu, kIrqHandlerExit, &ts, c);
  p = Put<int32_t>(p, irq);
  p = Put<int32_t>(p, 1);  // IRQ_HANDLED
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::Softirq(int cpu, uint64_t ts, const EventContext& c,
                            int which, uint32_t vec) {
  uint8_t* p = Begin(cpu, kSoftirqRaise + which, &ts, c);
  p = Put<uint32_t>(p, vec);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::HrtimerExpireEntry(int cpu, uint64_t ts,
                                       const EventContext& c, uint64_t hrtimer,
                                       uint64_t function) {
  uint8_t* p = Begin(cpu, kHrtimerEntry, &ts, c);
  p = Put<uint64_t>(p, hrtimer);
  p = Put<int64_t>(p, static_cast<int64_t>(ts));
  p = Put<uint64_t>(p, function);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::HrtimerExpireExit(int cpu, uint64_t ts,
                                      const EventContext& c, uint64_t hrtimer) {
  uint8_t* p = Begin(cpu, kHrtimerExit, &ts, c);
  p = Put<uint64_t>(p, hrtimer);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::BlockRqIssue(int cpu, uint64_t ts, const EventContext& c,
                                 uint64_t sector, uint32_t nr_sector,
                                 bool write) {
  uint8_t* p = Begin(cpu, kBlockRqIssue, &ts, c);
  p = Put<uint32_t>(p, 0x10300000u);  // dev 259:0 (nvme0n1)
  p = Put<uint64_t>(p, sector);
  p = Put<uint32_t>(p, nr_sector);
  p = Put<uint32_t>(p, nr_sector * 512);
  if (options_.perf) {  // ioprio, rwbs, comm, cmd
    p = Put<uint32_t>(p, 0);
    p = PutString(p, write ? "W" : "R");
    p = PutName(p, c.comm);
    p = PutString(p, "");
    End(cpu, p);
    return ts;
  }
  p = Put<int32_t>(p, c.tid);
  p = Put<uint32_t>(p, write ? 2u : 1u);  // RWBS_FLAG_WRITE / READ
  p = PutComm(p, c.comm);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::BlockRqComplete(int cpu, uint64_t ts, const EventContext& c,
                                    uint64_t sector, uint32_t nr_sector,
                                    bool write) {
  uint8_t* p = Begin(cpu, kBlockRqComplete, &ts, c);
  p = Put<uint32_t>(p, 0x10300000u);
  p = Put<uint64_t>(p, sector);
  p = Put<uint32_t>(p, nr_sector);
  p = Put<int32_t>(p, 0);
  if (options_.perf) {  // ioprio, rwbs, cmd
    p = Put<uint32_t>(p, 0);
    p = PutString(p, write ? "W" : "R");
    p = PutString(p, "");
    End(cpu, p);
    return ts;
  }
  p = Put<uint32_t>(p, write ? 2u : 1u);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::NetPacket(int cpu, uint64_t ts, const EventContext& c,
                              bool receive, const char* dev,
                              const TcpPacket& t) {
  uint8_t* p = Begin(cpu, receive ? kNetIfReceiveSkb : kNetDevQueue, &ts, c);
  p = Put<uint64_t>(p, t.skbaddr);
  p = Put<uint32_t>(p, t.len);
  p = PutString(p, dev);
  if (options_.perf) {  // perf's net events stop at the device name
    End(cpu, p);
    return ts;
  }
  p = Put<uint8_t>(p, 1);     // ipv4
  p = Put<uint8_t>(p, 0x45);  // version 4, ihl 5
  p = Put<uint8_t>(p, 0);     // tos
  p = PutBe16(p, static_cast<uint16_t>(t.len));
  p = PutBe16(p, static_cast<uint16_t>(t.seq));  // id
  p = PutBe16(p, 0x4000);                        // DF
  p = Put<uint8_t>(p, 64);                       // ttl
  p = Put<uint8_t>(p, 6);                        // tcp
  p = PutBe16(p, 0);                             // checksum
  p = PutBe32(p, t.saddr);
  p = PutBe32(p, t.daddr);
  p = Put<uint8_t>(p, 1);  // tcp header follows
  p = PutBe16(p, t.sport);
  p = PutBe16(p, t.dport);
  p = PutBe32(p, t.seq);
  p = PutBe32(p, t.ack_seq);
  p = PutBe16(p, static_cast<uint16_t>((5u << 12) | (t.flags & 0x1ff)));
  p = PutBe16(p, 502);  // window
  p = PutBe16(p, 0);    // checksum
  p = PutBe16(p, 0);    // urg_ptr
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::KvmEntry(int cpu, uint64_t ts, const EventContext& c,
                             uint32_t vcpu) {
  uint8_t* p = Begin(cpu, kKvmEntry, &ts, c);
  p = Put<uint32_t>(p, vcpu);
  if (options_.perf) {  // rip, immediate_exit, intr_info, error_code
    p = Put<uint64_t>(p, 0);
    p = Put<uint32_t>(p, 0);
    p = Put<uint32_t>(p, 0);
    p = Put<uint32_t>(p, 0);
  }
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::KvmExit(int cpu, uint64_t ts, const EventContext& c,
                            uint32_t reason, uint64_t rip, uint32_t vcpu) {
  uint8_t* p = Begin(cpu, kKvmExit, &ts, c);
  p = Put<uint32_t>(p, reason);
  p = Put<uint64_t>(p, rip);
  p = Put<uint32_t>(p, 1);  // isa: VMX
  p = Put<uint64_t>(p, 0);
  p = Put<uint64_t>(p, 0);
  if (!options_.old_kvm_names) {
    p = Put<uint32_t>(p, 0);
    p = Put<uint32_t>(p, 0);
    p = Put<uint32_t>(p, vcpu);
  }
  if (options_.perf) p = Put<uint64_t>(p, 0);  // requests
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::KvmInjVirq(int cpu, uint64_t ts, const EventContext& c,
                               uint32_t irq) {
  uint8_t* p = Begin(cpu, kKvmInjVirq, &ts, c);
  p = Put<uint32_t>(p, irq);
  if (options_.perf) {  // soft, reinjected
    p = Put<uint32_t>(p, 0);
    p = Put<uint32_t>(p, 0);
  }
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::KvmApicAcceptIrq(int cpu, uint64_t ts,
                                     const EventContext& c, uint32_t apicid,
                                     uint8_t vec) {
  uint8_t* p = Begin(cpu, kKvmApicAcceptIrq, &ts, c);
  p = Put<uint32_t>(p, apicid);
  if (options_.perf) {  // dm, tm, vec: 32 bits each after conversion
    p = Put<uint32_t>(p, 0);
    p = Put<uint32_t>(p, 0);
    p = Put<uint32_t>(p, vec);
    End(cpu, p);
    return ts;
  }
  p = Put<uint16_t>(p, 0);  // fixed delivery
  p = Put<uint8_t>(p, 0);   // edge
  p = Put<uint8_t>(p, vec);
  p = Put<uint8_t>(p, 0);
  End(cpu, p);
  return ts;
}

uint64_t CtfWriter::VcpuEnterGuest(int cpu, uint64_t ts, const EventContext& c,
                                   uint32_t vcpu, uint64_t cr3, uint64_t sp,
                                   uint64_t ip) {
  if (options_.perf) return ts;  // an LTTng addon: no guest CR3 with perf
  uint8_t* p = Begin(cpu, kVcpuEnterGuest, &ts, c);
  p = Put<uint32_t>(p, vcpu);
  p = Put<uint64_t>(p, cr3);
  p = Put<uint64_t>(p, sp);
  p = Put<uint64_t>(p, ip);
  p = Put<uint32_t>(p, 0);
  End(cpu, p);
  return ts;
}

}  // namespace vmtrace::gen
