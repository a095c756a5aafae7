#include "tsp/outputs/vm/vm_vectors_config.h"

namespace vmtrace::tsp {
namespace {

using Json = nlohmann::json;

Json VectorList(const char* what) {
  return Json{
      {"type", "array"},
      {"description", what},
      {"items", {{"type", "integer"}, {"minimum", 0}, {"maximum", 255}}}};
}

Status Bad(const std::string& key) {
  return InvalidArgument("Invalid query parameters: " + key);
}

}  // namespace

Json VmVectorsConfigType() {
  Json schema{
      {"$schema", "http://json-schema.org/draft-07/schema#"},
      {"title", "VM interrupt vectors"},
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"host",
         {{"type", "string"},
          {"description", "Host name as in the trace (omit: every host)"}}},
        {"pid",
         {{"type", "integer"},
          {"minimum", 0},
          {"description", "QEMU pid of the VM (omit: every VM)"}}},
        {"timer", VectorList("Vectors of the guest's local timer")},
        {"task", VectorList("Vectors of IPIs (another guest task woke it)")},
        {"disk", VectorList("Vectors of the disk (else learnt from QEMU's I/O "
                            "thread)")},
        {"net", VectorList("Vectors of the network (else learnt from the vhost "
                           "thread)")}}}};
  return Json{{"id", kVmVectorsTypeId},
              {"name", "VM interrupt vectors"},
              {"description",
               "Per-VM map from the interrupt vector KVM injects into a vCPU "
               "to the reason of its wake-up (timer, task, disk, network), "
               "for guests whose kernel does not use Linux's default vectors. "
               "Applies to every experiment; VM analyses are rebuilt."},
              {"schema", schema}};
}

StatusOr<VectorRule> ParseVectorRule(const Json& p) {
  if (!p.is_object()) return Bad("parameters");
  VectorRule r;
  for (const auto& [key, value] : p.items()) {
    if (key == "host") {
      if (!value.is_string()) return Bad(key);
      r.host = value.get<std::string>();
    } else if (key == "pid") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0)
        return Bad(key);
      r.pid = value.get<int64_t>();
    } else if (key == "timer" || key == "task" || key == "disk" ||
               key == "net") {
      if (!value.is_array()) return Bad(key);
      std::vector<int>& out = key == "timer"  ? r.timer
                              : key == "task" ? r.task
                              : key == "disk" ? r.disk
                                              : r.net;
      for (const auto& v : value) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
            v.get<int64_t>() > 255) {
          return Bad(key);
        }
        out.push_back(v.get<int>());
      }
    } else {
      return Bad(key);
    }
  }
  return r;
}

vm::VmOptions VmOptionsFromConfigs(
    const std::vector<storage::ConfigRecord>& configs) {
  vm::VmOptions options;
  for (const auto& c : configs) {
    if (c.type_id != kVmVectorsTypeId) continue;
    auto rule = ParseVectorRule(Json::parse(c.parameters_json, nullptr, false));
    if (!rule.ok()) continue;  // validated when stored; skip if damaged
    std::string key = (rule->host.empty() ? "*" : rule->host) + "/" +
                      (rule->pid ? std::to_string(*rule->pid) : "*");
    vm::VectorMap& m = options.vectors[key];
    m.timer.insert(m.timer.end(), rule->timer.begin(), rule->timer.end());
    m.task.insert(m.task.end(), rule->task.begin(), rule->task.end());
    m.disk.insert(m.disk.end(), rule->disk.begin(), rule->disk.end());
    m.net.insert(m.net.end(), rule->net.begin(), rule->net.end());
  }
  return options;
}

}  // namespace vmtrace::tsp
