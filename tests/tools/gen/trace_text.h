// Reads `babeltrace2 --clock-cycles DIR` text output into a compact event
// list, so that tests can check what users of the trace will see.
#ifndef VMTRACE_TESTS_TOOLS_GEN_TRACE_TEXT_H_
#define VMTRACE_TESTS_TOOLS_GEN_TRACE_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace vmtrace::gen::testing {

struct TextEvent {
  uint64_t ts = 0;
  std::string name;
  int cpu = -1;
  int tid = -1;  // context tid
  int next_tid = -1;
  int prev_tid = -1;
  int64_t prev_state = -1;
  int field_tid = -1;  // `tid` payload field (wakeups, ttwu)
};

// Runs babeltrace2 on `dir`. Returns false if it fails; `events` gets one
// entry per printed event.
bool ReadTrace(const std::string& dir, std::vector<TextEvent>* events,
               std::string* error);

}  // namespace vmtrace::gen::testing

#endif  // VMTRACE_TESTS_TOOLS_GEN_TRACE_TEXT_H_
