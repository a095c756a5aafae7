// Helpers shared by the index tests: temp dirs and a brute-force reading of
// a whole experiment to compare indexed answers with.
#ifndef VMTRACE_TESTS_ANALYSES_INDEX_INDEX_TEST_UTIL_H_
#define VMTRACE_TESTS_ANALYSES_INDEX_INDEX_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"

namespace vmtrace::index {

inline std::string TempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("vmtrace-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

struct FlatEvent {
  int64_t ts;
  std::string name;
  uint32_t trace;
  std::string payload;
};

// Every event of the CTF traces, in reader order, decoded from the start.
inline std::vector<FlatEvent> ReadAll(const std::vector<std::string>& dirs) {
  std::vector<std::shared_ptr<const ctf::Trace>> traces;
  for (const auto& d : dirs) traces.push_back(ctf::Trace::Open(d).value());
  auto reader = ctf::EventReader::Open(traces).value();
  std::vector<FlatEvent> out;
  ctf::Event ev;
  while (reader->Next(&ev)) {
    out.push_back(
        {ev.timestamp, ev.cls->name(), ev.trace_index, ev.FormatPayload()});
  }
  return out;
}

inline const std::string kSimpleKernel =
    std::string(VMTRACE_TEST_DATA) + "/tracevizlab-simple-kernel-8cpu";
inline const std::string kScpSrc =
    std::string(VMTRACE_TEST_DATA) + "/lttng-synctraces-scp/scp_src";
inline const std::string kScpDest =
    std::string(VMTRACE_TEST_DATA) + "/lttng-synctraces-scp/scp_dest";

}  // namespace vmtrace::index

#endif  // VMTRACE_TESTS_ANALYSES_INDEX_INDEX_TEST_UTIL_H_
