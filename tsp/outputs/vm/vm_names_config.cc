#include "tsp/outputs/vm/vm_names_config.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "tsp/outputs/vm/guest_labels.h"

namespace vmtrace::tsp {
namespace {

using Json = nlohmann::json;

// The TSP error titles (tsp/http/query.h), spelled here since the outputs
// do not depend on the HTTP layer.
Status Bad(const std::string& key) {
  return InvalidArgument("Invalid query parameters: " + key);
}
Status Bad(const std::string& key, const std::string& why) {
  return InvalidArgument("Invalid query parameters: " + key + " (" + why + ")");
}
Status Missing(const std::string& key) {
  return InvalidArgument("Missing query parameters: " + key);
}

constexpr char kCr3Pattern[] = "^0[xX][0-9a-fA-F]{1,16}$";

bool AsInt(const Json& v, int64_t* out) {
  if (!v.is_number_integer()) return false;
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) {
    return false;
  }
  *out = v.get<int64_t>();
  return true;
}

// "0x.." (hex, at most 64 bits) or a non-negative integer.
bool AsCr3(const Json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    if (v.get<int64_t>() < 0) return false;
    *out = uint64_t(v.get<int64_t>());
    return true;
  }
  return v.is_string() && ParseCr3Text(v.get<std::string>(), out);
}

bool NonEmptyString(const Json& v) {
  return v.is_string() && !v.get<std::string>().empty();
}

// {"<id>": "<name>", ...}: an empty name shows the id.
Status ParseContainers(const Json& o, const std::string& at,
                       vm::VmNaming* out) {
  if (!o.is_object()) return Bad(at);
  for (const auto& [id, name] : o.items()) {
    if (id.empty()) return Bad(at, "an empty container id");
    if (!name.is_string()) return Bad(at + "." + id);
    out->containers[id] = {name.get<std::string>(), "configuration"};
  }
  return Status::Ok();
}

Status ParseProcesses(const Json& a, const std::string& at, vm::VmNaming* out) {
  if (!a.is_array()) return Bad(at);
  // Where each process came from, to name the entry that overlaps another.
  std::map<uint64_t, std::vector<std::pair<vm::GuestProcess, size_t>>> by_cr3;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string here = at + "[" + std::to_string(i) + "]";
    const Json& p = a[i];
    if (!p.is_object()) return Bad(here);
    vm::GuestProcess gp;
    std::optional<uint64_t> cr3;
    for (const auto& [key, value] : p.items()) {
      if (key == "cr3") {
        uint64_t v;
        if (!AsCr3(value, &v)) return Bad(here + ".cr3");
        cr3 = v;
      } else if (key == "name") {
        if (!value.is_string()) return Bad(here + ".name");
        gp.name = value.get<std::string>();
      } else if (key == "pid") {
        if (!AsInt(value, &gp.pid) || gp.pid < 0) return Bad(here + ".pid");
      } else if (key == "container") {
        if (!NonEmptyString(value)) return Bad(here + ".container");
        gp.container = value.get<std::string>();
      } else if (key == "begin") {
        if (!AsInt(value, &gp.begin)) return Bad(here + ".begin");
      } else if (key == "end") {
        if (!AsInt(value, &gp.end)) return Bad(here + ".end");
      } else {
        return Bad(here + "." + key);
      }
    }
    if (!cr3) return Missing(here + ".cr3");
    if (gp.begin >= gp.end) return Bad(here + ".end", "not after begin");
    by_cr3[vm::CanonicalCr3(*cr3)].push_back({std::move(gp), i});
  }
  for (auto& [cr3, holders] : by_cr3) {
    std::stable_sort(holders.begin(), holders.end(),
                     [](const auto& x, const auto& y) {
                       return x.first.begin < y.first.begin;
                     });
    std::vector<vm::GuestProcess>& mine = out->processes[cr3];
    for (size_t k = 0; k < holders.size(); ++k) {
      if (k > 0 && holders[k - 1].first.end > holders[k].first.begin) {
        // Both page tables of KPTI and every PCID are one process: "0x7000"
        // and "0x6001" are the same CR3 as "0x6000".
        return Bad(
            at + "[" + std::to_string(holders[k].second) + "].cr3",
            "CR3 " + Cr3Label(cr3) + " is named twice over the same time");
      }
      const std::string& c = holders[k].first.container;
      if (!c.empty() && !out->containers.count(c)) {
        out->containers[c] = {"", "configuration"};
      }
      mine.push_back(std::move(holders[k].first));
    }
  }
  return Status::Ok();
}

// "name", "containers", "processes" of a VM or a nested VM; other keys are
// left to `other` (false: unknown).
using OtherKeyFn =
    std::function<Status(const std::string& key, const Json& value)>;

Status ParseNaming(const Json& o, const std::string& prefix, vm::VmNaming* out,
                   const OtherKeyFn& other) {
  // Containers first: processes refer to them.
  if (auto c = o.find("containers"); c != o.end()) {
    VMTRACE_RETURN_IF_ERROR(ParseContainers(*c, prefix + "containers", out));
  }
  for (const auto& [key, value] : o.items()) {
    if (key == "name") {
      if (!value.is_string()) return Bad(prefix + "name");
      out->name = value.get<std::string>();
    } else if (key == "processes") {
      VMTRACE_RETURN_IF_ERROR(ParseProcesses(value, prefix + key, out));
    } else if (key == "containers") {
      continue;
    } else {
      VMTRACE_RETURN_IF_ERROR(other(key, value));
    }
  }
  return Status::Ok();
}

Status ParseNested(const Json& a, vm::VmNaming* out) {
  if (!a.is_array()) return Bad("nested");
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string here = "nested[" + std::to_string(i) + "]";
    const Json& n = a[i];
    if (!n.is_object()) return Bad(here);
    std::optional<uint64_t> hcr3;
    vm::VmNaming naming;
    VMTRACE_RETURN_IF_ERROR(
        ParseNaming(n, here + ".", &naming,
                    [&](const std::string& key, const Json& value) -> Status {
                      if (key != "hypervisor_cr3") return Bad(here + "." + key);
                      uint64_t v;
                      if (!AsCr3(value, &v))
                        return Bad(here + ".hypervisor_cr3");
                      hcr3 = v;
                      return Status::Ok();
                    }));
    if (!hcr3) return Missing(here + ".hypervisor_cr3");
    const uint64_t key = vm::CanonicalCr3(*hcr3);
    if (out->nested.count(key)) {
      return Bad(here + ".hypervisor_cr3", "named twice");
    }
    out->nested[key] = std::move(naming);
  }
  return Status::Ok();
}

Json Cr3Schema(const char* description) {
  return Json{
      {"oneOf", Json::array({Json{{"type", "string"}, {"pattern", kCr3Pattern}},
                             Json{{"type", "integer"}, {"minimum", 0}}})},
      {"description", description}};
}

Json NamingProperties(bool nested) {
  Json containers{
      {"type", "object"},
      {"description",
       "The VM's containers: container id (what processes' \"container\" "
       "refers to) -> display name"},
      {"propertyNames", {{"minLength", 1}}},
      {"additionalProperties", {{"type", "string"}}}};
  Json cr3 = Cr3Schema("CR3 as \"0x..\" (PCID and KPTI bits are ignored)");
  Json processes{
      {"type", "array"},
      {"description", "Guest processes, by CR3"},
      {"items",
       {{"type", "object"},
        {"additionalProperties", false},
        {"required", {"cr3"}},
        {"properties",
         {{"cr3", cr3},
          {"name", {{"type", "string"}, {"description", "comm"}}},
          {"pid",
           {{"type", "integer"}, {"minimum", 0}, {"description", "guest pid"}}},
          {"container",
           {{"type", "string"},
            {"minLength", 1},
            {"description", "container id"}}},
          {"begin",
           {{"type", "integer"},
            {"description",
             "ns (host clock) from which it holds the CR3 (omit: always)"}}},
          {"end",
           {{"type", "integer"},
            {"description", "ns (host clock) until which (exclusive)"}}}}}}}};
  Json props{{"name",
              {{"type", "string"},
               {"description", nested ? "Display name of the nested VM"
                                      : "Display name of the VM"}}},
             {"containers", containers},
             {"processes", processes}};
  if (nested) {
    props["hypervisor_cr3"] =
        Cr3Schema("CR3 of the L1 hypervisor process running it");
  }
  return props;
}

}  // namespace

Json VmNamesConfigType() {
  Json props = NamingProperties(false);
  props["host"] = {{"type", "string"},
                   {"minLength", 1},
                   {"description", "Host name as in the trace"}};
  props["pid"] = {{"type", "integer"},
                  {"minimum", 0},
                  {"description", "QEMU pid of the VM"}};
  props["nested"] = {
      {"type", "array"},
      {"description", "Nested (L2) VMs run by one of its processes"},
      {"items",
       {{"type", "object"},
        {"additionalProperties", false},
        {"required", {"hypervisor_cr3"}},
        {"properties", NamingProperties(true)}}}};
  Json schema{{"$schema", "http://json-schema.org/draft-07/schema#"},
              {"title", "VM names"},
              {"type", "object"},
              {"additionalProperties", false},
              {"required", {"host", "pid"}},
              {"properties", props}};
  return Json{{"id", kVmNamesTypeId},
              {"name", "VM names"},
              {"description",
               "Names of one VM, its guest processes (by CR3) and their "
               "containers, for host-only traces that cannot know them. "
               "Applies to every experiment when outputs are drawn; nothing "
               "is rebuilt."},
              {"schema", schema}};
}

StatusOr<vm::GuestNames> ParseVmNames(const Json& p) {
  if (!p.is_object()) return Bad("parameters");
  std::string host;
  std::optional<int64_t> pid;
  vm::VmNaming naming;
  VMTRACE_RETURN_IF_ERROR(ParseNaming(
      p, "", &naming, [&](const std::string& key, const Json& value) -> Status {
        if (key == "host") {
          if (!NonEmptyString(value)) return Bad(key);
          host = value.get<std::string>();
        } else if (key == "pid") {
          int64_t v;
          if (!AsInt(value, &v) || v < 0) return Bad(key);
          pid = v;
        } else if (key == "nested") {
          return ParseNested(value, &naming);
        } else {
          return Bad(key);
        }
        return Status::Ok();
      }));
  if (host.empty()) return Missing("host");
  if (!pid) return Missing("pid");
  vm::GuestNames names;
  names.vms[{host, *pid}] = std::move(naming);
  return names;
}

vm::GuestNames GuestNamesFromConfigs(
    const std::vector<storage::ConfigRecord>& configs) {
  vm::GuestNames names;
  for (const auto& c : configs) {
    if (c.type_id != kVmNamesTypeId) continue;
    auto one = ParseVmNames(Json::parse(c.parameters_json, nullptr, false));
    if (!one.ok()) continue;  // validated when stored; skip if damaged
    names.Merge(*one);
  }
  return names;
}

}  // namespace vmtrace::tsp
