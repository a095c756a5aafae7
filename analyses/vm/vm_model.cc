// VmModel: event dispatch, VM / vCPU identities and vector learning.
#include "analyses/vm/vm_model.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "analyses/events/kernel_events.h"

namespace vmtrace::vm {
namespace {

using storage::StateValue;

using events::Has;
using events::Kind;
using events::Or;

// QEMU names its vCPU threads "CPU <n>/KVM": such a thread is a vCPU thread
// before its first KVM event. Returns n, or -1.
int64_t VcpuFromName(std::string_view name) {
  if (name.substr(0, 4) != "CPU " || name.size() < 9 ||
      name.substr(name.size() - 4) != "/KVM") {
    return -1;
  }
  std::string_view num = name.substr(4, name.size() - 8);
  int64_t n = 0;
  for (char c : num) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return num.empty() ? -1 : n;
}

void AppendList(std::string* out, const char* k,
                const std::vector<int64_t>& v) {
  *out += k;
  for (int64_t x : v) *out += "," + std::to_string(x);
  *out += ";";
}

}  // namespace

std::string VmOptions::Fingerprint() const {
  std::string out;
  for (const auto& [key, m] : vectors) {
    out += key + "{";
    AppendList(&out, "timer", m.timer);
    AppendList(&out, "task", m.task);
    AppendList(&out, "disk", m.disk);
    AppendList(&out, "net", m.net);
    out += "}";
  }
  return out;
}

VmModel::VmModel(const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
                 storage::StateWriter* writer, VmOptions options)
    : w_(writer), options_(std::move(options)), traces_(traces) {
  // The same host naming as the kernel model, so keys line up.
  for (const std::string& name : events::MapHosts(traces).names) {
    hosts_.emplace_back();
    hosts_.back().name = name;
  }
}

VmModel::~VmModel() = default;

VmModel::Vm& VmModel::GetVm(size_t host, int64_t pid) {
  uint64_t key = (uint64_t(host) << 40) | uint64_t(pid & 0xffffffffff);
  auto [it, inserted] = vm_of_.try_emplace(key, int(vms_.size()));
  if (!inserted) return vms_[it->second];
  Host& h = hosts_[host];
  if (h.vms == 0) {
    h.vms = w_->GetOrAdd(w_->GetOrAdd(storage::kRootQuark, h.name), "VMs");
  }
  Vm vm;
  vm.host = host;
  vm.pid = pid;
  vm.q = w_->GetOrAdd(h.vms, std::to_string(pid));
  vm.name = w_->GetOrAdd(vm.q, "Name");
  vm.vcpus = w_->GetOrAdd(vm.q, "vCPUs");
  vm.procs = w_->GetOrAdd(vm.q, "Processes");
  vm.nested = w_->GetOrAdd(vm.q, "Nested");
  vms_.push_back(std::move(vm));
  NameVm(vms_.back());
  return vms_.back();
}

void VmModel::NameVm(Vm& vm) {
  if (vm.named) return;
  Host& h = hosts_[vm.host];
  auto it = h.threads.find(vm.pid);
  if (it == h.threads.end() || it->second.name.empty()) return;
  w_->Set(h.begin, vm.name, StateValue::Str(it->second.name));
  vm.named = true;
}

int VmModel::GetVcpu(size_t host, int64_t pid, int64_t id, int64_t tid) {
  const int vm_index = int(&GetVm(host, pid) - vms_.data());
  uint64_t key = (uint64_t(vm_index) << 32) | uint64_t(id & 0xffffffff);
  auto [it, inserted] = vcpu_of_.try_emplace(key, int(vcpus_.size()));
  if (!inserted) return it->second;
  const Vm& vm = vms_[vm_index];
  Vcpu v;
  v.vm = vm_index;
  v.id = id;
  v.tid = tid;
  v.row.q = w_->GetOrAdd(vm.vcpus, std::to_string(id));
  v.exit = w_->GetOrAdd(v.row.q, "Exit");
  v.preempter = w_->GetOrAdd(v.row.q, "Preempter");
  v.cr3_q = w_->GetOrAdd(v.row.q, "CR3");
  v.vector = w_->GetOrAdd(v.row.q, "Vector");
  v.thread = w_->GetOrAdd(v.row.q, "Thread");
  const int64_t begin = hosts_[host].begin;
  w_->Set(begin, v.row.q, StateValue::Int(kVcpuUnknown));
  w_->Set(begin, v.thread, StateValue::Int(tid));
  vcpus_.push_back(std::move(v));
  return it->second;
}

// Binds the emitting thread of a KVM event to its vCPU (or returns the one
// it is bound to). A thread bound while it runs has been in the hypervisor
// since its switch-in.
int VmModel::BindThread(const Ev& ev, int64_t tid, int64_t vcpu_id) {
  const size_t host = ev.host;
  Host& h = hosts_[host];
  Thread& th = h.threads[tid];
  if (th.vcpu >= 0) {
    if (vcpu_id >= 0 && vcpus_[th.vcpu].id != vcpu_id) ++stats_.vcpu_rebound;
    return th.vcpu;
  }
  if (vcpu_id < 0) {
    ++stats_.kvm_events_unbound;
    return -1;
  }
  int64_t pid = Or(ev.ctx_pid, -1);
  if (pid < 0) pid = th.pid;
  if (pid < 0) {
    pid = tid;
    ++stats_.vm_pid_guessed;
  }
  int v = GetVcpu(host, pid, vcpu_id, tid);
  h.threads[tid].vcpu = v;
  if (h.threads[tid].running) SwitchIn(vcpus_[v], h.threads[tid].since);
  return v;
}

namespace {
const std::vector<int64_t> kTimerVectors = {236, 238, 239};
const std::vector<int64_t> kTaskVectors = {251, 252, 253};
}  // namespace

const VectorMap* FindVectors(const VmOptions& options, const std::string& host,
                             int64_t pid) {
  if (options.vectors.empty()) return nullptr;
  const std::string p = std::to_string(pid);
  for (const std::string& key :
       {host + "/" + p, host + "/*", "*/" + p, std::string("*/*")}) {
    auto it = options.vectors.find(key);
    if (it != options.vectors.end()) return &it->second;
  }
  return nullptr;
}

bool IsTimerVector(const VmOptions& options, const std::string& host,
                   int64_t pid, int64_t vector) {
  const VectorMap* o = FindVectors(options, host, pid);
  const auto& s = o && !o->timer.empty() ? o->timer : kTimerVectors;
  return std::find(s.begin(), s.end(), vector) != s.end();
}

bool IsTaskVector(const VmOptions& options, const std::string& host,
                  int64_t pid, int64_t vector) {
  const VectorMap* o = FindVectors(options, host, pid);
  const auto& s = o && !o->task.empty() ? o->task : kTaskVectors;
  return std::find(s.begin(), s.end(), vector) != s.end();
}

int64_t VmModel::ReasonOf(const Vm& vm, int64_t vector) const {
  const VectorMap* o = FindVectors(options_, hosts_[vm.host].name, vm.pid);
  auto has = [vector](const std::vector<int64_t>& s) {
    return std::find(s.begin(), s.end(), vector) != s.end();
  };
  if (has(o && !o->timer.empty() ? o->timer : kTimerVectors)) {
    return kWaitTimer;
  }
  if (has(o && !o->task.empty() ? o->task : kTaskVectors)) return kWaitTask;
  auto it = learnt_.find({vm.host, vm.pid});
  if ((o && has(o->disk)) ||
      (it != learnt_.end() && it->second.disk.count(vector))) {
    return kWaitDisk;
  }
  if ((o && has(o->net)) ||
      (it != learnt_.end() && it->second.net.count(vector))) {
    return kWaitNet;
  }
  return kWaitUnknown;
}

// Device vectors are learnt from who raises them (digest a.5): a vhost
// thread's accepted vector is the VM's net vector; one accepted or injected
// by the QEMU main thread or an I/O thread is its disk vector.
void VmModel::LearnVector(const Ev& ev, int64_t tid, int64_t vector,
                          bool accept) {
  const size_t host = ev.host;
  Host& h = hosts_[host];
  auto it = h.threads.find(tid);
  std::string_view name = ev.ctx_procname.view();
  if (name.empty() && it != h.threads.end()) name = it->second.name;
  if (accept && name.substr(0, 6) == "vhost-") {
    int64_t pid = std::atoll(std::string(name.substr(6)).c_str());
    if (pid > 0) learnt_[{host, pid}].net.insert(vector);
    return;
  }
  int64_t pid = Or(ev.ctx_pid, -1);
  if (pid < 0 && it != h.threads.end()) pid = it->second.pid;
  if (pid < 0) return;
  if (tid == pid || name.substr(0, 3) == "IO ") {
    learnt_[{host, pid}].disk.insert(vector);
  }
}

void VmModel::OnSwitch(const Ev& ev) {
  const events::SchedSwitch& s = ev.sched_switch;
  const size_t host = ev.host;
  Host& h = hosts_[host];
  const int64_t t = ev.ts;
  const int64_t prev = Or(s.prev_tid, -1);
  const int64_t next = Or(s.next_tid, -1);
  const std::string_view next_comm = s.next_comm.view();
  // unordered_map references survive rehashing: nt stays valid below.
  Thread& nt = h.threads[next];
  if (!next_comm.empty() && next != 0 && nt.name != next_comm) {
    nt.name.assign(next_comm.data(), next_comm.size());
  }
  // A QEMU-named vCPU thread with a known pid is bound at its switch-in.
  if (nt.vcpu < 0 && nt.pid >= 0) {
    int64_t id = VcpuFromName(nt.name);
    if (id >= 0) nt.vcpu = GetVcpu(host, nt.pid, id, next);
  }
  const int next_vcpu = nt.vcpu;
  Thread& pt = h.threads[prev];
  pt.running = false;
  if (pt.vcpu >= 0) {
    Vcpu& v = vcpus_[pt.vcpu];
    const bool runnable = Has(s.prev_state)
                              ? events::SwitchedOutRunnable(s.prev_state)
                              : v.last_exit != 12;
    const bool next_is_vcpu = next_vcpu >= 0 || VcpuFromName(next_comm) >= 0;
    SwitchOut(v, t, runnable, next_is_vcpu, next);
  }
  nt.running = true;
  nt.since = t;
  if (nt.vcpu >= 0) SwitchIn(vcpus_[nt.vcpu], t);
}

void VmModel::OnStatedump(const Ev& ev) {
  const events::Statedump& s = ev.statedump;
  const size_t host = ev.host;
  Host& h = hosts_[host];
  const int64_t tid = s.tid;
  Thread& th = h.threads[tid];
  th.pid = Or(s.pid, th.pid);
  const std::string_view name = s.name.view();
  if (!name.empty()) th.name = std::string(name);
  if (th.vcpu < 0 && th.pid >= 0 && th.pid != tid) {
    int64_t id = VcpuFromName(th.name);
    if (id >= 0) th.vcpu = GetVcpu(host, th.pid, id, tid);
  }
  // The QEMU main thread names its VM.
  auto it = vm_of_.find((uint64_t(host) << 40) | uint64_t(tid & 0xffffffffff));
  if (it != vm_of_.end()) NameVm(vms_[it->second]);
}

bool VmModel::Relevant(const Ev& ev) {
  switch (ev.kind) {
    case Kind::kKvmEntry:
    case Kind::kSchedSwitch:
    case Kind::kSchedWakeup:
    case Kind::kSchedTtwu:
      return true;
    case Kind::kKvmExit:
      return Has(ev.kvm_exit.exit_reason);
    case Kind::kKvmInjVirq:
    case Kind::kKvmAcceptIrq:
      return Has(ev.kvm_irq.vector);
    case Kind::kEnterGuest:
      return Has(ev.enter_guest.cr3);
    case Kind::kStatedumpProcess:
      return Has(ev.statedump.tid);
    default:
      return false;
  }
}

void VmModel::OnEvent(const ctf::Event& ev) {
  if (!own_decoder_) {
    own_decoder_ = std::make_unique<events::EventDecoder>(traces_);
  }
  events::TypedEvent rec;
  own_decoder_->Decode(ev, &rec);
  OnEvent(rec);
}

void VmModel::OnEvent(const Ev& ev) {
  Host& h = hosts_[ev.host];
  if (h.begin < 0) h.begin = ev.ts;
  h.last = ev.ts;
  if (!Relevant(ev)) return;
  if (ev.kind == Kind::kStatedumpProcess) return OnStatedump(ev);
  if (ev.cpu < 0) {
    ++stats_.events_without_cpu;
    return;
  }
  if (ev.kind == Kind::kSchedSwitch) return OnSwitch(ev);
  // Wake-ups are not needed by §3-§5 (the critical path uses them).
  if (ev.kind == Kind::kSchedWakeup || ev.kind == Kind::kSchedTtwu) return;
  const int64_t tid = KvmThread(ev);
  if (tid < 0) return;
  switch (ev.kind) {
    case Kind::kKvmAcceptIrq:
      return OnAcceptIrq(ev, tid);
    case Kind::kKvmInjVirq:
      return OnInjVirq(ev, tid);
    case Kind::kKvmEntry:
      return OnKvmEntry(ev, tid);
    case Kind::kKvmExit:
      return OnKvmExit(ev, tid);
    case Kind::kEnterGuest:
      return OnEnterGuest(ev, tid);
    default:
      return;
  }
}

int64_t VmModel::KvmThread(const Ev& ev) {
  int64_t tid = Or(ev.ctx_tid, -1);
  if (tid < 0) {
    if (ev.cur_tid < 0) {
      ++stats_.kvm_events_unbound;
      return -1;
    }
    tid = ev.cur_tid;
  }
  // Learn names and pids from contexts too (traces without statedump).
  Thread& th = hosts_[ev.host].threads[tid];
  if (th.pid < 0) th.pid = Or(ev.ctx_pid, -1);
  if (th.name.empty()) th.name = std::string(ev.ctx_procname.view());
  return tid;
}

void VmModel::OnAcceptIrq(const Ev& ev, int64_t tid) {
  LearnVector(ev, tid, ev.kvm_irq.vector, true);
}

void VmModel::OnInjVirq(const Ev& ev, int64_t tid) {
  const Host& h = hosts_[ev.host];
  auto it = h.threads.find(tid);
  if (it != h.threads.end() && it->second.vcpu >= 0) {
    Inject(vcpus_[it->second.vcpu], ev.ts, ev.kvm_irq.vector);
  } else {
    LearnVector(ev, tid, ev.kvm_irq.vector, false);
  }
}

void VmModel::OnKvmEntry(const Ev& ev, int64_t tid) {
  const int v = BindThread(ev, tid, Or(ev.kvm_entry.vcpu_id, -1));
  if (v >= 0) Entry(vcpus_[v], ev.ts);
}

void VmModel::OnKvmExit(const Ev& ev, int64_t tid) {
  const int v = BindThread(ev, tid, Or(ev.kvm_exit.vcpu_id, -1));
  if (v >= 0) Exit(vcpus_[v], ev.ts, ev.kvm_exit.exit_reason);
}

void VmModel::OnEnterGuest(const Ev& ev, int64_t tid) {
  const events::EnterGuest& g = ev.enter_guest;
  const int v = BindThread(ev, tid, Or(g.vcpu_id, -1));
  if (v >= 0) {
    EnterGuest(vcpus_[v], ev.ts, static_cast<uint64_t>(g.cr3), g.has_sp, g.sp);
  }
}

Status VmModel::Finish(int64_t end_time) {
  // A wait or an off interval still unexplained at the end is WAIT_UNKNOWN.
  for (Vcpu& v : vcpus_) {
    if (v.row.pending) Resolve(v.row, kWaitUnknown);
    if (v.nrow.pending) Resolve(v.nrow, kWaitUnknown);
  }
  for (Proc& p : procs_) {
    if (p.off_start >= 0) {
      SetProc(p, p.off_start, kWaitUnknown);
      p.off_start = -1;
    }
  }
  // A host whose trace ended earlier: its states end with its last event.
  for (const Host& h : hosts_) {
    if (h.vms != 0 && h.last >= 0 && h.last < end_time) {
      w_->EndSubtree(h.last, w_->GetOrAdd(storage::kRootQuark, h.name));
    }
  }
  return w_->Close(end_time);
}

}  // namespace vmtrace::vm
