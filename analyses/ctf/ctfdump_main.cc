// vmtrace-ctfdump: decodes every event of the CTF traces under a path and
// prints the count and the rate; with -v, the events too.
#include <chrono>
#include <cstdio>
#include <cstring>

#include "analyses/ctf/reader.h"

using vmtrace::ctf::Event;
using vmtrace::ctf::EventReader;
using vmtrace::ctf::Trace;

int main(int argc, char** argv) {
  bool verbose = false;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-v") == 0) {
      verbose = true;
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    std::fprintf(stderr, "usage: vmtrace-ctfdump [-v] TRACE_PATH\n");
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  auto dirs = vmtrace::ctf::FindTraces(path);
  if (!dirs.ok()) {
    std::fprintf(stderr, "%s\n", dirs.status().ToString().c_str());
    return 1;
  }
  std::vector<std::shared_ptr<const Trace>> traces;
  for (const std::string& d : *dirs) {
    auto t = Trace::Open(d);
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
      return 1;
    }
    traces.push_back(*t);
  }
  auto reader = EventReader::Open(traces);
  if (!reader.ok()) {
    std::fprintf(stderr, "%s\n", reader.status().ToString().c_str());
    return 1;
  }
  Event ev;
  uint64_t count = 0;
  while ((*reader)->Next(&ev)) {
    ++count;
    if (verbose) {
      std::printf("%lld.%09lld cpu=%lld %s: { %s }\n",
                  (long long)(ev.timestamp / 1000000000),
                  (long long)(ev.timestamp % 1000000000), (long long)ev.cpu,
                  ev.cls->name().c_str(), ev.FormatPayload().c_str());
    }
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  const auto& st = (*reader)->stats();
  std::fprintf(stderr,
               "%llu events in %.3f s: %.2f M events/s (traces %zu, "
               "decode_errors %llu, truncated %llu, overlapping %llu, "
               "discarded %llu)\n",
               (unsigned long long)count, secs, count / secs / 1e6,
               traces.size(), (unsigned long long)st.decode_errors,
               (unsigned long long)st.truncated_packets,
               (unsigned long long)st.overlapping_packets,
               (unsigned long long)st.discarded_events);
  for (const auto& m : st.messages) std::fprintf(stderr, "  %s\n", m.c_str());
  return 0;
}
