// TypedEvent: one trace event as the analyses see it, decoded once per event
// by the EventDecoder (event_decoder.h) and handed to every module.
//
// A record is a small, trivially copyable value (no owning pointers), so the
// pass can queue records in batches between threads. Its strings are either
// inline (up to Text::kInline bytes: every kernel `comm`) or views of memory
// the decoder keeps for its whole life (longer strings, interned; syscall
// names), so a record stays valid as long as its decoder.
//
// Integer fields hold kNoValue when the event class lacks the field (or the
// trace gives it a non-integer type): modules choose their own fallback with
// Or(), as each did when it read the fields itself.
#ifndef VMTRACE_ANALYSES_EVENTS_TYPED_EVENT_H_
#define VMTRACE_ANALYSES_EVENTS_TYPED_EVENT_H_

#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

#include "analyses/events/tcp_key.h"

namespace vmtrace::events {

inline constexpr int64_t kNoValue = std::numeric_limits<int64_t>::min();

// `v`, or `fallback` when the field was absent.
inline int64_t Or(int64_t v, int64_t fallback) {
  return v == kNoValue ? fallback : v;
}
inline bool Has(int64_t v) { return v != kNoValue; }

// A string field: inline when short, else a view of decoder-owned memory.
class Text {
 public:
  static constexpr size_t kInline = 22;

  Text() : size_(0), external_(false) {}
  std::string_view view() const {
    return external_ ? std::string_view(ext_.data, ext_.size)
                     : std::string_view(buf_, size_);
  }
  bool empty() const { return external_ ? ext_.size == 0 : size_ == 0; }
  // Copies `s` inline; false (nothing copied) if it does not fit.
  bool SetInline(std::string_view s) {
    if (s.size() > kInline) return false;
    // An empty view may have a null data(): memcpy must not see it.
    if (!s.empty()) std::memcpy(buf_, s.data(), s.size());
    size_ = static_cast<uint8_t>(s.size());
    external_ = false;
    return true;
  }
  // Points at `s`, which must outlive every copy of this Text.
  void SetExternal(std::string_view s) {
    ext_.data = s.data();
    ext_.size = s.size();
    external_ = true;
  }

 private:
  struct External {
    const char* data;
    size_t size;
  };
  union {
    char buf_[kInline];
    External ext_;
  };
  uint8_t size_;
  bool external_;
};

// What an event means, whatever the tracer's spelling of its name (the
// resolvers map lttng-modules 2.1-2.13 and perf names onto these).
enum class Kind : uint8_t {
  kOther,  // of no interest to any analysis (still fed: times advance)
  // Scheduler and processes (kernel_events.h).
  kSchedSwitch,
  kSchedWakeup,     // sched_wakeup, sched_waking
  kSchedWakeupNew,  // sched_wakeup_new
  kSchedTtwu,       // sched_ttwu (waker = the emitting thread)
  kProcessFork,
  kProcessExit,
  kProcessFree,
  kProcessExec,
  kStatedumpProcess,
  // Interrupts and syscalls (kernel_events.h).
  kIrqEntry,
  kIrqExit,
  kSoftIrqRaise,
  kSoftIrqEntry,
  kSoftIrqExit,
  kHrtimerEntry,
  kHrtimerExit,
  kBlockComplete,
  kSyscallEntry,
  kSyscallExit,
  // KVM (kvm_events.h).
  kKvmEntry,
  kKvmExit,
  kKvmInjVirq,
  kKvmAcceptIrq,
  kEnterGuest,  // addons_vcpu_enter_guest
  // TCP packets (tcp_events.h).
  kNetSend,
  kNetRecv,
};

const char* KindName(Kind k);

// Per-kind payloads. Thread ids as the tracer gives them (perf's "pid"
// fields are thread ids too).
struct SchedSwitch {
  int64_t prev_tid, prev_state, prev_prio;
  int64_t next_tid, next_prio;
  Text prev_comm, next_comm;
};
// kSchedWakeup, kSchedWakeupNew, kSchedTtwu: the woken thread.
struct Wakeup {
  int64_t tid, prio;
  Text comm;
};
struct Fork {
  int64_t parent_pid, child_tid, child_pid;
  Text child_comm;
};
// kProcessExit, kProcessFree, kProcessExec.
struct Process {
  int64_t tid;
  Text filename;  // kProcessExec only
};
struct Statedump {
  int64_t tid, pid, ppid, status, mode;
  Text name;
};
// kIrqEntry / kIrqExit: irq; kSoftIrq*: vec.
struct Irq {
  int64_t number;
};
struct Syscall {
  Text name;  // kSyscallEntry: "openat" ("" for perf's raw sys_enter)
};
struct KvmEntry {
  int64_t vcpu_id;
};
struct KvmExit {
  int64_t exit_reason, vcpu_id;
};
// kKvmInjVirq (apicid absent) and kKvmAcceptIrq.
struct KvmIrq {
  int64_t vector, apicid;
};
struct EnterGuest {
  int64_t vcpu_id, cr3;
  uint64_t sp;  // sptmp's bits, when has_sp
  bool has_sp;
};
struct NetPacket {
  bool decoded;  // false: no TCP header (IPv6, UDP, truncated)
  TcpKey key;
};

struct TypedEvent {
  int64_t ts = 0;  // ns since the Unix epoch
  // The current-thread tracker's view of `cpu` (thread_tracker.h): the
  // thread running there before this event, -1 while unknown.
  int64_t cur_tid = -1;
  // Contexts (the emitting thread), kNoValue when the trace lacks them.
  int64_t ctx_tid = kNoValue, ctx_pid = kNoValue;
  int32_t cpu = -1;          // packet cpu_id, else perf's cpu field; -1 if none
  uint32_t trace_index = 0;  // index into the experiment's CTF traces
  uint32_t host = 0;         // index into EventDecoder::hosts()
  Kind kind = Kind::kOther;
  // True when the tracker learnt cur_tid from this event's tid context
  // (the CPU's first event with a context, before any sched_switch).
  bool cur_from_context = false;
  Text ctx_procname;
  union {
    SchedSwitch sched_switch;
    Wakeup wakeup;
    Fork fork;
    Process process;
    Statedump statedump;
    Irq irq;
    Syscall syscall;
    KvmEntry kvm_entry;
    KvmExit kvm_exit;
    KvmIrq kvm_irq;
    EnterGuest enter_guest;
    NetPacket net;
  };
  TypedEvent() : irq{0} {}
};

static_assert(std::is_trivially_copyable_v<TypedEvent>);

}  // namespace vmtrace::events

#endif  // VMTRACE_ANALYSES_EVENTS_TYPED_EVENT_H_
