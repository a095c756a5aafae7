// Guest names on the critical path's rows, tooltips and breakdown
// (critical_path_internal.h). A walked path is stored once with raw labels;
// names may change at any time (a configuration, a guest trace), so they
// are applied to every reply instead.
#include <algorithm>
#include <map>
#include <tuple>

#include "tsp/outputs/critical_path/critical_path_internal.h"
#include "tsp/outputs/vm/guest_labels.h"

namespace vmtrace::tsp {
namespace {

using Path = CriticalPathOutputs::Path;

// A worker as graph::WorkerLabel spells it: "host/tid", "host/pid/0xcr3",
// "host/pid/0xhcr3/0xcr3" (a host name has no '/'); other labels (the
// network hops) are kOther.
struct LabelledWorker {
  enum Kind { kOther, kHostThread, kGuest, kL2 };
  Kind kind = kOther;
  std::string host;
  int64_t id = 0;  // tid or QEMU pid
  uint64_t hcr3 = 0, cr3 = 0;
};

bool ParseInt(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

LabelledWorker ParseLabel(const std::string& label) {
  LabelledWorker w;
  if (label.rfind("network ", 0) == 0) return w;
  std::vector<std::string> parts;
  size_t from = 0;
  for (size_t slash; (slash = label.find('/', from)) != std::string::npos;
       from = slash + 1) {
    parts.push_back(label.substr(from, slash - from));
  }
  parts.push_back(label.substr(from));
  if (parts.size() == 2 && ParseInt(parts[1], &w.id)) {
    w.kind = LabelledWorker::kHostThread;
  } else if (parts.size() == 3 && ParseInt(parts[1], &w.id) &&
             ParseCr3Text(parts[2], &w.cr3)) {
    w.kind = LabelledWorker::kGuest;
  } else if (parts.size() == 4 && ParseInt(parts[1], &w.id) &&
             ParseCr3Text(parts[2], &w.hcr3) &&
             ParseCr3Text(parts[3], &w.cr3)) {
    w.kind = LabelledWorker::kL2;
  } else {
    return LabelledWorker{};
  }
  w.host = parts[0];
  return w;
}

// The names of the worker's VM, and of the VM its process runs in (the
// nested VM's for an L2 process); nulls when not named.
struct WorkerNaming {
  const vm::VmNaming* vm = nullptr;
  const vm::VmNaming* own = nullptr;
};

WorkerNaming NamingOf(const LabelledWorker& w, const vm::GuestNames& names) {
  WorkerNaming n;
  if (w.kind != LabelledWorker::kGuest && w.kind != LabelledWorker::kL2) {
    return n;
  }
  n.vm = names.Vm(w.host, w.id);
  if (w.kind == LabelledWorker::kGuest || n.vm == nullptr) {
    n.own = w.kind == LabelledWorker::kGuest ? n.vm : nullptr;
    return n;
  }
  auto it = n.vm->nested.find(vm::CanonicalCr3(w.hcr3));
  if (it != n.vm->nested.end()) n.own = &it->second;
  return n;
}

std::string VmLabel(const LabelledWorker& w, const vm::VmNaming* naming) {
  if (naming != nullptr && !naming->name.empty()) return naming->name;
  return "VM " + std::to_string(w.id);
}

std::string NestedLabel(const LabelledWorker& w, const vm::VmNaming* nested) {
  if (nested != nullptr && !nested->name.empty()) return nested->name;
  return "Nested VM " + Cr3Label(w.hcr3);
}

// The worker's breakdown label with each part named when known:
// "host/shop/nginx (812)" for "host/2000/0x11a000".
std::string NamedLabel(const std::string& label, const vm::GuestNames& names) {
  const LabelledWorker w = ParseLabel(label);
  const WorkerNaming n = NamingOf(w, names);
  if (n.vm == nullptr) return label;
  std::string out =
      w.host + "/" + (n.vm->name.empty() ? std::to_string(w.id) : n.vm->name);
  if (w.kind == LabelledWorker::kL2) {
    out +=
        "/" + (n.own && !n.own->name.empty() ? n.own->name : Cr3Label(w.hcr3));
  }
  std::string process = LatestProcessLabel(n.own, w.cr3);
  return out + "/" + (process.empty() ? Cr3Label(w.cr3) : process);
}

// "VM <pid> (thread <tid>)" (Preempter in critical_path_breakdown.cc) with
// the VM's name: the preempting VM is on the path owner's host.
std::string NamedPreempter(const Path& p, const std::string& label,
                           const vm::GuestNames& names) {
  if (label.rfind("VM ", 0) != 0) return label;
  const size_t space = label.find(' ', 3);
  int64_t pid;
  if (space == std::string::npos || !ParseInt(label.substr(3, space - 3), &pid))
    return label;
  const auto& hosts = p.graph->graph().hosts;
  if (p.worker.host >= hosts.size()) return label;
  const vm::VmNaming* naming = names.Vm(hosts[p.worker.host], pid);
  if (naming == nullptr || naming->name.empty()) return label;
  return naming->name + label.substr(space);
}

}  // namespace

TreeModel NamedPathTree(const StoredPath& s, const vm::GuestNames& names) {
  TreeModel t = s.tree;
  if (names.vms.empty()) return t;
  std::map<int64_t, size_t> at;
  int64_t next = 0;
  for (size_t i = 0; i < t.entries.size(); ++i) {
    at[t.entries[i].id] = i;
    next = std::max(next, t.entries[i].id + 1);
  }
  auto entry = [&](int64_t id) -> TreeEntry* {
    auto it = at.find(id);
    return it == at.end() ? nullptr : &t.entries[it->second];
  };
  // (group row, container id) -> its row, made on first use.
  std::map<std::pair<int64_t, std::string>, int64_t> containers;
  std::vector<TreeEntry> added;
  for (const auto& [id, label] : s.labels) {
    const LabelledWorker w = ParseLabel(label);
    const WorkerNaming n = NamingOf(w, names);
    TreeEntry* row = entry(id);
    if (n.vm == nullptr || row == nullptr) continue;
    // Rows: host > VM > [nested VM >] process (BuildRows).
    TreeEntry* group = entry(row->parent_id);
    if (group == nullptr) continue;
    TreeEntry* vm_group = group;
    if (w.kind == LabelledWorker::kL2) {
      group->labels = {NestedLabel(w, n.own)};
      vm_group = entry(group->parent_id);
    }
    if (vm_group != nullptr) vm_group->labels = {VmLabel(w, n.vm)};
    const std::string process = LatestProcessLabel(n.own, w.cr3);
    if (!process.empty()) row->labels = {process};
    const std::string c = LatestContainer(n.own, w.cr3);
    if (c.empty()) continue;
    auto [it, fresh] = containers.emplace(std::pair{group->id, c}, next);
    if (fresh) {
      TreeEntry e;
      e.id = next++;
      e.parent_id = group->id;
      e.labels = {ContainerLabel(*n.own, c)};
      e.start = group->start;
      e.end = group->end;
      added.push_back(std::move(e));
    }
    row->parent_id = it->second;
  }
  if (added.empty()) return t;
  // Each container row right after its group's, before the rows it holds.
  std::vector<TreeEntry> entries;
  entries.reserve(t.entries.size() + added.size());
  for (TreeEntry& e : t.entries) {
    const int64_t id = e.id;
    entries.push_back(std::move(e));
    for (const TreeEntry& c : added) {
      if (c.parent_id == id) entries.push_back(c);
    }
  }
  t.entries = std::move(entries);
  return t;
}

void AddPathNames(const Path& p, const StoredPath& s, int64_t item,
                  int64_t time, const vm::GuestNames& names,
                  std::map<std::string, std::string>* out) {
  auto label = s.labels.find(item);
  if (label == s.labels.end()) return;
  const LabelledWorker w = ParseLabel(label->second);
  const WorkerNaming n = NamingOf(w, names);
  if (n.vm == nullptr) return;
  if (!n.vm->name.empty()) (*out)["VM"] = n.vm->name;
  if (w.kind == LabelledWorker::kL2 && n.own && !n.own->name.empty()) {
    (*out)["Nested VM"] = n.own->name;
  }
  (*out)["CR3"] = Cr3Label(w.cr3);
  // Names are in the worker's host clock, the path in its owner's.
  const sync::ClockSync* clocks =
      p.sync != nullptr ? p.sync->clock_sync() : nullptr;
  const auto& hosts = p.graph->graph().hosts;
  if (clocks != nullptr && p.worker.host < hosts.size() &&
      hosts[p.worker.host] != w.host) {
    time = clocks->FromReference(
        w.host, clocks->ToReference(hosts[p.worker.host], time));
  }
  AddProcessTooltip(n.own, w.cr3, time, out);
}

std::vector<BreakdownRow> NamedBreakdown(const Path& p,
                                         std::vector<BreakdownRow> rows,
                                         const vm::GuestNames& names) {
  if (names.vms.empty()) return rows;
  std::vector<BreakdownRow> out, preempted;
  std::map<std::string, int64_t> workers, by_preempter;
  // (host, pid, hcr3 or 0, container) -> label, ns.
  std::map<std::tuple<std::string, int64_t, uint64_t, std::string>,
           std::pair<std::string, int64_t>>
      by_container;
  int64_t total = 0;
  for (BreakdownRow& r : rows) {
    if (r.category == "worker") {
      total += r.ns;
      workers[NamedLabel(r.name, names)] += r.ns;
      const LabelledWorker w = ParseLabel(r.name);
      const WorkerNaming n = NamingOf(w, names);
      const std::string c = LatestContainer(n.own, w.cr3);
      if (c.empty()) continue;
      const std::string where = w.kind == LabelledWorker::kL2
                                    ? NestedLabel(w, n.own)
                                    : VmLabel(w, n.vm);
      auto& [display, ns] = by_container[{w.host, w.id, w.hcr3, c}];
      display = ContainerLabel(*n.own, c) + " (" + where + ")";
      ns += r.ns;
    } else if (r.category == "preempted by") {
      by_preempter[NamedPreempter(p, r.name, names)] += r.ns;
    } else {
      out.push_back(std::move(r));
    }
  }
  for (const auto& [name, ns] : workers) {
    out.push_back({"worker", name, "", ns, cp_internal::Share(ns, total)});
  }
  std::map<std::string, int64_t> containers;
  for (const auto& [key, c] : by_container) containers[c.first] += c.second;
  for (const auto& [name, ns] : containers) {
    out.push_back({"container", name, "", ns, cp_internal::Share(ns, total)});
  }
  for (const auto& [name, ns] : by_preempter) {
    out.push_back(
        {"preempted by", name, "L0", ns, cp_internal::Share(ns, total)});
  }
  return out;
}

}  // namespace vmtrace::tsp
