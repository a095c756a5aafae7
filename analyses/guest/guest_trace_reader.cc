// Reading a guest trace: only what the mapping needs (guest_map.h), field
// indices resolved once per event class.
#include <cstdio>
#include <filesystem>
#include <unordered_map>

#include "analyses/ctf/reader.h"
#include "analyses/guest/guest_map.h"

namespace vmtrace::guest {

namespace {

enum class What : uint8_t { kNone, kSwitch, kProcess, kPidNs, kFork, kKvm };

struct Layout {
  What what = What::kNone;
  int a = -1, b = -1, c = -1, d = -1, e = -1;
};

// Payload fields only: the stream context also has a `tid` and a `pid`
// (the thread that emitted the event).
int PayloadIndex(const ctf::EventClass& cls, std::string_view name) {
  const auto& fields = cls.fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].scope == ctf::Scope::kPayload && fields[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

Layout Resolve(const ctf::EventClass& cls) {
  const std::string& n = cls.name();
  Layout l;
  auto f = [&cls](const char* name) { return PayloadIndex(cls, name); };
  if (n == "sched_switch") {
    l = {What::kSwitch, f("next_tid"), f("next_comm")};
  } else if (n == "lttng_statedump_process_state") {
    l = {What::kProcess, f("tid"),      f("pid"),
         f("name"),      f("ns_level"), f("ns_inum")};
  } else if (n == "lttng_statedump_process_pid_ns") {
    l = {What::kPidNs, f("tid"), f("vpid"), f("ns_level"), f("ns_inum")};
  } else if (n == "sched_process_fork") {
    l = {What::kFork, f("child_tid"), f("child_pid"), f("child_comm"),
         f("child_ns_inum")};
  } else if (n.rfind("kvm_", 0) == 0 || n == "addons_vcpu_enter_guest") {
    l.what = What::kKvm;
  }
  return l;
}

int64_t Int(const ctf::Event& ev, int i, int64_t fallback) {
  const ctf::Value* v = ev.field(i);
  if (v == nullptr ||
      (v->kind != ctf::Value::kSigned && v->kind != ctf::Value::kUnsigned)) {
    return fallback;
  }
  return v->AsInt();
}

std::string Str(const ctf::Event& ev, int i) {
  const ctf::Value* v = ev.field(i);
  if (v == nullptr || v->kind != ctf::Value::kString) return "";
  std::string s(v->s);
  if (size_t z = s.find('\0'); z != std::string::npos) s.resize(z);
  return s;
}

// The deepest namespace wins: a process in a container is dumped once per
// level, root first.
void SetNs(GuestThread& t, int level, uint64_t inum, int64_t vpid) {
  if (inum == 0 || level < t.ns_level) return;
  t.ns_level = level;
  t.pid_ns = inum;
  if (vpid >= 0) t.vpid = vpid;
}

}  // namespace

StatusOr<GuestTrace> ReadGuestTrace(const std::string& dir) {
  VMTRACE_ASSIGN_OR_RETURN(auto trace, ctf::Trace::Open(dir));
  GuestTrace g;
  g.path = dir;
  g.name = trace->info().hostname;
  if (g.name.empty()) {
    g.name = std::filesystem::path(dir).filename().string();
  }
  VMTRACE_ASSIGN_OR_RETURN(auto reader, ctf::EventReader::Open({trace}));
  std::unordered_map<const ctf::EventClass*, Layout> layouts;
  ctf::Event ev;
  while (reader->Next(&ev)) {
    auto it = layouts.find(ev.cls);
    if (it == layouts.end())
      it = layouts.emplace(ev.cls, Resolve(*ev.cls)).first;
    const Layout& l = it->second;
    switch (l.what) {
      case What::kNone:
        break;
      case What::kKvm:
        g.has_kvm_events = true;
        break;
      case What::kSwitch: {
        if (ev.cpu < 0 || ev.cpu > 4096) break;
        if (g.cpus.size() <= size_t(ev.cpu)) g.cpus.resize(ev.cpu + 1);
        g.cpus[ev.cpu].push_back({ev.timestamp, Int(ev, l.a, 0), Str(ev, l.b)});
        break;
      }
      case What::kProcess: {
        GuestThread& t = g.threads[Int(ev, l.a, -1)];
        t.pid = Int(ev, l.b, -1);
        t.comm = Str(ev, l.c);
        // LTTng before 2.13 dumps the namespace in the process event.
        const int level = static_cast<int>(Int(ev, l.d, -1));
        if (level >= 0) {
          SetNs(t, level, static_cast<uint64_t>(Int(ev, l.e, 0)), -1);
          if (level == 0)
            g.root_pid_ns = static_cast<uint64_t>(Int(ev, l.e, 0));
        }
        break;
      }
      case What::kPidNs: {
        GuestThread& t = g.threads[Int(ev, l.a, -1)];
        const int level = static_cast<int>(Int(ev, l.c, -1));
        const uint64_t inum = static_cast<uint64_t>(Int(ev, l.d, 0));
        SetNs(t, level, inum, Int(ev, l.b, -1));
        if (level == 0) g.root_pid_ns = inum;
        break;
      }
      case What::kFork: {
        GuestThread& t = g.threads[Int(ev, l.a, -1)];
        t.pid = Int(ev, l.b, -1);
        t.comm = Str(ev, l.c);
        t.pid_ns = static_cast<uint64_t>(Int(ev, l.d, 0));
        t.ns_level = -1;  // deeper than the root iff not the root's inode
        break;
      }
    }
  }
  return g;
}

}  // namespace vmtrace::guest

namespace vmtrace::vm {

std::string GuestTraceReport::Summary() const {
  if (!used) return trace + ": not used: " + reason;
  char cr3[32];
  std::snprintf(cr3, sizeof cr3, "0x%llx",
                static_cast<unsigned long long>(l1_cr3));
  std::string s =
      trace + ": VM " + std::to_string(vm_pid) + " on " + host +
      (level == 2 ? std::string(" (nested, under L1 CR3 ") + cr3 + ")"
                  : std::string(" (L1)")) +
      ", clock " + clock + " " + std::to_string(offset_ns) + " ns, " +
      std::to_string(matched) + "/" + std::to_string(switches) +
      " switches matched, " + std::to_string(processes) + " processes, " +
      std::to_string(containers) + " containers";
  if (conflicts) s += ", " + std::to_string(conflicts) + " CR3 conflicts";
  for (const auto& p : problems) s += "; " + p;
  return s;
}

}  // namespace vmtrace::vm
