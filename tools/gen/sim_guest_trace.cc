#include "tools/gen/sim_guest_trace.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

namespace vmtrace::gen {

namespace {
// The initial pid namespace's inode on Linux (PROC_PID_INIT_INO).
constexpr uint32_t kRootPidNs = 0xEFFFFFFCu;
constexpr uint64_t kCr3Mask = ~uint64_t{0x1fff};

std::string Hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}
}  // namespace

StatusOr<std::unique_ptr<GuestTracer>> GuestTracer::Create(const Options& o) {
  std::unique_ptr<GuestTracer> g(new GuestTracer());
  g->name_ = o.name;
  g->spec_ = o.spec;
  CtfOptions co = o.ctf;
  co.guest_events = true;
  co.tsc_offset_events = false;
  // The guest's clock is its TSC: the host's plus the offset KVM wrote.
  co.ts_base = o.ctf.ts_base + static_cast<uint64_t>(o.spec->tsc_offset_ns);
  VMTRACE_ASSIGN_OR_RETURN(
      g->writer_, CtfWriter::Create(o.dir, o.name, o.vcpus, o.uuid_seed, co));
  g->current_.assign(o.vcpus, -2);
  g->last_.assign(o.vcpus, -1);
  g->vpids_.assign(o.spec->containers.size(), 0);
  return g;
}

int GuestTracer::ContainerIndex(const std::string& name) const {
  for (size_t i = 0; i < spec_->containers.size(); ++i) {
    if (spec_->containers[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

uint32_t GuestTracer::NsOf(int container) const {
  return container < 0 ? kRootPidNs : spec_->containers[container].pid_ns;
}

int GuestTracer::NextVpid(int container) {
  return container < 0 ? 0 : ++vpids_[container];
}

int GuestTracer::AddProcess(const GuestProcessSpec* spec,
                            const std::string& name, uint64_t cr3, int index) {
  Slot s;
  s.spec = spec;
  int pid = spec != nullptr && spec->pid > 0 ? spec->pid : 1000 + 10 * index;
  s.ctx.pid = s.ctx.tid = pid;
  s.ctx.comm = MakeComm(name);
  s.cr3 = cr3;
  s.container = spec != nullptr ? ContainerIndex(spec->container) : -1;
  s.vpid = NextVpid(s.container);
  s.segments.push_back({0, cr3 & kCr3Mask, pid, name, s.container});
  slots_.push_back(std::move(s));
  return static_cast<int>(slots_.size()) - 1;
}

EventContext GuestTracer::Current(int vcpu) const {
  int c = current_[vcpu];
  if (c >= 0) return slots_[c].ctx;
  EventContext idle;
  idle.comm = MakeComm("swapper/" + std::to_string(vcpu));
  return idle;
}

void GuestTracer::Begin(uint64_t t) {
  begin_ = t;
  EventContext dumper;
  dumper.pid = dumper.tid = 420;
  dumper.comm = MakeComm("lttng-sessiond");
  t = writer_->StatedumpStart(0, t, dumper) + 200;
  for (const Slot& s : slots_) {
    const int vtid = s.container < 0 ? s.ctx.tid : s.vpid;
    t = writer_->StatedumpProcess(0, t, dumper, s.ctx, 1, 0, 5, 0) + 100;
    t = writer_->StatedumpPidNs(0, t, dumper, s.ctx.tid, s.ctx.tid, s.ctx.pid,
                                1, 0, kRootPidNs) +
        100;
    if (s.container >= 0) {
      t = writer_->StatedumpPidNs(0, t, dumper, s.ctx.tid, vtid, vtid,
                                  s.vpid == 1 ? 0 : 1, 1, NsOf(s.container)) +
          100;
    }
  }
  writer_->StatedumpEnd(0, t, dumper);
}

bool GuestTracer::Prepare(int vcpu, int slot, uint64_t t) {
  if (slot < 0 || slot == last_[vcpu]) return false;
  Slot& s = slots_[slot];
  if (s.spec == nullptr || s.next >= s.spec->then.size() ||
      s.spec->then[s.next].at_ns > t) {
    return false;
  }
  // Identities past due are taken at once; only the last one is seen.
  const EventContext cur = Current(vcpu);
  bool cr3_changed = false;
  while (s.next < s.spec->then.size() && s.spec->then[s.next].at_ns <= t) {
    const IdentitySpec& id = s.spec->then[s.next++];
    int container =
        id.container.empty() ? s.container : ContainerIndex(id.container);
    EventContext next = s.ctx;
    next.comm = MakeComm(id.name);
    if (id.pid == s.ctx.pid) {
      writer_->SchedProcessExec(vcpu, t, cur, "/usr/bin/" + id.name, id.pid);
    } else {
      next.pid = next.tid = id.pid;
      EventContext parent;
      parent.pid = parent.tid = 1;
      parent.comm = MakeComm("systemd");
      writer_->SchedProcessFork(vcpu, t, cur, parent, kRootPidNs, next,
                                NsOf(container));
      s.vpid = NextVpid(container);
    }
    s.ctx = next;
    s.container = container;
    if (id.cr3 != 0 && id.cr3 != s.cr3) {
      s.cr3 = id.cr3;
      cr3_changed = true;
    }
  }
  s.segments.push_back(
      {0, s.cr3 & kCr3Mask, s.ctx.pid,
       std::string(s.ctx.comm.data(), strnlen(s.ctx.comm.data(), 16)),
       s.container});
  s.pending_begin = true;
  return cr3_changed;
}

uint64_t GuestTracer::Observed(int slot, uint64_t cr3, uint32_t* toggle) const {
  if (!spec_->kpti) return cr3;
  // PCID: kernel ASID n + 1, user ASID with bit 11 set (as Linux's
  // kern_pcid/user_pcid); the user page table is the kernel's + 4 KiB.
  const uint64_t asid = static_cast<uint64_t>(slot % 6) + 1;
  const bool user = ((*toggle)++ & 1) != 0;
  return user ? (cr3 | 0x1000 | 0x800 | asid) : (cr3 | asid);
}

void GuestTracer::Entered(int vcpu, int slot, uint64_t seen_ts,
                          uint64_t entry_ts) {
  if (slot >= 0 && slots_[slot].pending_begin) {
    slots_[slot].segments.back().begin = seen_ts;
    slots_[slot].pending_begin = false;
  }
  if (current_[vcpu] == slot) return;
  if (entry_ts < begin_) {  // before the guest's tracing started
    current_[vcpu] = slot;
    if (slot >= 0) last_[vcpu] = slot;
    return;
  }
  const EventContext prev = Current(vcpu);
  EventContext next;
  if (slot >= 0) {
    next = slots_[slot].ctx;
  } else {
    next.comm = MakeComm("swapper/" + std::to_string(vcpu));
  }
  // The guest's switch is traced once its vCPU runs again.
  writer_->SchedSwitch(vcpu, entry_ts + 1, prev, prev, 20,
                       current_[vcpu] >= 0 ? 1 : 0, next, 20);
  current_[vcpu] = slot;
  if (slot >= 0) last_[vcpu] = slot;
}

Status GuestTracer::Close() { return writer_->Close(); }

Status GuestTracer::WriteTruth(const std::string& path, const std::string& host,
                               int vm_pid, const std::string& vm_name,
                               int level, uint64_t l1_hypervisor_cr3,
                               uint64_t to_epoch, uint64_t end) const {
  using nlohmann::json;
  json j;
  j["guest"] = name_;
  j["host"] = host;
  j["vm_pid"] = vm_pid;
  j["vm"] = vm_name;
  j["level"] = level;
  if (level == 2) j["l1_hypervisor_cr3"] = Hex(l1_hypervisor_cr3);
  j["tsc_offset_ns"] = spec_->tsc_offset_ns;
  j["kpti"] = spec_->kpti;
  json containers = json::array();
  for (const ContainerSpec& c : spec_->containers) {
    containers.push_back(
        {{"name", c.name}, {"pid_ns", c.pid_ns}, {"cgroup", c.cgroup}});
  }
  j["containers"] = containers;
  json procs = json::array();
  for (const Slot& s : slots_) {
    for (size_t i = 0; i < s.segments.size(); ++i) {
      const Segment& g = s.segments[i];
      // A taken identity that never ran again has no begin: it never held
      // the CR3 as far as the host can tell.
      if (i > 0 && g.begin == 0) continue;
      uint64_t stop = end;
      for (size_t k = i + 1; k < s.segments.size(); ++k) {
        if (s.segments[k].begin != 0) {
          stop = s.segments[k].begin;
          break;
        }
      }
      json p = {{"cr3", Hex(g.cr3)},
                {"pid", g.pid},
                {"name", g.name},
                {"begin", (i == 0 ? 0 : g.begin) + to_epoch},
                {"end", stop + to_epoch}};
      p["container"] = g.container < 0
                           ? json(nullptr)
                           : json(spec_->containers[g.container].name);
      p["pid_ns"] = NsOf(g.container);
      procs.push_back(std::move(p));
    }
  }
  j["processes"] = procs;
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return IoError("cannot write " + path);
  const std::string text = j.dump(1) + "\n";
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) return IoError("cannot write " + path);
  return Status::Ok();
}

}  // namespace vmtrace::gen
