#include "tsp/outputs/vm/guest_labels.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace vmtrace::tsp {

bool ParseCr3Text(const std::string& s, uint64_t* cr3) {
  if (s.size() < 3 || s.size() > 18 || s[0] != '0' ||
      (s[1] != 'x' && s[1] != 'X')) {
    return false;
  }
  for (size_t i = 2; i < s.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  *cr3 = std::strtoull(s.c_str() + 2, nullptr, 16);
  return true;
}

std::string Cr3Label(uint64_t cr3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx",
                static_cast<unsigned long long>(cr3));
  return buf;
}

std::string ProcessLabel(const vm::GuestProcess& p) {
  if (p.name.empty()) return p.pid < 0 ? "" : "pid " + std::to_string(p.pid);
  if (p.pid < 0) return p.name;
  return p.name + " (" + std::to_string(p.pid) + ")";
}

std::string LatestProcessLabel(const vm::VmNaming* naming, uint64_t cr3) {
  if (naming == nullptr) return "";
  const vm::GuestProcess* p = naming->Process(cr3);
  return p ? ProcessLabel(*p) : "";
}

std::string ContainerLabel(const vm::VmNaming& naming, const std::string& id) {
  auto it = naming.containers.find(id);
  if (it == naming.containers.end() || it->second.name.empty()) return id;
  return it->second.name;
}

std::string LatestContainer(const vm::VmNaming* naming, uint64_t cr3) {
  if (naming == nullptr) return "";
  const vm::GuestProcess* p = naming->Process(cr3);
  return p ? p->container : "";
}

void AddProcessTooltip(const vm::VmNaming* naming, uint64_t cr3, int64_t time,
                       std::map<std::string, std::string>* out) {
  if (naming == nullptr || naming->Process(cr3) == nullptr) return;
  const vm::GuestProcess* p = naming->Process(cr3, time);
  if (p == nullptr) {
    // Named at other times only (a reused CR3).
    (*out)["Process"] = "not named at this time";
    return;
  }
  const std::string label = ProcessLabel(*p);
  if (!label.empty()) (*out)["Process"] = label;
  if (p->container.empty()) return;
  (*out)["Container"] = ContainerLabel(*naming, p->container);
  if ((*out)["Container"] != p->container) {
    (*out)["Container id"] = p->container;
  }
  auto c = naming->containers.find(p->container);
  if (c != naming->containers.end() && !c->second.source.empty()) {
    (*out)["Container source"] = c->second.source;
  }
}

}  // namespace vmtrace::tsp
