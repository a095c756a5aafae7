#include "analyses/events/class_layout.h"

namespace vmtrace::events {

int PayloadIndex(const ctf::EventClass& cls, std::string_view name) {
  const auto& f = cls.fields();
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i].scope == ctf::Scope::kPayload && f[i].name == name) return int(i);
  }
  return -1;
}

int AnyPayload(const ctf::EventClass& cls,
               std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    int i = PayloadIndex(cls, n);
    if (i >= 0) return i;
  }
  return -1;
}

int ContextIndex(const ctf::EventClass& cls, std::string_view name) {
  const auto& f = cls.fields();
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i].scope != ctf::Scope::kPayload && f[i].name == name) return int(i);
  }
  return -1;
}

}  // namespace vmtrace::events
