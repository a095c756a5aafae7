// vCPU/KVM and guest side of the simulation: entries, exits, interrupt
// injection, the per-vCPU guest scheduler, workload steps and nested (L2)
// execution through the L1 hypervisor process.
#include <algorithm>

#include "tools/gen/sim.h"

namespace vmtrace::gen {

namespace {
constexpr int kExitExternalInterrupt = 1;
constexpr int kExitHlt = 12;
constexpr int kExitVmlaunch = 20;
constexpr int kExitVmresume = 24;
constexpr int kExitIo = 30;
constexpr int kExitMsrWrite = 32;
constexpr int kSpuriousReasons[] = {1, 48, 30, 10, 31, 44};
}  // namespace

void Simulator::SetActualCurrent(Host& h, const Vcpu& v, uint64_t t, AState s) {
  if (v.idle) return;
  if (v.cur1 >= 0) h.truth.Actual(v.cur1, t, s);
  if (v.cur1 >= 0 && h.procs[v.cur1].hypervisor && v.cur2 >= 0) {
    AState s2 = s == AState::kRunning && !v.in_l2 ? AState::kHypervisor : s;
    h.truth.Actual(v.cur2, t, s2);
  }
}

void Simulator::VcpuSwitchedIn(Host& h, int vi, uint64_t t) {
  Vcpu& v = h.vcpus[vi];
  h.truth.SwitchIn(v.vm, v.index, t);
  SetActualCurrent(h, v, t, AState::kHypervisor);
  Schedule(t + Small(1000, 2500), Act::kVcpuEnter, h.index,
           static_cast<uint32_t>(vi), v.epoch);
}

void Simulator::VcpuSwitchedOut(Host& h, int vi, uint64_t t, bool runnable,
                                int next) {
  Vcpu& v = h.vcpus[vi];
  ++v.epoch;
  const Thread& n = h.threads[next];
  h.truth.SwitchOut(v.vm, v.index, t, runnable, n.kind == Kind::kVcpu,
                    n.ctx.tid);
  if (runnable) SetActualCurrent(h, v, t, AState::kPreempted);
}

uint64_t Simulator::VcpuExit(Host& h, int vi, uint64_t t, int reason) {
  Vcpu& v = h.vcpus[vi];
  const Thread& th = h.threads[v.thread];
  uint64_t rip = 0xffffffff81000000ull + (rng_() & 0xfffff);
  t = h.writer->KvmExit(th.cpu, t, th.ctx, static_cast<uint32_t>(reason), rip,
                        static_cast<uint32_t>(v.index));
  h.truth.Exit(v.vm, v.index, t, reason);
  // Guest time consumed since the entry (or the last in-guest step change).
  uint64_t ran = t - v.entry_ts;
  int p = v.in_l2 ? v.cur2
                  : (v.cur1 >= 0 && !h.procs[v.cur1].hypervisor ? v.cur1 : -1);
  if (p >= 0 && !v.idle && !v.l1_phase) {
    h.procs[p].remaining -= std::min(ran, h.procs[p].remaining);
  }
  v.slice_left -= std::min(ran, v.slice_left);
  v.spurious_left -= std::min(ran, v.spurious_left);
  v.entry_ts = t;
  v.mode = Mode::kRoot;
  v.l2_next = v.in_l2;  // exits handled by L0 resume L2 directly
  ++v.epoch;
  SetActualCurrent(h, v, t, AState::kHypervisor);
  return t;
}

bool Simulator::HypervisorRunnable(Host& h, const Vcpu& v) const {
  return (v.cur2 >= 0 && !h.procs[v.cur2].blocked) || !v.rq2.empty();
}

void Simulator::PickProcess(Host& h, Vcpu& v, uint64_t t, bool from_l2) {
  const uint64_t slice = h.vms[v.vm].spec->guest_timeslice_ns;
  auto runnable = [&](int p) {
    const Proc& pr = h.procs[p];
    return pr.hypervisor ? HypervisorRunnable(h, v) : !pr.blocked;
  };
  // An exit from L2 is reflected to the L1 hypervisor first, even when its
  // L2 has nothing left to run: it then sleeps in L1 (its L1 phase ends
  // with exit 32 or HLT), and only then does L1 run another process.
  if (v.cur1 >= 0 && !runnable(v.cur1) &&
      !(from_l2 && h.procs[v.cur1].hypervisor)) {
    v.cur1 = -1;
  }
  while (v.cur1 < 0 && !v.rq1.empty()) {
    int p = v.rq1.Pop();
    h.procs[p].queued = false;
    if (runnable(p)) {
      v.cur1 = p;
      v.slice_left = Jit(slice);
      v.l2_next = false;
    }
  }
  if (v.cur1 >= 0 && h.procs[v.cur1].hypervisor) {
    if (v.cur2 >= 0 && h.procs[v.cur2].blocked) v.cur2 = -1;
    while (v.cur2 < 0 && !v.rq2.empty()) {
      int p = v.rq2.Pop();
      h.procs[p].queued = false;
      if (!h.procs[p].blocked) {
        v.cur2 = p;
        v.slice_left = Jit(slice);
      }
    }
  }
}

void Simulator::VcpuEnter(Host& h, int vi, uint32_t epoch, uint64_t t) {
  Vcpu& v = h.vcpus[vi];
  const Thread& th = h.threads[v.thread];
  if (epoch != v.epoch || th.state != TState::kRunning ||
      v.mode != Mode::kRoot) {
    return;
  }
  const int cpu = th.cpu;
  bool injected = false;
  while (!v.pending.empty()) {
    Pending pd = v.pending.Pop();
    t = h.writer->KvmInjVirq(cpu, t, th.ctx, static_cast<uint32_t>(pd.vector));
    h.truth.Inject(v.vm, v.index, t, pd.vector);
    if (pd.proc >= 0) GuestWake(h, pd.proc, pd.kind, t);
    t += Small(100, 300);
    injected = true;
  }
  // Interrupts are handled by L1 first, so L2 is resumed through L1.
  if (injected && v.in_l2) v.l2_next = false;
  const bool from_l2 = v.in_l2;
  v.in_l2 = false;
  PickProcess(h, v, t, from_l2);
  GuestTraceBefore(h, v, t);
  uint64_t cr3 = 0;
  bool l2 = false;
  v.idle = v.cur1 < 0;
  v.l1_phase = false;
  if (v.idle) {
    // The guest idles under the CR3 it last used (lazy TLB) until HLT.
    cr3 = v.last_l1_cr3;
    if (cr3 == 0) {
      for (const Proc& p : h.procs) {
        if (p.vm == v.vm && p.level == 1) {
          cr3 = p.cr3;
          break;
        }
      }
    }
  } else if (h.procs[v.cur1].hypervisor) {
    if (v.l2_next && v.cur2 >= 0) {
      l2 = true;
      cr3 = h.procs[v.cur2].cr3;
    } else {
      cr3 = h.procs[v.cur1].cr3;
      v.l1_phase = true;
    }
  } else {
    cr3 = h.procs[v.cur1].cr3;
  }
  v.l2_next = false;
  v.in_l2 = l2;
  if (!l2) v.last_l1_cr3 = cr3;
  const int pidx = l2 ? v.cur2 : v.cur1;
  uint64_t sp = 0xffffc90000400000ull + 0x4000ull * (pidx + 1) + 0xe58;
  const uint64_t seen_cr3 = GuestTraceCr3(h, v, pidx, l2, cr3);
  t = h.writer->VcpuEnterGuest(cpu, t, th.ctx, static_cast<uint32_t>(v.index),
                               seen_cr3, sp,
                               0xffffffff81c00000ull + 0x40 * pidx);
  h.truth.EnterGuest(v.vm, v.index, t, cr3);
  const uint64_t seen_ts = t;
  t += Small(100, 250);
  t = h.writer->KvmEntry(cpu, t, th.ctx, static_cast<uint32_t>(v.index));
  h.truth.Entry(v.vm, v.index, t);
  GuestTraceAfter(h, v, l2, seen_ts, t);
  v.mode = Mode::kGuest;
  SetActualCurrent(h, v, t, AState::kRunning);
  ScheduleTick(h, vi, t);
}

void Simulator::ScheduleTick(Host& h, int vi, uint64_t t) {
  Vcpu& v = h.vcpus[vi];
  v.entry_ts = t;
  v.tick_slice = v.tick_spurious = false;
  uint64_t dt;
  if (v.idle) {
    dt = Small(1200, 2000);
  } else if (v.l1_phase) {
    dt = Small(2000, 5000);
  } else {
    const Proc& p = h.procs[v.in_l2 ? v.cur2 : v.cur1];
    dt = std::max<uint64_t>(p.remaining, 1);
    bool others = v.in_l2 ? !v.rq2.empty() : !v.rq1.empty();
    if (others && v.slice_left < dt) {
      dt = std::max<uint64_t>(v.slice_left, 1);
      v.tick_slice = true;
    }
    if (v.spurious_left < dt) {
      dt = std::max<uint64_t>(v.spurious_left, 1);
      v.tick_slice = false;
      v.tick_spurious = true;
    }
  }
  Schedule(t + dt, Act::kGuestTick, h.index, static_cast<uint32_t>(vi),
           v.epoch);
}

void Simulator::BlockProc(Host& h, int proc, Wait kind, AState actual,
                          uint64_t t, int waker_gid) {
  Proc& p = h.procs[proc];
  p.blocked = true;
  p.waiting = kind;
  p.block_info = -1;
  if (h.truth.enabled() &&
      (kind == Wait::kTask || kind == Wait::kReply || kind == Wait::kServe)) {
    BlockInfo bi;
    bi.block_ts = t;
    if (waker_gid >= 0) {
      bi.waker_host = waker_gid >> 16;
      bi.waker = waker_gid & 0xffff;
    }
    h.truth.blocks().push_back(bi);
    p.block_info = static_cast<int32_t>(h.truth.blocks().size()) - 1;
  }
  h.truth.Actual(proc, t, actual, p.block_info);
}

void Simulator::GuestWake(Host& h, int proc, Wait kind, uint64_t t) {
  Proc& p = h.procs[proc];
  if (!(p.blocked && p.waiting == kind)) {
    if (kind == Wait::kTask) ++p.tokens;
    if (kind == Wait::kServe) ++p.inbox;
    return;
  }
  p.blocked = false;
  p.waiting = Wait::kNone;
  h.truth.Actual(proc, t, AState::kReady);
  Vcpu& v = h.vcpus[p.vcpu];
  if (p.level == 2) {
    if (!p.queued && v.cur2 != proc) {
      p.queued = true;
      v.rq2.Push(proc);
    }
    int hyp = h.vms[p.vm].hypervisor;
    if (!h.procs[hyp].queued && v.cur1 != hyp) {
      h.procs[hyp].queued = true;
      v.rq1.Push(hyp);
      h.truth.Actual(hyp, t, AState::kReady);
    }
  } else if (!p.queued && v.cur1 != proc) {
    p.queued = true;
    v.rq1.Push(proc);
  }
}

int Simulator::AdvanceSteps(Host& h, int vi, int pi, uint64_t t, bool* blocks) {
  Vcpu& v = h.vcpus[vi];
  Proc& p = h.procs[pi];
  const auto& wl = p.spec->workload;
  const bool others = p.level == 2 ? !v.rq2.empty() : !v.rq1.empty();
  const int idle_exit = others ? kExitMsrWrite : kExitHlt;
  v.effect = Effect{};
  for (size_t guard = 0; guard < 2 * wl.size() + 2; ++guard) {
    if (p.remaining > 0) return 0;
    const size_t si = p.step;
    const Step& s = wl[si];
    p.step = (p.step + 1) % wl.size();
    switch (s.kind) {
      case StepKind::kRun:
        p.remaining = Jit(s.ns);
        break;
      case StepKind::kSleep:
        BlockProc(h, pi, Wait::kTimer, AState::kTimer, t, -1);
        Schedule(t + std::max<uint64_t>(Jit(s.ns), 1000), Act::kGuestTimer,
                 h.index, static_cast<uint32_t>(pi), ++p.timer_epoch);
        *blocks = true;
        return idle_exit;
      case StepKind::kWait:
        if (p.tokens > 0) {
          --p.tokens;
          break;
        }
        BlockProc(h, pi, Wait::kTask, AState::kTask, t, -1);
        *blocks = true;
        return idle_exit;
      case StepKind::kServe:
        if (p.inbox > 0) {
          --p.inbox;
          break;
        }
        BlockProc(h, pi, Wait::kServe, AState::kNet, t, -1);
        *blocks = true;
        return idle_exit;
      case StepKind::kDisk:
        BlockProc(h, pi, Wait::kDisk, AState::kDisk, t, -1);
        v.effect = Effect{s.kind, pi, std::max<uint64_t>(s.ns, 1000), p.gid};
        *blocks = true;
        return kExitIo;
      case StepKind::kNet:
        BlockProc(h, pi, Wait::kNet, AState::kNet, t, -1);
        v.effect = Effect{s.kind, pi, std::max<uint64_t>(s.ns, 2000), p.gid};
        *blocks = true;
        return kExitIo;
      case StepKind::kRequest:
        BlockProc(h, pi, Wait::kReply, AState::kReply, t, p.targets[si]);
        v.effect = Effect{s.kind, p.targets[si], 0, p.gid};
        *blocks = true;
        return kExitIo;
      case StepKind::kRespond:
        if (p.requesters.empty()) break;
        v.effect = Effect{s.kind, p.requesters.Pop(), 0, p.gid};
        {
          Proc& client = ProcByGid(v.effect.proc);
          if (client.block_info >= 0) {
            hosts_[client.gid >> 16]
                ->truth.blocks()[client.block_info]
                .wake_ts = t;
          }
        }
        return kExitIo;
      case StepKind::kWake: {
        int target = p.targets[si];
        Proc& q = h.procs[target];
        if (q.blocked && q.waiting == Wait::kTask && q.block_info >= 0) {
          BlockInfo& bi = h.truth.blocks()[q.block_info];
          bi.waker_host = static_cast<int>(h.index);
          bi.waker = pi;
          bi.wake_ts = t;
        }
        if (q.vcpu == p.vcpu) {
          GuestWake(h, target, Wait::kTask, t);  // same vCPU: no exit
          break;
        }
        v.effect = Effect{s.kind, target, 0, p.gid};
        return kExitMsrWrite;  // x2APIC ICR write: an IPI
      }
    }
  }
  return 0;
}

uint64_t Simulator::DoEffect(Host& h, int vi, uint64_t t) {
  Vcpu& v = h.vcpus[vi];
  const Effect e = v.effect;
  v.effect = Effect{};
  const Thread& th = h.threads[v.thread];
  Vm& vm = h.vms[v.vm];
  const int cpu = th.cpu;
  t += Small(200, 600);
  switch (e.kind) {
    case StepKind::kDisk:
      vm.io_queue.Push(Pending{0, e.proc, Wait::kDisk});
      vm.io_lat.Push(e.ns);
      return Wake(h, vm.io, cpu, t);
    case StepKind::kNet:
    case StepKind::kRequest:
    case StepKind::kRespond: {
      const int src = e.sender;
      Proc& sender = ProcByGid(src);
      uint32_t kind = e.kind == StepKind::kNet       ? kPktReply
                      : e.kind == StepKind::kRequest ? kPktRequest
                                                     : kPktResponse;
      uint32_t dest = e.kind == StepKind::kNet ? static_cast<uint32_t>(src)
                                               : static_cast<uint32_t>(e.proc);
      Packet pk{dest,       kind,       static_cast<uint32_t>(src),
                sender.snd, sender.rcv, e.ns};
      sender.snd += 200 + sender.snd % 1000 + 52;
      vm.tx.Push(pk);
      return Wake(h, vm.vhost, cpu, t);
    }
    case StepKind::kWake: {
      const Proc& q = h.procs[e.proc];
      t = h.writer->KvmApicAcceptIrq(
              cpu, t, th.ctx, static_cast<uint32_t>(h.vcpus[q.vcpu].index),
              static_cast<uint8_t>(vm.spec->vectors.ipi)) +
          150;
      return Deliver(h, q.vcpu, vm.spec->vectors.ipi, e.proc, Wait::kTask, cpu,
                     t);
    }
    default:
      return t;
  }
}

void Simulator::GuestTick(Host& h, int vi, uint32_t epoch, uint64_t t) {
  Vcpu& v = h.vcpus[vi];
  if (epoch != v.epoch || v.mode != Mode::kGuest) return;
  const VmSpec& vs = *h.vms[v.vm].spec;
  auto enter_later = [&](uint64_t at) {
    Schedule(at + Small(1000, 3000), Act::kVcpuEnter, h.index,
             static_cast<uint32_t>(vi), v.epoch);
  };
  auto block_later = [&](uint64_t at) {
    Schedule(at + Small(1500, 3000), Act::kVcpuBlock, h.index,
             static_cast<uint32_t>(vi), v.epoch);
  };
  if (v.idle) {
    t = VcpuExit(h, vi, t, kExitHlt);
    block_later(t);
    return;
  }
  if (v.l1_phase) {
    const int hyp = v.cur1;
    if (HypervisorRunnable(h, v)) {
      t = VcpuExit(h, vi, t, v.launched ? kExitVmresume : kExitVmlaunch);
      v.launched = true;
      v.l2_next = true;
      v.l1_phase = false;
      enter_later(t);
      return;
    }
    // The L1 hypervisor has nothing to run: it sleeps in L1.
    const bool others = !v.rq1.empty();
    t = VcpuExit(h, vi, t, others ? kExitMsrWrite : kExitHlt);
    v.l1_phase = false;
    v.cur1 = -1;
    h.truth.Actual(hyp, t, AState::kTask);
    if (others) {
      enter_later(t);
    } else {
      block_later(t);
    }
    return;
  }
  const int pi = v.in_l2 ? v.cur2 : v.cur1;
  Proc& p = h.procs[pi];
  const uint64_t ran = t - v.entry_ts;
  p.remaining -= std::min(ran, p.remaining);
  v.slice_left -= std::min(ran, v.slice_left);
  v.spurious_left -= std::min(ran, v.spurious_left);
  v.entry_ts = t;
  if (p.remaining == 0) {
    bool blocks = false;
    int reason = AdvanceSteps(h, vi, pi, t, &blocks);
    if (reason == 0 && !blocks) {
      ScheduleTick(h, vi, t);
      return;
    }
    const bool l2 = v.in_l2;
    if (blocks) {
      // The process is off its vCPU from the exit on.
      if (l2) {
        v.cur2 = -1;
      } else {
        v.cur1 = -1;
      }
    }
    t = VcpuExit(h, vi, t, reason);
    t = DoEffect(h, vi, t);
    if (l2) {
      v.l2_next = false;  // the L2 exit is reflected to the L1 hypervisor
      enter_later(t);
    } else if (reason == kExitHlt) {
      v.idle = false;
      block_later(t);
    } else {
      enter_later(t);
    }
    return;
  }
  if (v.tick_slice) {
    // Guest timer tick: the guest scheduler rotates to the next process.
    h.truth.Actual(pi, t, AState::kReady);
    const bool l2 = v.in_l2;
    t = VcpuExit(h, vi, t, kExitExternalInterrupt);
    h.truth.Actual(pi, t, AState::kReady);
    if (l2) {
      v.cur2 = -1;
      v.rq2.Push(pi);
      v.l2_next = false;
    } else {
      v.cur1 = -1;
      v.rq1.Push(pi);
    }
    p.queued = true;
    v.pending.Push(Pending{vs.vectors.timer, -1, Wait::kNone});
    enter_later(t);
    return;
  }
  // A spurious exit (EPT violation, MMIO, CPUID...): back to the guest.
  int reason = kSpuriousReasons[rng_() % std::size(kSpuriousReasons)];
  const bool l2 = v.in_l2;
  t = VcpuExit(h, vi, t, reason);
  v.spurious_left = vs.exit_interval_ns ? Jit(vs.exit_interval_ns) : UINT64_MAX;
  if (l2 && (rng_() & 1)) v.l2_next = false;  // reflected to L1
  enter_later(t);
}

void Simulator::VcpuBlock(Host& h, int vi, uint32_t epoch, uint64_t t) {
  Vcpu& v = h.vcpus[vi];
  if (epoch != v.epoch || v.mode != Mode::kRoot) return;
  if (h.threads[v.thread].state != TState::kRunning) return;
  if (!v.pending.empty()) {
    VcpuEnter(h, vi, epoch, t);
    return;
  }
  v.idle = false;
  Block(h, v.thread, t);
}

void Simulator::VcpuKick(Host& h, int vi, uint32_t epoch, uint64_t t) {
  Vcpu& v = h.vcpus[vi];
  if (epoch != v.epoch || v.mode != Mode::kGuest) return;
  t = VcpuExit(h, vi, t, kExitExternalInterrupt);
  Schedule(t + Small(800, 2000), Act::kVcpuEnter, h.index,
           static_cast<uint32_t>(vi), v.epoch);
}

void Simulator::GuestTimer(Host& h, int proc, uint32_t epoch, uint64_t t) {
  Proc& p = h.procs[proc];
  if (epoch != p.timer_epoch || !p.blocked || p.waiting != Wait::kTimer) {
    return;
  }
  Vcpu& v = h.vcpus[p.vcpu];
  const int cpu = h.threads[v.thread].cpu;
  const uint64_t timer = 0xffff888400000000ull + 0x200 * proc;
  t = InterruptCpu(h, cpu, t);
  t = h.writer->HrtimerExpireEntry(cpu, t, Cur(h, cpu), timer,
                                   0xffffffffc0a10000ull) +
      250;
  t = Deliver(h, p.vcpu, h.vms[p.vm].spec->vectors.timer, proc, Wait::kTimer,
              cpu, t);
  h.writer->HrtimerExpireExit(cpu, t, Cur(h, cpu), timer);
}

}  // namespace vmtrace::gen

namespace vmtrace::gen {

// Guest traces. Nothing here draws random numbers, so scenarios without a
// guest trace are generated exactly as before.

void Simulator::GuestTraceBefore(Host& h, Vcpu& v, uint64_t t) {
  Vm& vm = h.vms[v.vm];
  if (!vm.tracer[0] && !vm.tracer[1]) return;
  const bool idle = v.cur1 < 0;
  const bool hyp = !idle && h.procs[v.cur1].hypervisor;
  const bool l2 = hyp && v.l2_next && v.cur2 >= 0;
  const int p = l2 ? v.cur2 : v.cur1;
  GuestTracer* g = vm.tracer[l2 ? 1 : 0].get();
  if (g == nullptr || p < 0 || h.procs[p].slot < 0) return;
  if (g->Prepare(v.index, h.procs[p].slot, t)) {
    // An exec into a new page table: the host sees the new CR3 from now.
    h.procs[p].cr3 = g->cr3(h.procs[p].slot);
    if (h.truth.enabled()) h.truth.procs()[p].cr3 = h.procs[p].cr3;
  }
}

uint64_t Simulator::GuestTraceCr3(Host& h, Vcpu& v, int pidx, bool l2,
                                  uint64_t cr3) {
  GuestTracer* g = h.vms[v.vm].tracer[l2 ? 1 : 0].get();
  if (g == nullptr || !g->kpti()) return cr3;
  // The L1 hypervisor's CR3 stays as the nested analyses expect it.
  if (pidx >= 0 && h.procs[pidx].hypervisor) return cr3;
  return g->Observed(pidx >= 0 ? std::max(h.procs[pidx].slot, 0) : 0, cr3,
                     &v.kpti_toggle);
}

void Simulator::GuestTraceAfter(Host& h, Vcpu& v, bool l2, uint64_t seen_ts,
                                uint64_t entry_ts) {
  GuestTracer* g = h.vms[v.vm].tracer[l2 ? 1 : 0].get();
  if (g == nullptr) return;
  int slot = -1;
  if (l2) {
    slot = h.procs[v.cur2].slot;
  } else if (!v.idle) {
    slot = h.procs[v.cur1].slot;
  }
  g->Entered(v.index, slot, seen_ts, entry_ts);
}

}  // namespace vmtrace::gen
