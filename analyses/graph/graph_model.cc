// GraphModel: the pass handlers that build the execution graph.
#include "analyses/graph/graph_model.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <filesystem>
#include <set>
#include <string_view>

#include "analyses/kernel/event_layout.h"
#include "analyses/sync/tcp_event.h"

namespace vmtrace::graph {
namespace {

enum class Kind : uint8_t {
  kIgnored,
  kSwitch,
  kWakeup,  // sched_waking / sched_wakeup
  kTtwu,
  kEntry,
  kExit,
  kInjVirq,
  kAcceptIrq,
  kEnterGuest,
  kHrtimerEntry,
  kHrtimerExit,
  kIrqEntry,
  kIrqExit,
  kSoftirqEntry,
  kSoftirqExit,
  kBlockComplete,
  kStatedump,
  kNetSend,
  kNetRecv,
};

std::string_view Text(const ctf::Event& ev, int idx) {
  const ctf::Value* v = ev.field(idx);
  return v && v->kind == ctf::Value::kString ? v->s : std::string_view();
}

// Interrupt context of a CPU (c.2 EventContext), innermost only.
enum class Ctx : uint8_t { kNone, kHrtimer, kIrq, kSoftirq };

int64_t Int(const ctf::Event& ev, int idx, int64_t fallback = -1) {
  const ctf::Value* v = ev.field(idx);
  if (!v ||
      (v->kind != ctf::Value::kSigned && v->kind != ctf::Value::kUnsigned)) {
    return fallback;
  }
  return v->AsInt();
}

int ContextIndex(const ctf::EventClass& cls, std::string_view name) {
  const auto& f = cls.fields();
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i].scope != ctf::Scope::kPayload && f[i].name == name) return int(i);
  }
  return -1;
}

int AnyPayload(const ctf::EventClass& cls,
               std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    int i = kernel::PayloadIndex(cls, n);
    if (i >= 0) return i;
  }
  return -1;
}

std::string_view KvmSuffix(std::string_view n) {
  if (n.substr(0, 8) == "kvm_x86_") return n.substr(8);
  if (n.substr(0, 4) == "kvm_") return n.substr(4);
  return {};
}

}  // namespace

struct GraphModel::Layout {
  Kind kind = Kind::kIgnored;
  int a = -1, b = -1, c = -1, d = -1;  // payload fields, per kind
  int ctx_tid = -1, ctx_pid = -1;
};

struct GraphModel::Vcpu {
  int64_t pid = -1, id = -1;
  uint64_t cr3 = 0;
  bool has_cr3 = false, injected = false;
  int64_t last_exit_ts = 0;
  uint64_t named = 0;  // last non-hypervisor CR3 named
  bool has_named = false;
  bool cr3_is_hyp = false;  // the current CR3 is an L1 hypervisor's
  int64_t dev_vector = -1;  // last vector accepted for it by a QEMU thread
  Cause dev_cause = Cause::kUnknown;
  bool has_packet = false;  // the last net IRQ accepted for it had a packet
  sync::TcpKey packet;
  int64_t packet_accept_ts = 0;
  std::vector<GuestWake> pending;  // bound at the next enter_guest
  // Entered into an L1 hypervisor's L1 phase, not yet bound (see Bind).
  std::vector<GuestWake> held;
  std::vector<std::pair<bool, sync::TcpKey>> held_packets;
  // Per pending wake: its packet, if any (bound with it).
  std::vector<std::pair<bool, sync::TcpKey>> pending_packets;
};

struct GraphModel::Cpu {
  int64_t current = -1;
  Ctx ctx = Ctx::kNone;
  int64_t softirq_vec = -1;
  bool block_done = false;
  bool has_rx = false;  // a TCP receive in the current softirq
  sync::TcpKey rx;
};

// Who made a vhost (or any QEMU) thread run: the guest process whose vCPU
// woke it, at that vCPU's last exit.
struct TxSource {
  int64_t pid = -1;
  uint64_t cr3 = 0;
  int64_t kick_ts = 0;
};

struct NetSend {
  uint32_t host = 0;
  TxSource src;
};

struct WakePacket {
  GuestKey guest;
  int64_t inj_ts, accept_ts;
  sync::TcpKey key;
};

struct PendingIpi {
  int64_t wake_ts;
  uint64_t cr3;
  int64_t source;
  bool has_cr3;
};

struct GraphModel::State {
  std::unordered_map<const ctf::EventClass*, Layout> layouts;
  std::map<std::pair<uint32_t, int64_t>, Vcpu> vcpus;  // (host, tid)
  std::map<std::pair<uint32_t, int64_t>, Cpu> cpus;    // (host, cpu)
  // (host, pid, target vcpu id) -> the IPI sent to it.
  std::map<std::tuple<uint32_t, int64_t, int64_t>, PendingIpi> ipis;
  std::map<std::pair<uint32_t, int64_t>, std::string> names;      // (host, tid)
  std::set<std::tuple<uint32_t, int64_t, uint64_t>> hypervisors;  // L1 CR3s
  sync::TcpEventDecoder tcp;
  std::map<std::pair<uint32_t, int64_t>, TxSource> tx_src;  // (host, tid)
  std::map<std::pair<uint32_t, int64_t>, std::deque<sync::TcpKey>> rx_queue;
  std::unordered_map<sync::TcpKey, NetSend, sync::TcpKeyHash> sends;
  std::vector<WakePacket> wake_packets;
};

GraphModel::GraphModel(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
    vm::VmOptions vectors)
    : vectors_(std::move(vectors)), s_(std::make_unique<State>()) {
  for (const auto& t : traces) {
    std::string host = t->info().hostname;
    if (host.empty()) {
      host = std::filesystem::path(t->info().path).filename().string();
    }
    int i = g_.HostIndex(host);
    if (i < 0) {
      i = static_cast<int>(g_.hosts.size());
      g_.hosts.push_back(host);
    }
    trace_host_.push_back(static_cast<uint32_t>(i));
  }
  g_.host_end.assign(g_.hosts.size(), 0);
}

GraphModel::~GraphModel() = default;

const GraphModel::Layout& GraphModel::LayoutOf(const ctf::EventClass* cls) {
  auto it = s_->layouts.find(cls);
  if (it != s_->layouts.end()) return it->second;
  Layout l;
  const std::string_view n = cls->name();
  l.ctx_tid = ContextIndex(*cls, "tid");
  if (l.ctx_tid < 0) l.ctx_tid = ContextIndex(*cls, "perf_tid");
  l.ctx_pid = ContextIndex(*cls, "pid");
  if (l.ctx_pid < 0) l.ctx_pid = ContextIndex(*cls, "perf_pid");
  const std::string_view kvm = KvmSuffix(n);
  if (n == "sched_switch") {
    l.kind = Kind::kSwitch;
    l.a = AnyPayload(*cls, {"prev_tid", "prev_pid"});
    l.b = kernel::PayloadIndex(*cls, "prev_state");
    l.c = AnyPayload(*cls, {"next_tid", "next_pid"});
    l.d = kernel::PayloadIndex(*cls, "next_comm");
  } else if (n == "lttng_statedump_process_state") {
    l.kind = Kind::kStatedump;
    l.a = kernel::PayloadIndex(*cls, "tid");
    l.b = kernel::PayloadIndex(*cls, "name");
  } else if (n == "sched_waking" || n == "sched_wakeup") {
    l.kind = Kind::kWakeup;
    l.a = AnyPayload(*cls, {"tid", "pid"});
  } else if (n == "sched_ttwu") {
    l.kind = Kind::kTtwu;
    l.a = AnyPayload(*cls, {"tid", "pid"});
  } else if (kvm == "entry") {
    l.kind = Kind::kEntry;
    l.a = kernel::PayloadIndex(*cls, "vcpu_id");
  } else if (kvm == "exit") {
    l.kind = Kind::kExit;
    l.a = kernel::PayloadIndex(*cls, "exit_reason");
    l.b = kernel::PayloadIndex(*cls, "vcpu_id");
  } else if (kvm == "inj_virq") {
    l.kind = Kind::kInjVirq;
    l.a = AnyPayload(*cls, {"irq", "vector"});
  } else if (kvm == "apic_accept_irq") {
    l.kind = Kind::kAcceptIrq;
    l.a = AnyPayload(*cls, {"vec", "vector"});
    l.b = kernel::PayloadIndex(*cls, "apicid");
  } else if (n == "addons_vcpu_enter_guest") {
    l.kind = Kind::kEnterGuest;
    l.a = kernel::PayloadIndex(*cls, "cr3tmp");
    l.b = kernel::PayloadIndex(*cls, "vcpuID");
  } else if (n == "timer_hrtimer_expire_entry" || n == "hrtimer_expire_entry") {
    l.kind = Kind::kHrtimerEntry;
  } else if (n == "timer_hrtimer_expire_exit" || n == "hrtimer_expire_exit") {
    l.kind = Kind::kHrtimerExit;
  } else if (n == "irq_handler_entry") {
    l.kind = Kind::kIrqEntry;
  } else if (n == "irq_handler_exit") {
    l.kind = Kind::kIrqExit;
  } else if (n == "irq_softirq_entry" || n == "softirq_entry") {
    l.kind = Kind::kSoftirqEntry;
    l.a = kernel::PayloadIndex(*cls, "vec");
  } else if (n == "irq_softirq_exit" || n == "softirq_exit") {
    l.kind = Kind::kSoftirqExit;
  } else if (n == "block_rq_complete") {
    l.kind = Kind::kBlockComplete;
  } else if (const sync::TcpSide side = s_->tcp.SideOf(cls);
             side != sync::TcpSide::kNone) {
    l.kind = side == sync::TcpSide::kSend ? Kind::kNetSend : Kind::kNetRecv;
  }
  return s_->layouts.emplace(cls, l).first->second;
}

HostThread& GraphModel::Thread(uint32_t host, int64_t tid) {
  auto [it, inserted] = g_.thread_of.emplace(
      std::make_pair(host, tid), static_cast<uint32_t>(g_.threads.size()));
  if (inserted) {
    g_.threads.emplace_back();
    g_.threads.back().host = host;
    g_.threads.back().tid = tid;
  }
  return g_.threads[it->second];
}

void GraphModel::Change(uint32_t host, int64_t tid, int64_t ts, Cause c) {
  if (tid <= 0) return;  // idle / swapper: not a worker
  HostThread& t = Thread(host, tid);
  if (!t.edges.empty() && t.edges.back().cause == c) return;
  if (!t.edges.empty() && t.edges.back().ts == ts) {
    t.edges.back().cause = c;
    return;
  }
  t.edges.push_back({ts, c});
}

void GraphModel::Bind(uint32_t host, Vcpu& v, uint64_t cr3,
                      std::vector<GuestWake>* wakes,
                      std::vector<std::pair<bool, sync::TcpKey>>* packets,
                      bool kept) {
  if (wakes->empty()) return;
  GuestWorker& w = g_.guests[{host, v.pid, cr3}];
  for (size_t i = 0; i < wakes->size(); ++i) {
    w.wakes.push_back((*wakes)[i]);
    w.wakes.back().kept = kept;
    if ((*packets)[i].first) {
      s_->wake_packets.push_back({{host, v.pid, cr3},
                                  (*wakes)[i].inj_ts,
                                  (*wakes)[i].accept_ts,
                                  (*packets)[i].second});
    }
  }
  wakes->clear();
  packets->clear();
}

void GraphModel::OnEvent(const ctf::Event& ev) {
  if (g_.events++ == 0) g_.begin = ev.timestamp;
  g_.end = ev.timestamp;
  g_.host_end[trace_host_[ev.trace_index]] = ev.timestamp;
  const Layout& l = LayoutOf(ev.cls);
  if (l.kind == Kind::kIgnored) return;
  const uint32_t host = trace_host_[ev.trace_index];
  const int64_t ts = ev.timestamp;
  Cpu& cpu = s_->cpus[{host, ev.cpu}];
  const int64_t ctx_tid = Int(ev, l.ctx_tid, cpu.current);
  auto vcpu_of = [&](int64_t tid) -> Vcpu* {
    auto it = s_->vcpus.find({host, tid});
    return it == s_->vcpus.end() ? nullptr : &it->second;
  };
  switch (l.kind) {
    case Kind::kSwitch: {
      const int64_t prev = Int(ev, l.a), next = Int(ev, l.c);
      const int64_t state = Int(ev, l.b, 0);
      Change(host, prev, ts,
             (state & 0xff) == 0 ? Cause::kPreempted : Cause::kBlocked);
      Change(host, next, ts, Cause::kRunning);
      cpu.current = next;
      if (l.d >= 0 && next > 0) {
        auto [it, added] = s_->names.try_emplace({host, next});
        if (added) it->second = std::string(Text(ev, l.d));
      }
      if (Vcpu* v = vcpu_of(next)) v->injected = false;
      break;
    }
    case Kind::kWakeup:
    case Kind::kTtwu: {
      const int64_t wakee = Int(ev, l.a);
      if (wakee <= 0) break;
      if (cpu.ctx == Ctx::kNone) {
        if (const Vcpu* src = vcpu_of(ctx_tid); src && src->has_cr3) {
          s_->tx_src[{host, wakee}] = {src->pid, src->cr3, src->last_exit_ts};
        }
      } else if (cpu.ctx == Ctx::kSoftirq && cpu.has_rx) {
        s_->rx_queue[{host, wakee}].push_back(cpu.rx);
        cpu.has_rx = false;
      }
      HostThread& t = Thread(host, wakee);
      if (t.edges.empty() || t.edges.back().cause != Cause::kBlocked) break;
      Cause c = Cause::kBlocked;
      switch (cpu.ctx) {
        case Ctx::kHrtimer:
          c = Cause::kTimer;
          break;
        case Ctx::kIrq:
          c = cpu.block_done ? Cause::kBlockDevice : Cause::kInterrupted;
          break;
        case Ctx::kSoftirq:
          c = cpu.softirq_vec == 2 || cpu.softirq_vec == 3 ? Cause::kNetwork
              : cpu.softirq_vec == 4 || cpu.softirq_vec == 5
                  ? Cause::kBlockDevice
              : cpu.softirq_vec == 1 || cpu.softirq_vec == 8
                  ? Cause::kTimer
                  : Cause::kInterrupted;
          break;
        case Ctx::kNone:
          if (ctx_tid > 0 && ctx_tid != wakee) {
            g_.host_wakes.push_back({ts, ctx_tid, wakee});
          }
          break;
      }
      t.edges.back().cause = c;
      Change(host, wakee, ts, Cause::kPreempted);
      break;
    }
    case Kind::kEntry: {
      Vcpu& v = s_->vcpus[{host, ctx_tid}];
      v.id = Int(ev, l.a, v.id);
      v.pid = Int(ev, l.ctx_pid, v.pid);
      v.injected = false;
      if (v.cr3_is_hyp)
        g_.guests[{host, v.pid, v.cr3}].hyp_entries.push_back(ts);
      break;
    }
    case Kind::kExit: {
      Vcpu& v = s_->vcpus[{host, ctx_tid}];
      v.id = Int(ev, l.b, v.id);
      v.pid = Int(ev, l.ctx_pid, v.pid);
      v.last_exit_ts = ts;
      v.injected = false;
      const int64_t reason = Int(ev, l.a);
      if (reason == 30 && v.has_cr3) {
        g_.guests[{host, v.pid, v.cr3}].kicks.push_back(ts);
      }
      if ((reason == 20 || reason == 21 || reason == 24) && v.has_cr3) {
        s_->hypervisors.insert({host, v.pid, v.cr3});
        v.cr3_is_hyp = true;
        Bind(host, v, v.cr3, &v.held, &v.held_packets, false);
      }
      break;
    }
    case Kind::kEnterGuest: {
      Vcpu& v = s_->vcpus[{host, ctx_tid}];
      v.id = Int(ev, l.b, v.id);
      v.pid = Int(ev, l.ctx_pid, v.pid);
      v.cr3 = static_cast<uint64_t>(Int(ev, l.a, 0));
      v.has_cr3 = true;
      v.cr3_is_hyp = s_->hypervisors.count({host, v.pid, v.cr3}) > 0;
      const bool kept = v.has_named && v.named == v.cr3;
      if (!v.cr3_is_hyp) {
        v.named = v.cr3;
        v.has_named = true;
      }
      // Interrupts go to L1 first. Entering the L1 hypervisor, they are
      // held: if it resumes L2 they were for L2 (bound to the hypervisor,
      // where L2 processes look); if it sleeps instead, for the L1 process
      // the vCPU enters next.
      if (v.cr3_is_hyp) {
        v.held.insert(v.held.end(), v.pending.begin(), v.pending.end());
        v.held_packets.insert(v.held_packets.end(), v.pending_packets.begin(),
                              v.pending_packets.end());
        v.pending.clear();
        v.pending_packets.clear();
      } else {
        Bind(host, v, v.cr3, &v.held, &v.held_packets, false);
        Bind(host, v, v.cr3, &v.pending, &v.pending_packets, kept);
      }
      break;
    }
    case Kind::kAcceptIrq: {
      const int64_t vec = Int(ev, l.a);
      Vcpu* src = vcpu_of(ctx_tid);
      if (src != nullptr && Ipi(host, src->pid, vec) && l.b >= 0) {
        s_->ipis[{host, src->pid, Int(ev, l.b)}] = {src->last_exit_ts, src->cr3,
                                                    ctx_tid, src->has_cr3};
      } else if (src == nullptr && l.b >= 0) {
        // A QEMU device thread: disk (main / "IO *") or net ("vhost-*").
        int64_t pid = Int(ev, l.ctx_pid, -1);
        auto nm = s_->names.find({host, ctx_tid});
        const std::string_view name =
            nm == s_->names.end() ? std::string_view() : nm->second;
        // A vhost worker is a kernel thread of its own: "vhost-<QEMU pid>".
        if (name.substr(0, 6) == "vhost-") {
          int64_t owner = 0;
          auto [e, ec] = std::from_chars(name.data() + 6,
                                         name.data() + name.size(), owner);
          if (ec == std::errc() && owner > 0) pid = owner;
        }
        Cause c = name.substr(0, 6) == "vhost-" ? Cause::kNetwork
                  : ctx_tid == pid || name.substr(0, 3) == "IO "
                      ? Cause::kBlockDevice
                      : Cause::kUnknown;
        bool has_packet = false;
        sync::TcpKey packet;
        if (c == Cause::kNetwork) {
          auto q = s_->rx_queue.find({host, ctx_tid});
          if (q != s_->rx_queue.end() && !q->second.empty()) {
            packet = q->second.front();
            q->second.pop_front();
            has_packet = true;
          }
        }
        if (c != Cause::kUnknown) {
          for (auto& [key, v] : s_->vcpus) {
            if (key.first == host && v.pid == pid && v.id == Int(ev, l.b)) {
              v.dev_vector = vec;
              v.dev_cause = c;
              v.has_packet = has_packet;
              v.packet = packet;
              v.packet_accept_ts = ts;
            }
          }
        }
      }
      break;
    }
    case Kind::kInjVirq: {
      Vcpu* v = vcpu_of(ctx_tid);
      if (v == nullptr || v->injected) break;
      v->injected = true;
      GuestWake gw;
      gw.inj_ts = gw.wake_ts = ts;
      gw.vector = Int(ev, l.a);
      gw.vcpu = static_cast<int32_t>(v->id);
      if (Ipi(host, v->pid, gw.vector)) {
        auto it = s_->ipis.find({host, v->pid, v->id});
        if (it != s_->ipis.end()) {
          gw.wake_ts = it->second.wake_ts;
          gw.waker_cr3 = it->second.cr3;
          gw.source_tid = it->second.source;
          gw.ipi = it->second.has_cr3;
          s_->ipis.erase(it);
        }
      }
      if (gw.vector == v->dev_vector) gw.device = v->dev_cause;
      const bool packet = gw.device == Cause::kNetwork && v->has_packet;
      if (packet) {
        gw.accept_ts = v->packet_accept_ts;
        v->has_packet = false;
      }
      v->pending.push_back(gw);
      v->pending_packets.emplace_back(packet, v->packet);
      break;
    }
    case Kind::kHrtimerEntry:
      cpu.ctx = Ctx::kHrtimer;
      break;
    case Kind::kIrqEntry:
      cpu.ctx = Ctx::kIrq;
      cpu.block_done = false;
      break;
    case Kind::kSoftirqEntry:
      cpu.ctx = Ctx::kSoftirq;
      cpu.softirq_vec = Int(ev, l.a);
      break;
    case Kind::kHrtimerExit:
    case Kind::kIrqExit:
    case Kind::kSoftirqExit:
      cpu.ctx = Ctx::kNone;
      break;
    case Kind::kBlockComplete:
      cpu.block_done = true;
      break;
    case Kind::kNetSend: {
      sync::TcpKey key;
      if (!s_->tcp.Decode(ev, &key)) break;
      auto src = s_->tx_src.find({host, ctx_tid});
      if (src == s_->tx_src.end()) break;  // not sent for a guest process
      s_->sends[key] = {host, src->second};
      break;
    }
    case Kind::kNetRecv: {
      cpu.has_rx = s_->tcp.Decode(ev, &cpu.rx);
      break;
    }
    case Kind::kStatedump: {
      const int64_t tid = Int(ev, l.a);
      if (tid > 0) s_->names[{host, tid}] = std::string(Text(ev, l.b));
      break;
    }
    case Kind::kIgnored:
      break;
  }
}

void GraphModel::Finish(int64_t end_time) {
  (void)end_time;
  for (auto& [k, w] : g_.guests) {
    std::sort(w.wakes.begin(), w.wakes.end(),
              [](const GuestWake& a, const GuestWake& b) {
                return a.inj_ts < b.inj_ts;
              });
    w.wakes.shrink_to_fit();
    w.kicks.shrink_to_fit();
    w.hyp_entries.shrink_to_fit();
  }
  // Packets into guests whose send was found: who sent them, when.
  for (const WakePacket& wp : s_->wake_packets) {
    auto send = s_->sends.find(wp.key);
    if (send == s_->sends.end()) continue;
    auto gw = g_.guests.find(wp.guest);
    if (gw == g_.guests.end()) continue;
    auto& wakes = gw->second.wakes;
    auto it = std::lower_bound(
        wakes.begin(), wakes.end(), wp.inj_ts,
        [](const GuestWake& x, int64_t t) { return x.inj_ts < t; });
    for (; it != wakes.end() && it->inj_ts == wp.inj_ts; ++it) {
      if (it->device != Cause::kNetwork || it->net_host >= 0) continue;
      it->net_host = static_cast<int32_t>(send->second.host);
      it->net_pid = send->second.src.pid;
      it->net_cr3 = send->second.src.cr3;
      it->net_kick_ts = send->second.src.kick_ts;
      break;
    }
  }
  s_->wake_packets.clear();
  s_->sends.clear();
  for (HostThread& t : g_.threads) t.edges.shrink_to_fit();
  g_.host_wakes.shrink_to_fit();
}

}  // namespace vmtrace::graph
