#include "analyses/guest/host_view.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <unordered_map>

#include "analyses/ctf/reader.h"
#include "analyses/events/event_decoder.h"

namespace vmtrace::guest {

namespace {

bool ParseInt(const std::string& s, int64_t* out) {
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

StatusOr<HostView> HostViewFromStore(const storage::StateHistory& h) {
  HostView view;
  for (storage::Quark host : h.Children(storage::kRootQuark)) {
    auto vms = h.Child(host, "VMs");
    if (!vms) continue;
    for (storage::Quark vm : h.Children(*vms)) {
      int64_t pid = 0;
      if (!ParseInt(h.Name(vm), &pid)) continue;
      auto vcpus = h.Child(vm, "vCPUs");
      if (!vcpus) continue;
      for (storage::Quark vc : h.Children(*vcpus)) {
        int64_t id = 0;
        auto cr3 = h.Child(vc, "CR3");
        if (!ParseInt(h.Name(vc), &id) || !cr3) continue;
        VMTRACE_ASSIGN_OR_RETURN(
            auto intervals, h.QueryRange(*cr3, INT64_MIN / 2, INT64_MAX / 2));
        HostVcpu v;
        v.host = h.Name(host);
        v.vm_pid = pid;
        v.vcpu = static_cast<int>(id);
        v.cr3.reserve(intervals.size());
        for (const storage::StateInterval& i : intervals) {
          if (i.value.kind != storage::StateValue::kString) continue;
          v.cr3.push_back(
              {i.start, std::strtoull(i.value.s.c_str(), nullptr, 16)});
        }
        view.vcpus.push_back(std::move(v));
      }
    }
  }
  return view;
}

StatusOr<HostView> HostViewFromTraces(const std::vector<std::string>& dirs) {
  std::vector<std::shared_ptr<const ctf::Trace>> traces;
  for (const std::string& d : dirs) {
    VMTRACE_ASSIGN_OR_RETURN(auto t, ctf::Trace::Open(d));
    traces.push_back(std::move(t));
  }
  VMTRACE_ASSIGN_OR_RETURN(auto reader, ctf::EventReader::Open(traces));
  struct Layout {
    int kind = 0;  // 1 enter_guest, 2 write_tsc_offset
    int vcpu = -1, value = -1, pid = -1;
  };
  std::unordered_map<const ctf::EventClass*, Layout> layouts;
  std::map<std::tuple<std::string, int64_t, int>, size_t> index;
  HostView view;
  ctf::Event ev;
  while (reader->Next(&ev)) {
    auto it = layouts.find(ev.cls);
    if (it == layouts.end()) {
      Layout l;
      const std::string& n = ev.cls->name();
      if (n == "addons_vcpu_enter_guest") {
        l = {1, ev.cls->FieldIndex("vcpuID"), ev.cls->FieldIndex("cr3tmp")};
      } else if (n == "kvm_x86_write_tsc_offset" ||
                 n == "kvm_write_tsc_offset") {
        l = {2, ev.cls->FieldIndex("vcpu_id"),
             ev.cls->FieldIndex("next_tsc_offset")};
      }
      l.pid = ev.cls->FieldIndex("pid");
      it = layouts.emplace(ev.cls, l).first;
    }
    const Layout& l = it->second;
    if (l.kind == 0) continue;
    const ctf::Value* pid = ev.field(l.pid);
    const ctf::Value* vcpu = ev.field(l.vcpu);
    const ctf::Value* value = ev.field(l.value);
    if (pid == nullptr || vcpu == nullptr || value == nullptr) continue;
    const std::string host = events::HostName(*traces[ev.trace_index]);
    if (l.kind == 2) {
      view.tsc_offsets[{host, pid->AsInt()}] = value->AsInt();
      continue;
    }
    auto key =
        std::make_tuple(host, pid->AsInt(), static_cast<int>(vcpu->AsInt()));
    auto [slot, added] = index.emplace(key, view.vcpus.size());
    if (added) {
      view.vcpus.push_back(
          {host, pid->AsInt(), static_cast<int>(vcpu->AsInt()), {}});
    }
    view.vcpus[slot->second].cr3.push_back(
        {ev.timestamp, static_cast<uint64_t>(value->AsInt())});
  }
  return view;
}

}  // namespace vmtrace::guest
