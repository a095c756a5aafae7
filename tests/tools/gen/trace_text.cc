#include "tests/tools/gen/trace_text.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vmtrace::gen::testing {
namespace {

// Integer after `key` (e.g. "next_tid = "), searching from `from`.
long long IntAfter(const std::string& line, const char* key, size_t from = 0) {
  size_t p = line.find(key, from);
  if (p == std::string::npos) return -1;
  return std::strtoll(line.c_str() + p + std::strlen(key), nullptr, 10);
}

}  // namespace

bool ReadTrace(const std::string& dir, std::vector<TextEvent>* events,
               std::string* error) {
  std::string cmd = "babeltrace2 --clock-cycles '" + dir + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *error = "cannot run babeltrace2";
    return false;
  }
  std::string line;
  char buf[4096];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) {
    line += buf;
    if (line.empty() || line.back() != '\n') continue;
    if (line[0] != '[') {
      *error += line;
      line.clear();
      continue;
    }
    TextEvent e;
    e.ts = std::strtoull(line.c_str() + 1, nullptr, 10);
    // "[ts] (+delta) host name: { cpu_id = N }, { pid = .., tid = .. }, {..}"
    size_t colon = line.find(": {");
    size_t name_start = line.rfind(' ', colon);
    e.name = line.substr(name_start + 1, colon - name_start - 1);
    e.cpu = static_cast<int>(IntAfter(line, "cpu_id = "));
    size_t ctx = line.find("}, {", colon);
    e.tid = static_cast<int>(IntAfter(line, " tid = ", ctx));
    // perf-converted traces: no context, the thread is a payload field.
    if (e.tid < 0) e.tid = static_cast<int>(IntAfter(line, "perf_tid = "));
    size_t payload = line.find("}, {", ctx + 1);
    if (payload != std::string::npos) {
      e.next_tid = static_cast<int>(IntAfter(line, "next_tid = ", payload));
      e.prev_tid = static_cast<int>(IntAfter(line, "prev_tid = ", payload));
    }
    if (e.next_tid < 0) {  // perf spells thread ids "pid"
      e.next_tid = static_cast<int>(IntAfter(line, "next_pid = ", colon));
      e.prev_tid = static_cast<int>(IntAfter(line, "prev_pid = ", colon));
      e.prev_state = IntAfter(line, "prev_state = ", payload);
      e.field_tid = static_cast<int>(IntAfter(line, " tid = ", payload));
    }
    events->push_back(std::move(e));
    line.clear();
  }
  int rc = pclose(p);
  if (rc != 0) {
    *error = "babeltrace2 exited with " + std::to_string(rc) + ": " + *error;
    return false;
  }
  return true;
}

}  // namespace vmtrace::gen::testing
