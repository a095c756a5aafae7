// VmModel: event dispatch, VM / vCPU identities and vector learning.
#include "analyses/vm/vm_model.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

namespace vmtrace::vm {
namespace {

using storage::StateValue;

int64_t Int(const ctf::Event& ev, int idx, int64_t fallback = -1) {
  const ctf::Value* v = ev.field(idx);
  if (!v ||
      (v->kind != ctf::Value::kSigned && v->kind != ctf::Value::kUnsigned)) {
    return fallback;
  }
  return v->AsInt();
}

std::string_view Text(const ctf::Event& ev, int idx) {
  const ctf::Value* v = ev.field(idx);
  return v && v->kind == ctf::Value::kString ? v->s : std::string_view();
}

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
    : w_(writer), options_(std::move(options)) {
  std::map<std::string, size_t> by_name;
  for (const auto& t : traces) {
    // The same host naming as the kernel model, so keys line up.
    std::string host = t->info().hostname;
    if (host.empty()) {
      host = std::filesystem::path(t->info().path).filename().string();
    }
    auto [it, inserted] = by_name.emplace(host, hosts_.size());
    if (inserted) {
      hosts_.emplace_back();
      hosts_.back().name = host;
    }
    trace_host_.push_back(it->second);
    for (const ctf::EventClass* cls : t->event_classes()) {
      layouts_.emplace(cls, ResolveVmLayout(*cls));
    }
  }
}

VmModel::~VmModel() = default;

const VmEventLayout& VmModel::Layout(const ctf::EventClass* cls) {
  auto it = layouts_.find(cls);
  if (it != layouts_.end()) return it->second;
  return layouts_.emplace(cls, ResolveVmLayout(*cls)).first->second;
}

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
int VmModel::BindThread(const ctf::Event& ev, const VmEventLayout& l,
                        size_t host, int64_t tid, int64_t vcpu_id) {
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
  int64_t pid = Int(ev, l.ctx_pid);
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
void VmModel::LearnVector(const ctf::Event& ev, const VmEventLayout& l,
                          size_t host, int64_t tid, int64_t vector,
                          bool accept) {
  Host& h = hosts_[host];
  auto it = h.threads.find(tid);
  std::string_view name = Text(ev, l.ctx_procname);
  if (name.empty() && it != h.threads.end()) name = it->second.name;
  if (accept && name.substr(0, 6) == "vhost-") {
    int64_t pid = std::atoll(std::string(name.substr(6)).c_str());
    if (pid > 0) learnt_[{host, pid}].net.insert(vector);
    return;
  }
  int64_t pid = Int(ev, l.ctx_pid);
  if (pid < 0 && it != h.threads.end()) pid = it->second.pid;
  if (pid < 0) return;
  if (tid == pid || name.substr(0, 3) == "IO ") {
    learnt_[{host, pid}].disk.insert(vector);
  }
}

void VmModel::OnSwitch(const ctf::Event& ev, const VmEventLayout& l,
                       size_t host, int64_t cpu) {
  Host& h = hosts_[host];
  const int64_t t = ev.timestamp;
  const int64_t prev = Int(ev, l.prev_tid);
  const int64_t next = Int(ev, l.next_tid);
  std::string_view next_comm = Text(ev, l.next_comm);
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
    bool runnable;
    if (l.prev_state >= 0) {
      runnable = (Int(ev, l.prev_state, 0) & 0xff) == 0;
    } else {
      runnable = v.last_exit != 12;
    }
    const bool next_is_vcpu = next_vcpu >= 0 || VcpuFromName(next_comm) >= 0;
    SwitchOut(v, t, runnable, next_is_vcpu, next);
  }
  nt.running = true;
  nt.since = t;
  h.current[cpu] = next;
  if (nt.vcpu >= 0) SwitchIn(vcpus_[nt.vcpu], t);
}

void VmModel::OnEvent(const ctf::Event& ev) {
  const VmEventLayout& l = Layout(ev.cls);
  const size_t host = trace_host_[ev.trace_index];
  Host& h = hosts_[host];
  if (h.begin < 0) h.begin = ev.timestamp;
  h.last = ev.timestamp;
  if (l.kind == VmEventKind::kIgnored) return;
  const int64_t t = ev.timestamp;
  if (l.kind == VmEventKind::kStatedump) {
    const int64_t tid = Int(ev, l.tid);
    Thread& th = h.threads[tid];
    th.pid = Int(ev, l.pid, th.pid);
    std::string_view name = Text(ev, l.name);
    if (!name.empty()) th.name = std::string(name);
    if (th.vcpu < 0 && th.pid >= 0 && th.pid != tid) {
      int64_t id = VcpuFromName(th.name);
      if (id >= 0) th.vcpu = GetVcpu(host, th.pid, id, tid);
    }
    // The QEMU main thread names its VM.
    auto it =
        vm_of_.find((uint64_t(host) << 40) | uint64_t(tid & 0xffffffffff));
    if (it != vm_of_.end()) NameVm(vms_[it->second]);
    return;
  }
  int64_t cpu = ev.cpu >= 0 ? ev.cpu : Int(ev, l.perf_cpu);
  if (cpu < 0) {
    ++stats_.events_without_cpu;
    return;
  }
  if (l.kind == VmEventKind::kSchedSwitch) {
    OnSwitch(ev, l, host, cpu);
    return;
  }
  if (l.kind == VmEventKind::kSchedWakeup ||
      l.kind == VmEventKind::kSchedTtwu) {
    return;  // not needed by §3-§5 (the critical path will use ttwu)
  }
  // KVM events: the emitting thread is the tid context, else the thread
  // current on that CPU.
  int64_t tid = Int(ev, l.ctx_tid);
  if (tid < 0) {
    auto it = h.current.find(cpu);
    if (it == h.current.end()) {
      ++stats_.kvm_events_unbound;
      return;
    }
    tid = it->second;
  }
  {
    // Learn names and pids from contexts too (traces without statedump).
    Thread& th = h.threads[tid];
    if (th.pid < 0) th.pid = Int(ev, l.ctx_pid);
    if (th.name.empty()) th.name = std::string(Text(ev, l.ctx_procname));
  }
  switch (l.kind) {
    case VmEventKind::kKvmAcceptIrq:
      LearnVector(ev, l, host, tid, Int(ev, l.vector), true);
      return;
    case VmEventKind::kKvmInjVirq: {
      const int64_t vec = Int(ev, l.vector);
      auto it = h.threads.find(tid);
      if (it != h.threads.end() && it->second.vcpu >= 0) {
        Inject(vcpus_[it->second.vcpu], t, vec);
      } else {
        LearnVector(ev, l, host, tid, vec, false);
      }
      return;
    }
    case VmEventKind::kKvmEntry: {
      int v = BindThread(ev, l, host, tid, Int(ev, l.vcpu_id));
      if (v >= 0) Entry(vcpus_[v], t);
      return;
    }
    case VmEventKind::kKvmExit: {
      int v = BindThread(ev, l, host, tid, Int(ev, l.vcpu_id));
      if (v >= 0) Exit(vcpus_[v], t, Int(ev, l.exit_reason));
      return;
    }
    case VmEventKind::kEnterGuest: {
      int v = BindThread(ev, l, host, tid, Int(ev, l.vcpu_id));
      if (v >= 0) {
        EnterGuest(vcpus_[v], t, uint64_t(Int(ev, l.cr3, 0)), ev.field(l.sp));
      }
      return;
    }
    default:
      return;
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
