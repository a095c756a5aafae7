#include "tools/gen/scenario.h"

#include <fstream>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace vmtrace::gen {
namespace {

using nlohmann::json;

// Every helper reports errors with the JSON path of the value, so that a user
// can find the problem in a large scenario without guessing.
Status Error(const std::string& path, const std::string& what) {
  return InvalidArgument("scenario: " + path + ": " + what);
}

Status CheckKeys(const json& obj, const std::string& path,
                 std::initializer_list<const char*> allowed) {
  if (!obj.is_object()) return Error(path, "expected an object");
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) return Error(path, "unknown key \"" + key + "\"");
  }
  return Status::Ok();
}

Status GetString(const json& obj, const std::string& path, const char* key,
                 bool required, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return required ? Error(path, std::string("missing key \"") + key + "\"")
                    : Status::Ok();
  }
  if (!it->is_string()) return Error(path + "." + key, "expected a string");
  *out = it->get<std::string>();
  if (out->empty()) return Error(path + "." + key, "must not be empty");
  return Status::Ok();
}

Status GetInt(const json& obj, const std::string& path, const char* key,
              bool required, int64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return required ? Error(path, std::string("missing key \"") + key + "\"")
                    : Status::Ok();
  }
  if (!it->is_number_integer()) {
    return Error(path + "." + key, "expected an integer");
  }
  *out = it->get<int64_t>();
  return Status::Ok();
}

// A duration: a non-negative integer number of nanoseconds.
Status GetDuration(const json& obj, const std::string& path, const char* key,
                   bool required, uint64_t* out) {
  int64_t v = static_cast<int64_t>(*out);
  VMTRACE_RETURN_IF_ERROR(GetInt(obj, path, key, required, &v));
  if (v < 0) {
    return Error(path + "." + key,
                 "negative duration " + std::to_string(v) + " ns");
  }
  *out = static_cast<uint64_t>(v);
  return Status::Ok();
}

Status GetIntIn(const json& obj, const std::string& path, const char* key,
                bool required, int lo, int hi, int* out) {
  int64_t v = *out;
  VMTRACE_RETURN_IF_ERROR(GetInt(obj, path, key, required, &v));
  if (v < lo || v > hi) {
    return Error(path + "." + key, "value " + std::to_string(v) + " outside [" +
                                       std::to_string(lo) + ", " +
                                       std::to_string(hi) + "]");
  }
  *out = static_cast<int>(v);
  return Status::Ok();
}

// CR3 values are written as hex strings ("0x1a2000") or integers.
Status GetCr3(const json& obj, const std::string& path, const char* key,
              uint64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return Error(path, std::string("missing key \"") + key + "\"");
  }
  if (it->is_number_unsigned() || it->is_number_integer()) {
    if (it->get<int64_t>() <= 0) return Error(path + "." + key, "must be > 0");
    *out = it->get<uint64_t>();
    return Status::Ok();
  }
  if (!it->is_string()) {
    return Error(path + "." + key, "expected a hex string or an integer");
  }
  std::string s = it->get<std::string>();
  size_t pos = 0;
  try {
    *out = std::stoull(s, &pos, 0);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != s.size() || *out == 0) {
    return Error(path + "." + key, "bad CR3 \"" + s + "\"");
  }
  return Status::Ok();
}

Status ParseThread(const json& obj, const std::string& path, int cpus,
                   ThreadSpec* out) {
  VMTRACE_RETURN_IF_ERROR(CheckKeys(obj, path, {"tid", "cpu"}));
  VMTRACE_RETURN_IF_ERROR(
      GetIntIn(obj, path, "tid", true, 1, 4194304, &out->tid));
  VMTRACE_RETURN_IF_ERROR(
      GetIntIn(obj, path, "cpu", false, 0, cpus - 1, &out->cpu));
  return Status::Ok();
}

Status ParseStep(const json& obj, const std::string& path, Step* out) {
  static const std::map<std::string, StepKind> kKinds = {
      {"run", StepKind::kRun},         {"sleep", StepKind::kSleep},
      {"disk", StepKind::kDisk},       {"net", StepKind::kNet},
      {"wake", StepKind::kWake},       {"wait", StepKind::kWait},
      {"request", StepKind::kRequest}, {"serve", StepKind::kServe},
      {"respond", StepKind::kRespond}};
  if (!obj.is_object() || obj.size() != 1) {
    return Error(path, "a step is an object with exactly one key");
  }
  const std::string key = obj.begin().key();
  auto kind = kKinds.find(key);
  if (kind == kKinds.end()) return Error(path, "unknown key \"" + key + "\"");
  out->kind = kind->second;
  switch (out->kind) {
    case StepKind::kRun:
    case StepKind::kSleep:
    case StepKind::kDisk:
    case StepKind::kNet:
      return GetDuration(obj, path, key.c_str(), true, &out->ns);
    case StepKind::kWake:
    case StepKind::kRequest:
      return GetString(obj, path, key.c_str(), true, &out->target);
    default:
      if (!obj.begin()->is_boolean() || !obj.begin()->get<bool>()) {
        return Error(path + "." + key, "expected true");
      }
      return Status::Ok();
  }
}

Status GetBool(const json& obj, const std::string& path, const char* key,
               bool* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_boolean()) return Error(path + "." + key, "expected true/false");
  *out = it->get<bool>();
  return Status::Ok();
}

Status ParseIdentities(const json& obj, const std::string& path,
                       GuestProcessSpec* out) {
  auto it = obj.find("then");
  if (it == obj.end()) return Status::Ok();
  if (!it->is_array()) return Error(path + ".then", "expected an array");
  uint64_t last = 0;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& o = (*it)[i];
    std::string ip = path + ".then[" + std::to_string(i) + "]";
    VMTRACE_RETURN_IF_ERROR(
        CheckKeys(o, ip, {"at_ns", "name", "pid", "cr3", "container"}));
    IdentitySpec id;
    VMTRACE_RETURN_IF_ERROR(GetDuration(o, ip, "at_ns", true, &id.at_ns));
    if (id.at_ns < last) return Error(ip + ".at_ns", "identities out of order");
    last = id.at_ns;
    VMTRACE_RETURN_IF_ERROR(GetString(o, ip, "name", true, &id.name));
    VMTRACE_RETURN_IF_ERROR(GetIntIn(o, ip, "pid", true, 1, 4194304, &id.pid));
    if (o.contains("cr3"))
      VMTRACE_RETURN_IF_ERROR(GetCr3(o, ip, "cr3", &id.cr3));
    VMTRACE_RETURN_IF_ERROR(
        GetString(o, ip, "container", false, &id.container));
    out->then.push_back(std::move(id));
  }
  return Status::Ok();
}

Status ParseGuest(const json& obj, const std::string& path, GuestSpec* out) {
  auto it = obj.find("guest");
  if (it == obj.end()) return Status::Ok();
  const json& g = *it;
  const std::string gp = path + ".guest";
  VMTRACE_RETURN_IF_ERROR(CheckKeys(
      g, gp,
      {"trace", "tsc_offset_ns", "write_tsc_offset", "kpti", "containers"}));
  VMTRACE_RETURN_IF_ERROR(GetBool(g, gp, "trace", &out->trace));
  VMTRACE_RETURN_IF_ERROR(
      GetInt(g, gp, "tsc_offset_ns", false, &out->tsc_offset_ns));
  // Behind the host (as a guest's TSC, which starts at its boot), so the
  // guest trace ends within the host trace.
  if (out->tsc_offset_ns <= -1'000'000'000 || out->tsc_offset_ns > 0) {
    return Error(gp + ".tsc_offset_ns", "must be within (-1 s, 0]");
  }
  VMTRACE_RETURN_IF_ERROR(
      GetBool(g, gp, "write_tsc_offset", &out->write_tsc_offset));
  VMTRACE_RETURN_IF_ERROR(GetBool(g, gp, "kpti", &out->kpti));
  if (auto c = g.find("containers"); c != g.end()) {
    if (!c->is_array()) return Error(gp + ".containers", "expected an array");
    for (size_t i = 0; i < c->size(); ++i) {
      const json& o = (*c)[i];
      std::string cp = gp + ".containers[" + std::to_string(i) + "]";
      VMTRACE_RETURN_IF_ERROR(CheckKeys(o, cp, {"name", "pid_ns", "cgroup"}));
      ContainerSpec cs;
      VMTRACE_RETURN_IF_ERROR(GetString(o, cp, "name", true, &cs.name));
      int64_t ns = 0;
      VMTRACE_RETURN_IF_ERROR(GetInt(o, cp, "pid_ns", true, &ns));
      if (ns <= 0 || ns > 0xffffffffll) {
        return Error(cp + ".pid_ns", "must be a 32-bit inode number > 0");
      }
      cs.pid_ns = static_cast<uint32_t>(ns);
      VMTRACE_RETURN_IF_ERROR(GetString(o, cp, "cgroup", false, &cs.cgroup));
      for (const ContainerSpec& other : out->containers) {
        if (other.name == cs.name || other.pid_ns == cs.pid_ns) {
          return Error(cp, "duplicate container name or pid_ns");
        }
      }
      out->containers.push_back(std::move(cs));
    }
  }
  return Status::Ok();
}

Status ParseProcess(const json& obj, const std::string& path, int vcpus,
                    bool nested, GuestProcessSpec* out) {
  VMTRACE_RETURN_IF_ERROR(CheckKeys(
      obj, path,
      {"name", "cr3", "vcpu", "workload", "pid", "container", "then"}));
  VMTRACE_RETURN_IF_ERROR(
      GetIntIn(obj, path, "pid", false, 0, 4194304, &out->pid));
  VMTRACE_RETURN_IF_ERROR(
      GetString(obj, path, "container", false, &out->container));
  VMTRACE_RETURN_IF_ERROR(ParseIdentities(obj, path, out));
  VMTRACE_RETURN_IF_ERROR(GetString(obj, path, "name", true, &out->name));
  VMTRACE_RETURN_IF_ERROR(GetCr3(obj, path, "cr3", &out->cr3));
  int64_t vcpu = 0;
  VMTRACE_RETURN_IF_ERROR(GetInt(obj, path, "vcpu", false, &vcpu));
  if (vcpu < 0 || vcpu >= vcpus) {
    return Error(path + ".vcpu", "process \"" + out->name + "\" is on vCPU " +
                                     std::to_string(vcpu) +
                                     " but the VM has only " +
                                     std::to_string(vcpus) + " vCPU(s)");
  }
  out->vcpu = static_cast<int>(vcpu);
  auto wl = obj.find("workload");
  if (wl == obj.end() || !wl->is_array() || wl->empty()) {
    return Error(path + ".workload", "expected a non-empty array of steps");
  }
  for (size_t i = 0; i < wl->size(); ++i) {
    Step step;
    std::string sp = path + ".workload[" + std::to_string(i) + "]";
    VMTRACE_RETURN_IF_ERROR(ParseStep((*wl)[i], sp, &step));
    if (nested && step.kind != StepKind::kRun &&
        step.kind != StepKind::kSleep && step.kind != StepKind::kWake &&
        step.kind != StepKind::kWait) {
      return Error(sp, "nested (L2) processes support run, sleep, wake, wait");
    }
    out->workload.push_back(step);
  }
  bool consumes = false;
  for (const Step& s : out->workload) consumes = consumes || s.ns > 0;
  if (!consumes) {
    return Error(path + ".workload", "needs at least one step with ns > 0");
  }
  return Status::Ok();
}

Status ParseProcessList(const json& obj, const std::string& path, int vcpus,
                        bool nested, std::vector<GuestProcessSpec>* out) {
  auto it = obj.find("processes");
  if (it == obj.end()) return Status::Ok();
  if (!it->is_array()) return Error(path + ".processes", "expected an array");
  for (size_t i = 0; i < it->size(); ++i) {
    GuestProcessSpec p;
    VMTRACE_RETURN_IF_ERROR(
        ParseProcess((*it)[i], path + ".processes[" + std::to_string(i) + "]",
                     vcpus, nested, &p));
    out->push_back(std::move(p));
  }
  return Status::Ok();
}

Status ParseVm(const json& obj, const std::string& path, int cpus, VmSpec* vm) {
  VMTRACE_RETURN_IF_ERROR(
      CheckKeys(obj, path,
                {"name", "pid", "vcpus", "io_thread", "vhost", "vectors",
                 "guest_timeslice_ns", "exit_interval_ns", "processes",
                 "nested", "guest"}));
  VMTRACE_RETURN_IF_ERROR(ParseGuest(obj, path, &vm->guest));
  VMTRACE_RETURN_IF_ERROR(GetString(obj, path, "name", true, &vm->name));
  VMTRACE_RETURN_IF_ERROR(
      GetIntIn(obj, path, "pid", true, 1, 4194304, &vm->pid));
  auto vc = obj.find("vcpus");
  if (vc == obj.end() || !vc->is_array() || vc->empty()) {
    return Error(path + ".vcpus", "expected a non-empty array of threads");
  }
  for (size_t i = 0; i < vc->size(); ++i) {
    ThreadSpec t;
    t.cpu = static_cast<int>(i) % cpus;
    VMTRACE_RETURN_IF_ERROR(ParseThread(
        (*vc)[i], path + ".vcpus[" + std::to_string(i) + "]", cpus, &t));
    vm->vcpus.push_back(t);
  }
  vm->io_thread = {vm->pid, cpus - 1};
  vm->vhost = {vm->pid + 100, cpus - 1};
  if (obj.contains("io_thread")) {
    VMTRACE_RETURN_IF_ERROR(ParseThread(obj["io_thread"], path + ".io_thread",
                                        cpus, &vm->io_thread));
  }
  if (obj.contains("vhost")) {
    VMTRACE_RETURN_IF_ERROR(
        ParseThread(obj["vhost"], path + ".vhost", cpus, &vm->vhost));
  }
  if (obj.contains("vectors")) {
    const json& v = obj["vectors"];
    std::string vp = path + ".vectors";
    VMTRACE_RETURN_IF_ERROR(CheckKeys(v, vp, {"timer", "ipi", "disk", "net"}));
    VMTRACE_RETURN_IF_ERROR(
        GetIntIn(v, vp, "timer", false, 32, 255, &vm->vectors.timer));
    VMTRACE_RETURN_IF_ERROR(
        GetIntIn(v, vp, "ipi", false, 32, 255, &vm->vectors.ipi));
    VMTRACE_RETURN_IF_ERROR(
        GetIntIn(v, vp, "disk", false, 32, 255, &vm->vectors.disk));
    VMTRACE_RETURN_IF_ERROR(
        GetIntIn(v, vp, "net", false, 32, 255, &vm->vectors.net));
    std::set<int> distinct = {vm->vectors.timer, vm->vectors.ipi,
                              vm->vectors.disk, vm->vectors.net};
    if (distinct.size() != 4) return Error(vp, "vectors must be distinct");
  }
  VMTRACE_RETURN_IF_ERROR(GetDuration(obj, path, "guest_timeslice_ns", false,
                                      &vm->guest_timeslice_ns));
  VMTRACE_RETURN_IF_ERROR(
      GetDuration(obj, path, "exit_interval_ns", false, &vm->exit_interval_ns));
  if (vm->guest_timeslice_ns == 0) {
    return Error(path + ".guest_timeslice_ns", "must be > 0");
  }
  const int vcpus = static_cast<int>(vm->vcpus.size());
  VMTRACE_RETURN_IF_ERROR(
      ParseProcessList(obj, path, vcpus, false, &vm->processes));
  if (obj.contains("nested")) {
    const json& n = obj["nested"];
    std::string np = path + ".nested";
    VMTRACE_RETURN_IF_ERROR(
        CheckKeys(n, np,
                  {"name", "hypervisor_name", "hypervisor_cr3", "vcpus",
                   "processes", "guest"}));
    VMTRACE_RETURN_IF_ERROR(ParseGuest(n, np, &vm->nested.guest));
    vm->has_nested = true;
    VMTRACE_RETURN_IF_ERROR(GetString(n, np, "name", true, &vm->nested.name));
    VMTRACE_RETURN_IF_ERROR(GetString(n, np, "hypervisor_name", false,
                                      &vm->nested.hypervisor_name));
    VMTRACE_RETURN_IF_ERROR(
        GetCr3(n, np, "hypervisor_cr3", &vm->nested.hypervisor_cr3));
    VMTRACE_RETURN_IF_ERROR(
        GetIntIn(n, np, "vcpus", false, 1, vcpus, &vm->nested.vcpus));
    VMTRACE_RETURN_IF_ERROR(
        ParseProcessList(n, np, vm->nested.vcpus, true, &vm->nested.processes));
  }
  return Status::Ok();
}

Status ParseHost(const json& obj, const std::string& path, HostSpec* host) {
  VMTRACE_RETURN_IF_ERROR(CheckKeys(
      obj, path,
      {"name", "cpus", "clock_offset_ns", "timeslice_ns", "processes", "vms"}));
  VMTRACE_RETURN_IF_ERROR(GetString(obj, path, "name", true, &host->name));
  VMTRACE_RETURN_IF_ERROR(
      GetIntIn(obj, path, "cpus", true, 1, 256, &host->cpus));
  int64_t off = 0;
  VMTRACE_RETURN_IF_ERROR(GetInt(obj, path, "clock_offset_ns", false, &off));
  if (off <= -1'000'000'000 || off >= 1'000'000'000) {
    return Error(path + ".clock_offset_ns", "must be within +-1 s");
  }
  host->clock_offset_ns = off;
  VMTRACE_RETURN_IF_ERROR(
      GetDuration(obj, path, "timeslice_ns", false, &host->timeslice_ns));
  if (auto it = obj.find("processes"); it != obj.end()) {
    if (!it->is_array()) return Error(path + ".processes", "expected array");
    for (size_t i = 0; i < it->size(); ++i) {
      const json& p = (*it)[i];
      std::string pp = path + ".processes[" + std::to_string(i) + "]";
      HostProcessSpec hp;
      VMTRACE_RETURN_IF_ERROR(
          CheckKeys(p, pp, {"name", "tid", "cpu", "period_ns", "run_ns"}));
      VMTRACE_RETURN_IF_ERROR(GetString(p, pp, "name", true, &hp.name));
      VMTRACE_RETURN_IF_ERROR(
          GetIntIn(p, pp, "tid", true, 1, 4194304, &hp.tid));
      VMTRACE_RETURN_IF_ERROR(
          GetIntIn(p, pp, "cpu", false, 0, host->cpus - 1, &hp.cpu));
      VMTRACE_RETURN_IF_ERROR(
          GetDuration(p, pp, "period_ns", false, &hp.period_ns));
      VMTRACE_RETURN_IF_ERROR(GetDuration(p, pp, "run_ns", false, &hp.run_ns));
      if (hp.run_ns == 0 || hp.run_ns >= hp.period_ns) {
        return Error(pp, "needs 0 < run_ns < period_ns");
      }
      host->processes.push_back(hp);
    }
  }
  if (auto it = obj.find("vms"); it != obj.end()) {
    if (!it->is_array()) return Error(path + ".vms", "expected an array");
    for (size_t i = 0; i < it->size(); ++i) {
      VmSpec vm;
      VMTRACE_RETURN_IF_ERROR(ParseVm(
          (*it)[i], path + ".vms[" + std::to_string(i) + "]", host->cpus, &vm));
      host->vms.push_back(std::move(vm));
    }
  }
  return Status::Ok();
}

// Cross-references: unique names and tids, existing wake/request targets.
Status CheckReferences(const Scenario& sc) {
  std::set<std::string> hosts;
  for (size_t h = 0; h < sc.hosts.size(); ++h) {
    const HostSpec& host = sc.hosts[h];
    std::string hp = "hosts[" + std::to_string(h) + "]";
    if (!hosts.insert(host.name).second) {
      return Error(hp + ".name", "duplicate host \"" + host.name + "\"");
    }
    std::set<int> tids;
    auto add_tid = [&](int tid, const std::string& where) -> Status {
      if (!tids.insert(tid).second) {
        return Error(where, "tid " + std::to_string(tid) + " used twice");
      }
      return Status::Ok();
    };
    for (size_t i = 0; i < host.processes.size(); ++i) {
      VMTRACE_RETURN_IF_ERROR(add_tid(
          host.processes[i].tid, hp + ".processes[" + std::to_string(i) + "]"));
    }
    std::set<std::string> vm_names;
    for (size_t v = 0; v < host.vms.size(); ++v) {
      const VmSpec& vm = host.vms[v];
      std::string vp = hp + ".vms[" + std::to_string(v) + "]";
      if (!vm_names.insert(vm.name).second) {
        return Error(vp + ".name", "duplicate VM \"" + vm.name + "\"");
      }
      if (vm.io_thread.tid != vm.pid) {
        VMTRACE_RETURN_IF_ERROR(add_tid(vm.pid, vp + ".pid"));
      }
      for (size_t c = 0; c < vm.vcpus.size(); ++c) {
        VMTRACE_RETURN_IF_ERROR(
            add_tid(vm.vcpus[c].tid, vp + ".vcpus[" + std::to_string(c) + "]"));
      }
      VMTRACE_RETURN_IF_ERROR(add_tid(vm.io_thread.tid, vp + ".io_thread"));
      VMTRACE_RETURN_IF_ERROR(add_tid(vm.vhost.tid, vp + ".vhost"));
      auto check_level = [&](const std::vector<GuestProcessSpec>& procs,
                             const std::string& lp, uint64_t extra_cr3,
                             const GuestSpec& guest) -> Status {
        std::set<std::string> containers;
        for (const ContainerSpec& c : guest.containers) {
          containers.insert(c.name);
        }
        auto known = [&](const std::string& c, const std::string& at) {
          return c.empty() || containers.count(c)
                     ? Status::Ok()
                     : Error(at, "no container \"" + c + "\" in this VM");
        };
        for (size_t i = 0; i < procs.size(); ++i) {
          std::string pp = lp + ".processes[" + std::to_string(i) + "]";
          VMTRACE_RETURN_IF_ERROR(known(procs[i].container, pp + ".container"));
          for (size_t k = 0; k < procs[i].then.size(); ++k) {
            VMTRACE_RETURN_IF_ERROR(
                known(procs[i].then[k].container,
                      pp + ".then[" + std::to_string(k) + "].container"));
          }
        }
        std::set<std::string> names;
        std::set<uint64_t> cr3s = {extra_cr3};
        for (size_t i = 0; i < procs.size(); ++i) {
          std::string pp = lp + ".processes[" + std::to_string(i) + "]";
          if (!names.insert(procs[i].name).second) {
            return Error(pp + ".name", "duplicate process name");
          }
          if (!cr3s.insert(procs[i].cr3).second) {
            return Error(pp + ".cr3", "duplicate CR3");
          }
        }
        for (size_t i = 0; i < procs.size(); ++i) {
          for (size_t s = 0; s < procs[i].workload.size(); ++s) {
            const Step& st = procs[i].workload[s];
            if (st.kind == StepKind::kWake && !names.count(st.target)) {
              return Error(lp + ".processes[" + std::to_string(i) +
                               "].workload[" + std::to_string(s) + "].wake",
                           "no process \"" + st.target + "\" in this VM");
            }
          }
        }
        return Status::Ok();
      };
      VMTRACE_RETURN_IF_ERROR(
          check_level(vm.processes, vp,
                      vm.has_nested ? vm.nested.hypervisor_cr3 : 0, vm.guest));
      if (vm.has_nested) {
        VMTRACE_RETURN_IF_ERROR(check_level(vm.nested.processes, vp + ".nested",
                                            0, vm.nested.guest));
      }
    }
  }
  // Request targets "host/vm/process" must name an existing process.
  for (size_t h = 0; h < sc.hosts.size(); ++h) {
    for (size_t v = 0; v < sc.hosts[h].vms.size(); ++v) {
      const VmSpec& vm = sc.hosts[h].vms[v];
      for (size_t i = 0; i < vm.processes.size(); ++i) {
        for (size_t s = 0; s < vm.processes[i].workload.size(); ++s) {
          const Step& st = vm.processes[i].workload[s];
          if (st.kind != StepKind::kRequest) continue;
          bool found = false;
          for (const HostSpec& h2 : sc.hosts) {
            for (const VmSpec& v2 : h2.vms) {
              for (const GuestProcessSpec& p2 : v2.processes) {
                found = found ||
                        (h2.name + "/" + v2.name + "/" + p2.name == st.target);
              }
            }
          }
          if (!found) {
            return Error(
                "hosts[" + std::to_string(h) + "].vms[" + std::to_string(v) +
                    "].processes[" + std::to_string(i) + "].workload[" +
                    std::to_string(s) + "].request",
                "no process \"" + st.target + "\" (expected host/vm/process)");
          }
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Scenario> ParseScenario(std::string_view json_text) {
  json doc;
  try {
    doc = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("scenario: invalid JSON: ") + e.what());
  }
  Scenario sc;
  try {
    VMTRACE_RETURN_IF_ERROR(
        CheckKeys(doc, "scenario",
                  {"name", "duration_ns", "seed", "jitter", "link_latency_ns",
                   "hosts", "description"}));
    VMTRACE_RETURN_IF_ERROR(GetString(doc, "scenario", "name", true, &sc.name));
    VMTRACE_RETURN_IF_ERROR(
        GetDuration(doc, "scenario", "duration_ns", false, &sc.duration_ns));
    VMTRACE_RETURN_IF_ERROR(GetDuration(doc, "scenario", "link_latency_ns",
                                        false, &sc.link_latency_ns));
    int64_t seed = 1;
    VMTRACE_RETURN_IF_ERROR(GetInt(doc, "scenario", "seed", false, &seed));
    sc.seed = static_cast<uint64_t>(seed);
    if (doc.contains("jitter")) {
      if (!doc["jitter"].is_number() || doc["jitter"].get<double>() < 0 ||
          doc["jitter"].get<double>() > 0.5) {
        return Error("jitter", "expected a number in [0, 0.5]");
      }
      sc.jitter = doc["jitter"].get<double>();
    }
    auto hosts = doc.find("hosts");
    if (hosts == doc.end() || !hosts->is_array() || hosts->empty()) {
      return Error("hosts", "expected a non-empty array");
    }
    for (size_t i = 0; i < hosts->size(); ++i) {
      HostSpec h;
      VMTRACE_RETURN_IF_ERROR(
          ParseHost((*hosts)[i], "hosts[" + std::to_string(i) + "]", &h));
      sc.hosts.push_back(std::move(h));
    }
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("scenario: ") + e.what());
  }
  VMTRACE_RETURN_IF_ERROR(CheckReferences(sc));
  return sc;
}

StatusOr<Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open scenario file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseScenario(ss.str());
}

}  // namespace vmtrace::gen
