// GraphModel: the pass handlers that build the execution graph.
#include "analyses/graph/graph_model.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <string_view>

#include "analyses/events/kernel_events.h"
#include "analyses/graph/graph_spill.h"
#include "analyses/sync/tcp_event.h"

namespace vmtrace::graph {
namespace {

using events::Has;
using events::Kind;
using events::Or;

// Interrupt context of a CPU (c.2 EventContext), innermost only.
enum class Ctx : uint8_t { kNone, kHrtimer, kIrq, kSoftirq };

}  // namespace

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
  std::map<std::pair<uint32_t, int64_t>, Vcpu> vcpus;  // (host, tid)
  std::map<std::pair<uint32_t, int64_t>, Cpu> cpus;    // (host, cpu)
  // (host, pid, target vcpu id) -> the IPI sent to it.
  std::map<std::tuple<uint32_t, int64_t, int64_t>, PendingIpi> ipis;
  std::map<std::pair<uint32_t, int64_t>, std::string> names;      // (host, tid)
  std::set<std::tuple<uint32_t, int64_t, uint64_t>> hypervisors;  // L1 CR3s
  std::map<std::pair<uint32_t, int64_t>, TxSource> tx_src;        // (host, tid)
  std::map<std::pair<uint32_t, int64_t>, std::deque<sync::TcpKey>> rx_queue;
  std::unordered_map<sync::TcpKey, NetSend, sync::TcpKeyHash> sends;
  std::vector<WakePacket> wake_packets;
};

GraphModel::GraphModel(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
    vm::VmOptions vectors)
    : vectors_(std::move(vectors)),
      traces_(traces),
      s_(std::make_unique<State>()) {
  g_.hosts = events::MapHosts(traces).names;
  g_.host_end.assign(g_.hosts.size(), 0);
}

GraphModel::~GraphModel() = default;

HostThread& GraphModel::Thread(uint32_t host, int64_t tid) {
  auto [it, inserted] = g_.thread_of.try_emplace(
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
  std::vector<HostEdge>& e = t.edges.vec();
  // Only the last edge is ever changed: the older ones may be spilled.
  if (!e.empty() && e.back().cause == c) return;
  if (!e.empty() && e.back().ts == ts) {
    e.back().cause = c;
    return;
  }
  e.push_back({ts, c});
  MaybeSpill(t.edges);
}

void GraphModel::Bind(uint32_t host, Vcpu& v, uint64_t cr3,
                      std::vector<GuestWake>* wakes,
                      std::vector<std::pair<bool, sync::TcpKey>>* packets,
                      bool kept) {
  if (wakes->empty()) return;
  GuestWorker& w = g_.guests[{host, v.pid, cr3}];
  for (size_t i = 0; i < wakes->size(); ++i) {
    w.wakes.vec().push_back((*wakes)[i]);
    w.wakes.vec().back().kept = kept;
    MaybeSpill(w.wakes);
    if ((*packets)[i].first) {
      s_->wake_packets.push_back({{host, v.pid, cr3},
                                  (*wakes)[i].inj_ts,
                                  (*wakes)[i].accept_ts(),
                                  (*packets)[i].second});
    }
  }
  wakes->clear();
  packets->clear();
}

GraphModel::Vcpu* GraphModel::VcpuOf(uint32_t host, int64_t tid) {
  auto it = s_->vcpus.find({host, tid});
  return it == s_->vcpus.end() ? nullptr : &it->second;
}

void GraphModel::OnEvent(const ctf::Event& ev) {
  if (!own_decoder_) {
    own_decoder_ = std::make_unique<events::EventDecoder>(traces_);
  }
  events::TypedEvent rec;
  own_decoder_->Decode(ev, &rec);
  OnEvent(rec);
}

void GraphModel::OnEvent(const Ev& ev) {
  if (g_.events++ == 0) g_.begin = ev.ts;
  g_.end = ev.ts;
  g_.host_end[ev.host] = ev.ts;
  const int64_t ctx_tid = Or(ev.ctx_tid, ev.cur_tid);
  auto cpu = [&]() -> Cpu& { return s_->cpus[{ev.host, ev.cpu}]; };
  switch (ev.kind) {
    case Kind::kSchedSwitch:
      return OnSwitch(ev);
    case Kind::kSchedWakeup:
    case Kind::kSchedTtwu:
      return OnWakeup(ev, cpu(), ctx_tid);
    case Kind::kKvmEntry:
      return OnKvmEntry(ev, ctx_tid);
    case Kind::kKvmExit:
      return OnKvmExit(ev, ctx_tid);
    case Kind::kEnterGuest:
      return OnEnterGuest(ev, ctx_tid);
    case Kind::kKvmAcceptIrq:
      return OnAcceptIrq(ev, ctx_tid);
    case Kind::kKvmInjVirq:
      return OnInjVirq(ev, ctx_tid);
    case Kind::kHrtimerEntry:
      cpu().ctx = Ctx::kHrtimer;
      return;
    case Kind::kIrqEntry:
      cpu().ctx = Ctx::kIrq;
      cpu().block_done = false;
      return;
    case Kind::kSoftIrqEntry:
      cpu().ctx = Ctx::kSoftirq;
      cpu().softirq_vec = Or(ev.irq.number, -1);
      return;
    case Kind::kHrtimerExit:
    case Kind::kIrqExit:
    case Kind::kSoftIrqExit:
      cpu().ctx = Ctx::kNone;
      return;
    case Kind::kBlockComplete:
      cpu().block_done = true;
      return;
    case Kind::kNetSend:
      return OnNetSend(ev, ctx_tid);
    case Kind::kNetRecv:
      cpu().has_rx = ev.net.decoded;
      if (ev.net.decoded) cpu().rx = ev.net.key;
      return;
    case Kind::kStatedumpProcess:
      return OnStatedump(ev);
    default:
      return;
  }
}

void GraphModel::OnSwitch(const Ev& ev) {
  const events::SchedSwitch& s = ev.sched_switch;
  const uint32_t host = ev.host;
  const int64_t prev = Or(s.prev_tid, -1), next = Or(s.next_tid, -1);
  Change(host, prev, ev.ts,
         events::SwitchedOutRunnable(Or(s.prev_state, 0)) ? Cause::kPreempted
                                                          : Cause::kBlocked);
  Change(host, next, ev.ts, Cause::kRunning);
  if (!s.next_comm.empty() && next > 0) {
    auto [it, added] = s_->names.try_emplace({host, next});
    if (added) it->second = std::string(s.next_comm.view());
  }
  if (Vcpu* v = VcpuOf(host, next)) v->injected = false;
}

namespace {

// Why a blocked thread woke, from the interrupt context of the wake-up.
Cause WakeCause(Ctx ctx, bool block_done, int64_t softirq_vec) {
  switch (ctx) {
    case Ctx::kHrtimer:
      return Cause::kTimer;
    case Ctx::kIrq:
      return block_done ? Cause::kBlockDevice : Cause::kInterrupted;
    case Ctx::kSoftirq:
      return softirq_vec == 2 || softirq_vec == 3   ? Cause::kNetwork
             : softirq_vec == 4 || softirq_vec == 5 ? Cause::kBlockDevice
             : softirq_vec == 1 || softirq_vec == 8 ? Cause::kTimer
                                                    : Cause::kInterrupted;
    case Ctx::kNone:
      break;
  }
  return Cause::kBlocked;
}

}  // namespace

void GraphModel::OnWakeup(const Ev& ev, Cpu& cpu, int64_t ctx_tid) {
  const uint32_t host = ev.host;
  const int64_t wakee = Or(ev.wakeup.tid, -1);
  if (wakee <= 0) return;
  if (cpu.ctx == Ctx::kNone) {
    if (const Vcpu* src = VcpuOf(host, ctx_tid); src && src->has_cr3) {
      s_->tx_src[{host, wakee}] = {src->pid, src->cr3, src->last_exit_ts};
    }
  } else if (cpu.ctx == Ctx::kSoftirq && cpu.has_rx) {
    s_->rx_queue[{host, wakee}].push_back(cpu.rx);
    cpu.has_rx = false;
  }
  HostThread& t = Thread(host, wakee);
  std::vector<HostEdge>& e = t.edges.vec();
  if (e.empty() || e.back().cause != Cause::kBlocked) return;
  if (cpu.ctx == Ctx::kNone && ctx_tid > 0 && ctx_tid != wakee) {
    g_.host_wakes.vec().push_back(
        {ev.ts, static_cast<int32_t>(ctx_tid), static_cast<int32_t>(wakee)});
    MaybeSpill(g_.host_wakes);
  }
  e.back().cause = WakeCause(cpu.ctx, cpu.block_done, cpu.softirq_vec);
  Change(host, wakee, ev.ts, Cause::kPreempted);
}

void GraphModel::OnKvmEntry(const Ev& ev, int64_t ctx_tid) {
  Vcpu& v = s_->vcpus[{ev.host, ctx_tid}];
  v.id = Or(ev.kvm_entry.vcpu_id, v.id);
  v.pid = Or(ev.ctx_pid, v.pid);
  v.injected = false;
  if (v.cr3_is_hyp) {
    auto& h = g_.guests[{ev.host, v.pid, v.cr3}].hyp_entries;
    h.vec().push_back(ev.ts);
    MaybeSpill(h);
  }
}

void GraphModel::OnKvmExit(const Ev& ev, int64_t ctx_tid) {
  const uint32_t host = ev.host;
  Vcpu& v = s_->vcpus[{host, ctx_tid}];
  v.id = Or(ev.kvm_exit.vcpu_id, v.id);
  v.pid = Or(ev.ctx_pid, v.pid);
  v.last_exit_ts = ev.ts;
  v.injected = false;
  const int64_t reason = Or(ev.kvm_exit.exit_reason, -1);
  if (reason == 30 && v.has_cr3) {
    auto& k = g_.guests[{host, v.pid, v.cr3}].kicks;
    k.vec().push_back(ev.ts);
    MaybeSpill(k);
  }
  if ((reason == 20 || reason == 21 || reason == 24) && v.has_cr3) {
    s_->hypervisors.insert({host, v.pid, v.cr3});
    v.cr3_is_hyp = true;
    Bind(host, v, v.cr3, &v.held, &v.held_packets, false);
  }
}

void GraphModel::OnEnterGuest(const Ev& ev, int64_t ctx_tid) {
  const uint32_t host = ev.host;
  Vcpu& v = s_->vcpus[{host, ctx_tid}];
  v.id = Or(ev.enter_guest.vcpu_id, v.id);
  v.pid = Or(ev.ctx_pid, v.pid);
  v.cr3 = static_cast<uint64_t>(Or(ev.enter_guest.cr3, 0));
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
}

void GraphModel::OnAcceptIrq(const Ev& ev, int64_t ctx_tid) {
  const events::KvmIrq& irq = ev.kvm_irq;
  if (!Has(irq.apicid)) return;
  Vcpu* src = VcpuOf(ev.host, ctx_tid);
  if (src == nullptr) return OnDeviceIrq(ev, ctx_tid);
  if (Ipi(ev.host, src->pid, Or(irq.vector, -1))) {
    s_->ipis[{ev.host, src->pid, irq.apicid}] = {src->last_exit_ts, src->cr3,
                                                 ctx_tid, src->has_cr3};
  }
}

void GraphModel::OnDeviceIrq(const Ev& ev, int64_t ctx_tid) {
  const uint32_t host = ev.host;
  // A QEMU device thread: disk (main / "IO *") or net ("vhost-*").
  int64_t pid = Or(ev.ctx_pid, -1);
  auto nm = s_->names.find({host, ctx_tid});
  const std::string_view name =
      nm == s_->names.end() ? std::string_view() : nm->second;
  // A vhost worker is a kernel thread of its own: "vhost-<QEMU pid>".
  const bool vhost = name.substr(0, 6) == "vhost-";
  if (vhost) {
    int64_t owner = 0;
    auto [e, ec] =
        std::from_chars(name.data() + 6, name.data() + name.size(), owner);
    if (ec == std::errc() && owner > 0) pid = owner;
  }
  const Cause c = vhost ? Cause::kNetwork
                  : ctx_tid == pid || name.substr(0, 3) == "IO "
                      ? Cause::kBlockDevice
                      : Cause::kUnknown;
  if (c == Cause::kUnknown) return;
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
  for (auto& [key, v] : s_->vcpus) {
    if (key.first == host && v.pid == pid && v.id == ev.kvm_irq.apicid) {
      v.dev_vector = Or(ev.kvm_irq.vector, -1);
      v.dev_cause = c;
      v.has_packet = has_packet;
      v.packet = packet;
      v.packet_accept_ts = ev.ts;
    }
  }
}

void GraphModel::OnInjVirq(const Ev& ev, int64_t ctx_tid) {
  Vcpu* v = VcpuOf(ev.host, ctx_tid);
  if (v == nullptr || v->injected) return;
  v->injected = true;
  GuestWake gw;
  gw.inj_ts = ev.ts;
  gw.vector = static_cast<int16_t>(Or(ev.kvm_irq.vector, -1));
  gw.vcpu = static_cast<int16_t>(v->id);
  if (Ipi(ev.host, v->pid, gw.vector)) {
    auto it = s_->ipis.find({ev.host, v->pid, v->id});
    if (it != s_->ipis.end()) {
      gw.set_wake_ts(it->second.wake_ts);
      gw.waker_cr3 = it->second.cr3;
      gw.source_tid = static_cast<int32_t>(it->second.source);
      gw.ipi = it->second.has_cr3;
      s_->ipis.erase(it);
    }
  }
  if (gw.vector == v->dev_vector) gw.device = v->dev_cause;
  const bool packet = gw.device == Cause::kNetwork && v->has_packet;
  if (packet) {
    gw.set_accept_ts(v->packet_accept_ts);
    v->has_packet = false;
  }
  v->pending.push_back(gw);
  v->pending_packets.emplace_back(packet, v->packet);
}

void GraphModel::OnNetSend(const Ev& ev, int64_t ctx_tid) {
  if (!ev.net.decoded) return;
  auto src = s_->tx_src.find({ev.host, ctx_tid});
  if (src == s_->tx_src.end()) return;  // not sent for a guest process
  s_->sends[ev.net.key] = {ev.host, src->second};
}

void GraphModel::OnStatedump(const Ev& ev) {
  const int64_t tid = Or(ev.statedump.tid, -1);
  if (tid > 0) {
    s_->names[{ev.host, tid}] = std::string(ev.statedump.name.view());
  }
}

void GraphModel::Finish(int64_t end_time) {
  (void)end_time;
  // Packets into guests whose send was found, per guest in the order seen
  // (each guest's wakes are then completed on their own, one guest in
  // memory at a time when the graph was spilled).
  std::map<GuestKey, std::vector<const WakePacket*>> packets;
  for (const WakePacket& wp : s_->wake_packets) {
    if (s_->sends.count(wp.key)) packets[wp.guest].push_back(&wp);
  }
  for (auto& [k, w] : g_.guests) {
    Status st = Gather(w.wakes);
    if (!st.ok()) break;  // spill_status() tells
    std::vector<GuestWake>& wakes = w.wakes.vec();
    std::sort(wakes.begin(), wakes.end(),
              [](const GuestWake& a, const GuestWake& b) {
                return a.inj_ts < b.inj_ts;
              });
    // Who sent the packets, when.
    auto pk = packets.find(k);
    for (const WakePacket* wp :
         pk == packets.end() ? std::vector<const WakePacket*>() : pk->second) {
      const auto& send = s_->sends.find(wp->key)->second;
      auto it = std::lower_bound(
          wakes.begin(), wakes.end(), wp->inj_ts,
          [](const GuestWake& x, int64_t t) { return x.inj_ts < t; });
      for (; it != wakes.end() && it->inj_ts == wp->inj_ts; ++it) {
        if (it->device != Cause::kNetwork || it->net_host >= 0) continue;
        if (send.host > 127) continue;  // GuestWake::net_host is 8 bits
        it->net_host = static_cast<int8_t>(send.host);
        it->net_pid = static_cast<int32_t>(send.src.pid);
        it->net_cr3 = send.src.cr3;
        it->net_kick_ts = send.src.kick_ts;
        break;
      }
    }
    uint64_t offset;
    if (spill_ && !wakes.empty() &&
        spill_->Append(wakes.data(), wakes.size() * sizeof(GuestWake),
                       &offset)) {
      // Back to the spill file, whole and sorted: SaveGraph copies it.
      w.wakes.spilled = {{offset, wakes.size()}};
      w.wakes.spilled_count = wakes.size();
      std::vector<GuestWake>().swap(wakes);
    }
    wakes.shrink_to_fit();
    w.kicks.vec().shrink_to_fit();
    w.hyp_entries.vec().shrink_to_fit();
  }
  // Swapped, not cleared: the pass state lives as long as the experiment,
  // and clear() keeps the capacity (56 + 11 MiB at 100M events).
  std::vector<WakePacket>().swap(s_->wake_packets);
  decltype(s_->sends)().swap(s_->sends);
  for (HostThread& t : g_.threads) t.edges.vec().shrink_to_fit();
  g_.host_wakes.vec().shrink_to_fit();
}

}  // namespace vmtrace::graph
