// Host side of the simulation: the per-CPU scheduler, host processes, the
// QEMU I/O thread (virtio-blk completions), the vhost thread and the NIC.
#include <algorithm>

#include "tools/gen/sim.h"

namespace vmtrace::gen {

namespace {
// Host processes, I/O and vhost threads win over vCPU threads.
int ClassOf(int kind_value) { return kind_value == 2 ? 0 : 1; }
}  // namespace

uint64_t Simulator::Wake(Host& h, int thread, int waker_cpu, uint64_t t) {
  Thread& w = h.threads[thread];
  if (w.state != TState::kBlocked) return t;
  const EventContext& c = Cur(h, waker_cpu);
  t = h.writer->SchedTtwu(waker_cpu, t, c, w.ctx.tid) + 40;
  t = h.writer->SchedWaking(waker_cpu, t, c, w.ctx, w.prio, w.cpu) + 150;
  t = h.writer->SchedWakeup(waker_cpu, t, c, w.ctx, w.prio, w.cpu) + 60;
  w.state = TState::kRunnable;
  Cpu& cpu = h.cpus[w.cpu];
  cpu.rq.Push(thread);
  const Thread& cur = h.threads[cpu.current];
  const uint32_t hi = h.index;
  if (cur.kind == Kind::kIdle ||
      (w.kind != Kind::kVcpu && cur.kind == Kind::kVcpu)) {
    Schedule(t + Small(1500, 4000), Act::kResched, hi,
             static_cast<uint32_t>(w.cpu));
  }
  return t;
}

void Simulator::Resched(Host& h, int cpu, uint64_t t, bool slice) {
  Cpu& c = h.cpus[cpu];
  Thread& cur = h.threads[c.current];
  const bool cur_wants =
      cur.kind != Kind::kIdle && cur.state == TState::kRunning;
  int best = -1, best_class = -1;
  for (size_t i = 0; i < c.rq.size(); ++i) {
    int cls = ClassOf(static_cast<int>(h.threads[c.rq.At(i)].kind));
    if (cls > best_class) {
      best_class = cls;
      best = static_cast<int>(i);
    }
  }
  const uint32_t hi = h.index;
  auto rearm = [&]() {
    if (slice && cur_wants) {
      Schedule(t + h.spec->timeslice_ns, Act::kSlice, hi,
               static_cast<uint32_t>(cpu), ++c.slice_epoch);
    }
  };
  if (best < 0) {
    if (!cur_wants && cur.kind != Kind::kIdle) {
      SwitchTo(h, cpu, t, c.idle);
    } else {
      rearm();
    }
    return;
  }
  if (cur_wants) {
    int cur_class = ClassOf(static_cast<int>(cur.kind));
    bool preempt = best_class > cur_class || (slice && best_class >= cur_class);
    if (!preempt) {
      rearm();
      return;
    }
  }
  int next = c.rq.At(best);
  c.rq.RemoveAt(best);
  if (cur_wants) {
    cur.state = TState::kRunnable;
    c.rq.Push(c.current);
  }
  SwitchTo(h, cpu, t, next);
}

void Simulator::SwitchTo(Host& h, int cpu, uint64_t t, int next) {
  Cpu& c = h.cpus[cpu];
  const int prev = c.current;
  Thread& p = h.threads[prev];
  Thread& n = h.threads[next];
  if (p.kind == Kind::kVcpu && h.vcpus[p.vcpu].mode == Mode::kGuest) {
    // A vCPU thread leaves guest mode before the host can schedule.
    t = VcpuExit(h, p.vcpu, t, 1) + Small(300, 900);
  }
  const bool runnable = p.kind == Kind::kIdle || p.state == TState::kRunnable;
  t = h.writer->SchedSwitch(cpu, t, p.ctx, p.ctx, p.prio, runnable ? 0 : 1,
                            n.ctx, n.prio);
  switch (p.kind) {
    case Kind::kHostProc:
      if (runnable) p.remaining -= std::min(p.remaining, t - p.run_start);
      ++p.epoch;
      break;
    case Kind::kVcpu:
      VcpuSwitchedOut(h, p.vcpu, t, runnable, next);
      break;
    case Kind::kIo:
    case Kind::kVhost:
      ++p.epoch;
      break;
    case Kind::kIdle:
      break;
  }
  c.current = next;
  n.state = TState::kRunning;
  c.slice_start = t;
  const uint32_t hi = h.index;
  if (n.kind != Kind::kIdle) {
    Schedule(t + h.spec->timeslice_ns, Act::kSlice, hi,
             static_cast<uint32_t>(cpu), ++c.slice_epoch);
  }
  switch (n.kind) {
    case Kind::kHostProc:
      n.run_start = t;
      Schedule(t + std::max<uint64_t>(n.remaining, 1), Act::kHostProcDone, hi,
               static_cast<uint32_t>(next), n.epoch);
      break;
    case Kind::kVcpu:
      VcpuSwitchedIn(h, n.vcpu, t);
      break;
    case Kind::kIo:
      Schedule(t + Small(2000, 4000), Act::kIoRun, hi,
               static_cast<uint32_t>(n.vm), n.epoch);
      break;
    case Kind::kVhost:
      Schedule(t + Small(1500, 3000), Act::kVhostRun, hi,
               static_cast<uint32_t>(n.vm), n.epoch);
      break;
    case Kind::kIdle:
      break;
  }
}

void Simulator::Block(Host& h, int thread, uint64_t t) {
  Thread& th = h.threads[thread];
  th.state = TState::kBlocked;
  Resched(h, th.cpu, t, false);
}

uint64_t Simulator::InterruptCpu(Host& h, int cpu, uint64_t t) {
  const Thread& cur = h.threads[h.cpus[cpu].current];
  if (cur.kind == Kind::kVcpu && h.vcpus[cur.vcpu].mode == Mode::kGuest) {
    // A host interrupt arriving in guest mode makes the vCPU exit (reason 1).
    t = VcpuExit(h, cur.vcpu, t, 1) + Small(200, 500);
    const uint32_t hi = h.index;
    Schedule(t + Small(1500, 3000), Act::kVcpuEnter, hi,
             static_cast<uint32_t>(cur.vcpu), h.vcpus[cur.vcpu].epoch);
  }
  return t;
}

void Simulator::HostProcWake(Host& h, int thread, uint64_t t) {
  Thread& th = h.threads[thread];
  const HostProcessSpec& ps = h.spec->processes[th.spec];
  const uint32_t hi = h.index;
  Schedule(t + Jit(ps.period_ns), Act::kHostProcWake, hi,
           static_cast<uint32_t>(thread));
  const uint64_t timer = 0xffff888100000000ull + 0x100 * thread;
  t = InterruptCpu(h, th.cpu, t);
  t = h.writer->HrtimerExpireEntry(th.cpu, t, Cur(h, th.cpu), timer,
                                   0xffffffff81150000ull) +
      300;
  if (th.state == TState::kBlocked) {
    th.remaining = Jit(ps.run_ns);
    t = Wake(h, thread, th.cpu, t);
  } else {
    th.remaining += Jit(ps.run_ns);
  }
  h.writer->HrtimerExpireExit(th.cpu, t, Cur(h, th.cpu), timer);
}

void Simulator::HostProcDone(Host& h, int thread, uint32_t epoch, uint64_t t) {
  Thread& th = h.threads[thread];
  if (th.epoch != epoch || th.state != TState::kRunning) return;
  th.remaining = 0;
  Block(h, thread, t);
}

void Simulator::IoRun(Host& h, int vmi, uint32_t epoch, uint64_t t) {
  Vm& vm = h.vms[vmi];
  Thread& io = h.threads[vm.io];
  if (io.epoch != epoch || io.state != TState::kRunning) return;
  const uint32_t hi = h.index;
  const int cpu = io.cpu;
  while (!vm.io_queue.empty()) {
    Pending req = vm.io_queue.Pop();
    uint64_t lat = vm.io_lat.Pop();
    bool write = (rng_() & 1) != 0;
    vm.sector += 8 + (rng_() % 64) * 8;
    t = h.writer->SyscallEntryRw(cpu, t, io.ctx, write, 14, vm.sector * 512) +
        Small(800, 1500);
    t = h.writer->BlockRqIssue(cpu, t, io.ctx, vm.sector, 8, write) +
        Small(500, 1200);
    t = h.writer->SyscallExitRw(cpu, t, io.ctx, write, 4096) + 300;
    Schedule(t + std::max<uint64_t>(Jit(lat), 1000), Act::kDiskIrq, hi,
             static_cast<uint32_t>(vmi), static_cast<uint32_t>(req.proc),
             static_cast<uint32_t>(vm.sector));
  }
  while (!vm.io_done.empty()) {
    int proc = vm.io_done.Pop();
    Proc& p = h.procs[proc];
    t = h.writer->KvmApicAcceptIrq(
            cpu, t, io.ctx, h.vcpus[p.vcpu].index,
            static_cast<uint8_t>(vm.spec->vectors.disk)) +
        200;
    t = Deliver(h, p.vcpu, vm.spec->vectors.disk, proc, Wait::kDisk, cpu, t) +
        300;
  }
  Block(h, vm.io, t);
}

void Simulator::DiskIrq(Host& h, int vmi, int proc, uint64_t t) {
  Vm& vm = h.vms[vmi];
  const int io = vm.io;
  const int cpu = h.threads[io].cpu;
  t = InterruptCpu(h, cpu, t);
  t = h.writer->IrqHandlerEntry(cpu, t, Cur(h, cpu), 42, "nvme0q2") + 400;
  t = h.writer->BlockRqComplete(cpu, t, Cur(h, cpu), vm.sector, 8, true) + 300;
  vm.io_done.Push(proc);
  t = Wake(h, io, cpu, t);
  h.writer->IrqHandlerExit(cpu, t, Cur(h, cpu), 42);
}

void Simulator::VhostRun(Host& h, int vmi, uint32_t epoch, uint64_t t) {
  Vm& vm = h.vms[vmi];
  Thread& vh = h.threads[vm.vhost];
  if (vh.epoch != epoch || vh.state != TState::kRunning) return;
  const int cpu = vh.cpu;
  const uint32_t hi = h.index;
  while (!vm.tx.empty()) {
    Packet pk = vm.tx.Pop();
    int dest_host = static_cast<int>(pk.dest >> 16);
    Proc& dst = ProcByGid(static_cast<int>(pk.dest));
    Host& dh = *hosts_[dest_host];
    TcpPacket tcp;
    tcp.skbaddr = 0xffff888200000000ull + (static_cast<uint64_t>(pk.seq) << 8);
    tcp.len = 52 + 200 + pk.seq % 1000;
    tcp.saddr = vm.ip;
    tcp.daddr = pk.kind == kPktReply ? 0x5db8d822u : dh.vms[dst.vm].ip;
    tcp.sport = static_cast<uint16_t>(40000 + (ProcByGid(pk.src).gid & 0xff));
    tcp.dport = 8080;
    tcp.seq = pk.seq;
    tcp.ack_seq = pk.ack;
    tcp.flags = 0x18;
    t = h.writer->NetPacket(cpu, t, vh.ctx, false, "eth0", tcp) +
        Small(1000, 2000);
    uint64_t lat =
        pk.kind == kPktReply ? Jit(pk.latency) : Jit(sc_.link_latency_ns);
    uint32_t seq = pk.seq, ack = pk.ack;
    if (pk.kind == kPktReply) {
      // The outside peer answers on the same connection.
      Proc& self = ProcByGid(static_cast<int>(pk.src));
      seq = self.rcv;
      ack = pk.seq + tcp.len;
      self.rcv += 300;
      dest_host = static_cast<int>(hi);
    }
    Schedule(t + std::max<uint64_t>(lat, 2000), Act::kNetRx,
             static_cast<uint32_t>(dest_host), static_cast<uint32_t>(dst.vm),
             static_cast<uint32_t>(pk.dest & 0xffff), (pk.src << 2) | pk.kind,
             seq, ack);
  }
  while (!vm.rx.empty()) {
    Packet pk = vm.rx.Pop();
    int proc = static_cast<int>(pk.dest);
    Proc& p = h.procs[proc];
    const uint64_t accept =
        h.writer->KvmApicAcceptIrq(cpu, t, vh.ctx, h.vcpus[p.vcpu].index,
                                   static_cast<uint8_t>(vm.spec->vectors.net));
    t = accept + 200;
    Wait kind = Wait::kNet;
    if (pk.kind == kPktRequest) {
      kind = Wait::kServe;
      p.requesters.Push(static_cast<int>(pk.src));
      // A server blocked on `serve` waits for this client's request: the
      // client's kick sent it (the truth's critical path follows it).
      Proc& client = ProcByGid(static_cast<int>(pk.src));
      if (p.blocked && p.waiting == Wait::kServe && p.block_info >= 0 &&
          client.block_info >= 0) {
        BlockInfo& bi = h.truth.blocks()[p.block_info];
        bi.waker_host = static_cast<int>(pk.src >> 16);
        bi.waker = static_cast<int>(pk.src & 0xffff);
        bi.wake_ts =
            hosts_[pk.src >> 16]->truth.blocks()[client.block_info].block_ts;
        bi.accept_ts = accept;
      }
    } else if (pk.kind == kPktResponse) {
      kind = Wait::kReply;
      if (p.blocked && p.waiting == Wait::kReply && p.block_info >= 0) {
        h.truth.blocks()[p.block_info].accept_ts = accept;
      }
    }
    t = Deliver(h, p.vcpu, vm.spec->vectors.net, proc, kind, cpu, t) + 300;
  }
  Block(h, vm.vhost, t);
}

void Simulator::NetRx(Host& h, const Action& a) {
  Vm& vm = h.vms[a.a];
  const int cpu = h.threads[vm.vhost].cpu;
  uint64_t t = InterruptCpu(h, cpu, a.t);
  t = h.writer->IrqHandlerEntry(cpu, t, Cur(h, cpu), 43, "eth0-rx-0") + 300;
  t = h.writer->Softirq(cpu, t, Cur(h, cpu), 0, 3) + 200;
  t = h.writer->IrqHandlerExit(cpu, t, Cur(h, cpu), 43) + 300;
  t = h.writer->Softirq(cpu, t, Cur(h, cpu), 1, 3) + 400;
  TcpPacket tcp;
  tcp.seq = a.d;
  tcp.ack_seq = a.e;
  tcp.skbaddr = 0xffff888300000000ull + (static_cast<uint64_t>(a.d) << 8);
  tcp.len = 52 + 200 + a.d % 1000;
  tcp.saddr = 0x5db8d822u;
  tcp.daddr = vm.ip;
  tcp.dport = 8080;
  tcp.flags = 0x18;
  const uint32_t kind = a.c & 3;
  const uint32_t src = a.c >> 2;
  if (kind != kPktReply) {
    const Proc& sp = ProcByGid(static_cast<int>(src));
    tcp.saddr = hosts_[src >> 16]->vms[sp.vm].ip;
    tcp.sport = static_cast<uint16_t>(40000 + (sp.gid & 0xff));
    tcp.len = 52 + 200 + a.d % 1000;
  }
  t = h.writer->NetPacket(cpu, t, Cur(h, cpu), true, "eth0", tcp) + 500;
  vm.rx.Push(Packet{a.b, kind, src, a.d, a.e, 0});
  t = Wake(h, vm.vhost, cpu, t);
  h.writer->Softirq(cpu, t, Cur(h, cpu), 2, 3);
}

uint64_t Simulator::Deliver(Host& h, int vcpu, int vector, int proc, Wait kind,
                            int waker_cpu, uint64_t t) {
  Vcpu& v = h.vcpus[vcpu];
  v.pending.Push(Pending{vector, proc, kind});
  Thread& th = h.threads[v.thread];
  if (th.state == TState::kBlocked) {
    t = Wake(h, v.thread, waker_cpu, t);
  } else if (th.state == TState::kRunning && v.mode == Mode::kGuest) {
    const uint32_t hi = h.index;
    Schedule(t + Small(800, 1500), Act::kVcpuKick, hi,
             static_cast<uint32_t>(vcpu), v.epoch);
  }
  return t;
}

}  // namespace vmtrace::gen
