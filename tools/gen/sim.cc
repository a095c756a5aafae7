#include "tools/gen/sim.h"

#include <algorithm>
#include <filesystem>

namespace vmtrace::gen {

namespace {
// Every host clock starts 1 s after the metadata clock origin so that a
// negative clock offset still gives positive timestamps.
constexpr uint64_t kClockBase = 1'000'000'000;
constexpr uint64_t kStartNs = 2'000;
}  // namespace

Simulator::Simulator(const Scenario& scenario, const GenOptions& options)
    : sc_(scenario), opt_(options) {
  rng_.seed(options.seed_set ? options.seed : scenario.seed);
}

Simulator::~Simulator() = default;

uint64_t Simulator::Jit(uint64_t ns) {
  uint64_t span = static_cast<uint64_t>(static_cast<double>(ns) * sc_.jitter);
  if (span == 0) return ns;
  return ns - span + rng_() % (2 * span + 1);
}

uint64_t Simulator::Small(uint64_t lo, uint64_t hi) {
  return lo + rng_() % (hi - lo + 1);
}

void Simulator::Schedule(uint64_t t, Act kind, uint32_t host, uint32_t a,
                         uint32_t b, uint32_t c, uint32_t d, uint32_t e) {
  queue_.push(Action{t, order_++, kind, host, a, b, c, d, e});
}

int Simulator::AddThread(Host& h, const std::string& name, int pid, int tid,
                         int cpu, Kind kind) {
  Thread t;
  t.ctx.pid = pid;
  t.ctx.tid = tid;
  t.ctx.comm = MakeComm(name);
  t.cpu = cpu;
  t.kind = kind;
  h.threads.push_back(t);
  return static_cast<int>(h.threads.size()) - 1;
}

Status Simulator::Build(const std::string& out_dir) {
  const uint64_t seed = opt_.seed_set ? opt_.seed : sc_.seed;
  // First pass: global ids of every L1 process, for request targets.
  for (size_t hi = 0; hi < sc_.hosts.size(); ++hi) {
    const HostSpec& hs = sc_.hosts[hi];
    auto host = std::make_unique<Host>();
    Host& h = *host;
    h.index = static_cast<uint32_t>(hi);
    h.spec = &hs;
    h.truth.set_enabled(opt_.write_truth);
    CtfOptions co = opt_.ctf;
    co.ts_base = kClockBase + hs.clock_offset_ns;
    for (const VmSpec& vs : hs.vms) {
      co.tsc_offset_events |= vs.guest.trace && vs.guest.write_tsc_offset;
    }
    VMTRACE_ASSIGN_OR_RETURN(
        h.writer,
        CtfWriter::Create(out_dir + "/" + hs.name, hs.name, hs.cpus,
                          sc_.name + "/" + hs.name + "/" + std::to_string(seed),
                          co));
    h.cpus.resize(hs.cpus);
    for (int c = 0; c < hs.cpus; ++c) {
      h.cpus[c].idle = h.cpus[c].current =
          AddThread(h, "swapper/" + std::to_string(c), 0, 0, c, Kind::kIdle);
      h.threads.back().state = TState::kRunning;
    }
    for (size_t i = 0; i < hs.processes.size(); ++i) {
      const HostProcessSpec& ps = hs.processes[i];
      int t = AddThread(h, ps.name, ps.tid, ps.tid, ps.cpu, Kind::kHostProc);
      h.threads[t].spec = static_cast<int>(i);
    }
    for (size_t vi = 0; vi < hs.vms.size(); ++vi) {
      const VmSpec& vs = hs.vms[vi];
      Vm vm;
      vm.spec = &vs;
      vm.first_vcpu = static_cast<int>(h.vcpus.size());
      vm.ip = (10u << 24) | (static_cast<uint32_t>(hi) << 8) |
              static_cast<uint32_t>(10 + vi);
      VmTruth vt;
      vt.name = vs.name;
      vt.pid = vs.pid;
      vt.vector_timer = vs.vectors.timer;
      vt.vector_ipi = vs.vectors.ipi;
      vt.vector_disk = vs.vectors.disk;
      vt.vector_net = vs.vectors.net;
      vt.has_nested = vs.has_nested;
      vt.nested_name = vs.nested.name;
      vt.hypervisor_cr3 = vs.nested.hypervisor_cr3;
      for (size_t c = 0; c < vs.vcpus.size(); ++c) {
        Vcpu v;
        v.vm = static_cast<int>(vi);
        v.index = static_cast<int>(c);
        v.thread = AddThread(h, "CPU " + std::to_string(c) + "/KVM", vs.pid,
                             vs.vcpus[c].tid, vs.vcpus[c].cpu, Kind::kVcpu);
        h.threads[v.thread].vm = static_cast<int>(vi);
        h.threads[v.thread].vcpu = static_cast<int>(h.vcpus.size());
        v.spurious_left =
            vs.exit_interval_ns ? Jit(vs.exit_interval_ns) : UINT64_MAX;
        h.vcpus.push_back(std::move(v));
        VcpuTruth vct;
        vct.tid = vs.vcpus[c].tid;
        vt.vcpus.push_back(std::move(vct));
      }
      vm.io = AddThread(
          h, vs.io_thread.tid == vs.pid ? "qemu-system-x86" : "IO iothread0",
          vs.pid, vs.io_thread.tid, vs.io_thread.cpu, Kind::kIo);
      vm.vhost = AddThread(h, "vhost-" + std::to_string(vs.pid), vs.vhost.tid,
                           vs.vhost.tid, vs.vhost.cpu, Kind::kVhost);
      h.threads[vm.io].vm = h.threads[vm.vhost].vm = static_cast<int>(vi);
      h.truth.AddVm(vt);
      auto add_proc = [&](const GuestProcessSpec* ps, int level, bool hyp,
                          uint64_t cr3, const std::string& name, int vcpu,
                          const std::string& worker) {
        Proc p;
        p.spec = ps;
        p.vm = static_cast<int>(vi);
        p.vcpu = vm.first_vcpu + vcpu;
        p.level = level;
        p.hypervisor = hyp;
        p.cr3 = cr3;
        p.gid = static_cast<int>((hi << 16) | h.procs.size());
        // Distinct initial sequence numbers per connection end, as real TCP
        // stacks pick: otherwise a request and its response could share
        // (seq, ack_seq, flags) and the hosts' packet matching would pair
        // the request with the response.
        p.snd = 1000 + 0x01000000u * (hi + 1) + 0x10000u * h.procs.size();
        p.rcv = 5000 + 0x02000000u * (hi + 1) + 0x20000u * h.procs.size();
        h.procs.push_back(std::move(p));
        ProcTruth pt;
        pt.name = name;
        pt.worker = worker;
        pt.host = static_cast<int>(hi);
        pt.vm = static_cast<int>(vi);
        pt.vcpu = vcpu;
        pt.level = level;
        pt.hypervisor = hyp;
        pt.cr3 = cr3;
        h.truth.AddProc(std::move(pt));
      };
      std::string prefix = hs.name + "/" + vs.name + "/";
      for (const GuestProcessSpec& ps : vs.processes) {
        add_proc(&ps, 1, false, ps.cr3, ps.name, ps.vcpu, prefix + ps.name);
      }
      if (vs.has_nested) {
        vm.hypervisor = static_cast<int>(h.procs.size());
        add_proc(nullptr, 1, true, vs.nested.hypervisor_cr3,
                 vs.nested.hypervisor_name, 0,
                 prefix + vs.nested.hypervisor_name);
        for (const GuestProcessSpec& ps : vs.nested.processes) {
          add_proc(&ps, 2, false, ps.cr3, ps.name, ps.vcpu,
                   prefix + vs.nested.name + "/" + ps.name);
        }
      }
      h.vms.push_back(std::move(vm));
    }
    VMTRACE_RETURN_IF_ERROR(BuildGuestTracers(h, out_dir));
    hosts_.push_back(std::move(host));
  }
  // Second pass: queues and step targets.
  for (size_t hi = 0; hi < hosts_.size(); ++hi) {
    Host& h = *hosts_[hi];
    for (Cpu& c : h.cpus) c.rq.Init(h.threads.size());
    size_t n = h.procs.size() + 4;
    for (Vcpu& v : h.vcpus) {
      v.rq1.Init(n);
      v.rq2.Init(n);
      v.pending.Init(4 * n + 16);
    }
    for (Vm& vm : h.vms) {
      vm.io_queue.Init(n);
      vm.io_lat.Init(n);
      vm.io_done.Init(n);
      vm.tx.Init(4 * n + 16);
      vm.rx.Init(64 * n + 16);
    }
    for (Proc& p : h.procs) {
      p.requesters.Init(64 * n + 16);
      if (p.spec == nullptr) continue;
      for (const Step& s : p.spec->workload) {
        int target = -1;
        if (s.kind == StepKind::kWake) {
          for (size_t j = 0; j < h.procs.size(); ++j) {
            const Proc& q = h.procs[j];
            if (q.vm == p.vm && q.level == p.level && q.spec != nullptr &&
                q.spec->name == s.target) {
              target = static_cast<int>(j);
            }
          }
        } else if (s.kind == StepKind::kRequest) {
          for (size_t h2 = 0; h2 < hosts_.size(); ++h2) {
            for (const Proc& q : hosts_[h2]->procs) {
              if (q.spec == nullptr || q.level != 1) continue;
              std::string path = sc_.hosts[h2].name + "/" +
                                 hosts_[h2]->vms[q.vm].spec->name + "/" +
                                 q.spec->name;
              if (path == s.target) target = q.gid;
            }
          }
        }
        p.targets.push_back(target);
      }
    }
  }
  return Status::Ok();
}

void Simulator::Dispatch(const Action& a) {
  Host& h = *hosts_[a.host];
  switch (a.kind) {
    case Act::kResched:
      Resched(h, a.a, a.t, false);
      break;
    case Act::kSlice:
      if (h.cpus[a.a].slice_epoch == a.b) Resched(h, a.a, a.t, true);
      break;
    case Act::kHostProcWake:
      HostProcWake(h, a.a, a.t);
      break;
    case Act::kHostProcDone:
      HostProcDone(h, a.a, a.b, a.t);
      break;
    case Act::kVcpuEnter:
      VcpuEnter(h, a.a, a.b, a.t);
      break;
    case Act::kGuestTick:
      GuestTick(h, a.a, a.b, a.t);
      break;
    case Act::kVcpuBlock:
      VcpuBlock(h, a.a, a.b, a.t);
      break;
    case Act::kVcpuKick:
      VcpuKick(h, a.a, a.b, a.t);
      break;
    case Act::kGuestTimer:
      GuestTimer(h, a.a, a.b, a.t);
      break;
    case Act::kIoRun:
      IoRun(h, a.a, a.b, a.t);
      break;
    case Act::kDiskIrq:
      DiskIrq(h, a.a, a.b, a.t);
      break;
    case Act::kVhostRun:
      VhostRun(h, a.a, a.b, a.t);
      break;
    case Act::kNetRx:
      NetRx(h, a);
      break;
  }
}

Status Simulator::Run(const std::string& out_dir, GenReport* report) {
  VMTRACE_RETURN_IF_ERROR(Build(out_dir));
  const uint64_t seed = opt_.seed_set ? opt_.seed : sc_.seed;
  // Start: a state dump on CPU 0, then every CPU picks its first thread.
  for (size_t hi = 0; hi < hosts_.size(); ++hi) {
    Host& h = *hosts_[hi];
    uint64_t t = kStartNs;
    h.truth.Begin(t);
    t = h.writer->StatedumpStart(0, t, Cur(h, 0)) + 200;
    for (const Thread& th : h.threads) {
      if (th.kind == Kind::kIdle && th.cpu != 0) continue;
      int ppid = th.kind == Kind::kVhost || th.kind == Kind::kIdle ? 2 : 1;
      t = h.writer->StatedumpProcess(0, t, Cur(h, 0), th.ctx,
                                     th.kind == Kind::kIdle ? 0 : ppid,
                                     th.kind == Kind::kVhost ? 1 : 0,
                                     th.kind == Kind::kVcpu ? 2 : 5, th.cpu) +
          150;
    }
    t = h.writer->StatedumpEnd(0, t, Cur(h, 0));
    for (size_t vi = 0; vi < h.vms.size(); ++vi) {
      const Vm& vm = h.vms[vi];
      const GuestSpec& gs = vm.spec->guest;
      if (vm.tracer[0] && gs.write_tsc_offset) {
        for (size_t c = 0; c < vm.spec->vcpus.size(); ++c) {
          const Thread& th = h.threads[h.vcpus[vm.first_vcpu + c].thread];
          h.writer->KvmWriteTscOffset(th.cpu, t, th.ctx,
                                      static_cast<uint32_t>(c), 0,
                                      static_cast<uint64_t>(gs.tsc_offset_ns));
        }
      }
      // The guest starts tracing once its clock (behind the host's) is
      // inside the host trace, so the experiment's range stays the host's.
      for (int level = 0; level < 2; ++level) {
        if (!vm.tracer[level]) continue;
        const GuestSpec& g = level == 0 ? gs : vm.spec->nested.guest;
        vm.tracer[level]->Begin(t + 200'000 +
                                static_cast<uint64_t>(-g.tsc_offset_ns));
      }
    }
    for (size_t i = 0; i < h.threads.size(); ++i) {
      Thread& th = h.threads[i];
      if (th.kind == Kind::kVcpu) {
        th.state = TState::kRunnable;
        h.cpus[th.cpu].rq.Push(static_cast<int>(i));
      } else if (th.kind == Kind::kHostProc) {
        const HostProcessSpec& ps = h.spec->processes[th.spec];
        Schedule(t + 20'000 + rng_() % ps.period_ns, Act::kHostProcWake,
                 static_cast<uint32_t>(hi), static_cast<uint32_t>(i));
      }
    }
    for (size_t i = 0; i < h.procs.size(); ++i) {
      Proc& p = h.procs[i];
      Vcpu& v = h.vcpus[p.vcpu];
      if (p.hypervisor) continue;
      p.queued = true;
      (p.level == 2 ? v.rq2 : v.rq1).Push(static_cast<int>(i));
      h.truth.Actual(static_cast<int>(i), t, AState::kReady);
      if (p.level == 2) {
        Proc& hyp = h.procs[h.vms[p.vm].hypervisor];
        if (!hyp.queued) {
          hyp.queued = true;
          v.rq1.Push(h.vms[p.vm].hypervisor);
          h.truth.Actual(h.vms[p.vm].hypervisor, t, AState::kReady);
        }
      }
    }
    for (size_t c = 0; c < h.cpus.size(); ++c) {
      Schedule(t + 10'000 + 700 * c, Act::kResched, static_cast<uint32_t>(hi),
               static_cast<uint32_t>(c));
    }
  }
  uint64_t last_t = 0;
  uint64_t check = 0;
  while (!queue_.empty()) {
    const Action a = queue_.top();
    if (opt_.target_events > 0) {
      if ((++check & 63) == 0) {
        uint64_t total = 0;
        for (const auto& h : hosts_) total += h->writer->event_count();
        if (total >= opt_.target_events) break;
      }
    } else if (a.t > sc_.duration_ns) {
      break;
    }
    queue_.pop();
    last_t = a.t;
    Dispatch(a);
  }
  report->sim_ns = last_t;
  std::vector<TruthRecorder*> all;
  std::vector<uint64_t> to_epoch;
  for (const auto& h : hosts_) {
    all.push_back(&h->truth);
    to_epoch.push_back(opt_.ctf.clock_offset_s * 1'000'000'000ull + kClockBase +
                       h->spec->clock_offset_ns);
  }
  for (size_t hi = 0; hi < hosts_.size(); ++hi) {
    Host& h = *hosts_[hi];
    uint64_t end = 0;
    for (size_t c = 0; c < h.cpus.size(); ++c) {
      end = std::max(end, h.writer->last_ts(static_cast<int>(c)));
    }
    h.truth.Finish(end);
    VMTRACE_RETURN_IF_ERROR(h.writer->Close());
    VMTRACE_RETURN_IF_ERROR(FinishGuestTracers(h, out_dir, to_epoch[hi], end));
    HostReport hr;
    hr.name = h.spec->name;
    hr.trace_dir = out_dir + "/" + hr.name;
    hr.events = h.writer->event_count();
    hr.bytes = h.writer->bytes_written();
    report->events += hr.events;
    if (opt_.write_truth) {
      hr.truth_file = out_dir + "/" + hr.name + ".truth.json";
      TruthRecorder::HostInfo info;
      info.host = hr.name;
      info.scenario = sc_.name;
      info.seed = seed;
      info.events = hr.events;
      info.to_epoch_ns = to_epoch[hi];
      VMTRACE_RETURN_IF_ERROR(
          h.truth.WriteJson(hr.truth_file, info, all, to_epoch));
    }
    report->hosts.push_back(hr);
  }
  return Status::Ok();
}

Status Simulator::BuildGuestTracers(Host& h, const std::string& out_dir) {
  const uint64_t seed = opt_.seed_set ? opt_.seed : sc_.seed;
  for (Vm& vm : h.vms) {
    const VmSpec& vs = *vm.spec;
    for (int level = 1; level <= 2; ++level) {
      const bool nested = level == 2;
      if (nested && !vs.has_nested) continue;
      const GuestSpec& gs = nested ? vs.nested.guest : vs.guest;
      if (!gs.trace) continue;
      GuestTracer::Options o;
      o.name = nested ? vs.nested.name : vs.name;
      o.dir = out_dir + "/" + o.name;
      o.vcpus = nested ? vs.nested.vcpus : static_cast<int>(vs.vcpus.size());
      o.spec = &gs;
      o.ctf = opt_.ctf;
      o.ctf.perf = false;  // an LTTng trace recorded inside the guest
      o.ctf.ts_base = kClockBase + h.spec->clock_offset_ns;
      o.uuid_seed = sc_.name + "/" + o.name + "/" + std::to_string(seed);
      VMTRACE_ASSIGN_OR_RETURN(vm.tracer[level - 1], GuestTracer::Create(o));
      int index = 0;
      for (Proc& p : h.procs) {
        if (&h.vms[p.vm] != &vm || p.level != level) continue;
        const std::string name =
            p.spec != nullptr ? p.spec->name : vs.nested.hypervisor_name;
        p.slot = vm.tracer[level - 1]->AddProcess(p.spec, name, p.cr3, index++);
      }
    }
  }
  return Status::Ok();
}

Status Simulator::FinishGuestTracers(Host& h, const std::string& out_dir,
                                     uint64_t to_epoch, uint64_t end) {
  for (const Vm& vm : h.vms) {
    for (int level = 1; level <= 2; ++level) {
      const auto& g = vm.tracer[level - 1];
      if (!g) continue;
      VMTRACE_RETURN_IF_ERROR(g->Close());
      if (!opt_.write_truth) continue;
      VMTRACE_RETURN_IF_ERROR(
          g->WriteTruth(out_dir + "/" + g->name() + ".guest-truth.json",
                        h.spec->name, vm.spec->pid, vm.spec->name, level,
                        vm.spec->nested.hypervisor_cr3, to_epoch, end));
    }
  }
  return Status::Ok();
}

}  // namespace vmtrace::gen
