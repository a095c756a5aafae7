// vmtrace-gen: writes LTTng-like kernel traces of KVM hosts plus their ground
// truth from a scenario file. See docs/generator.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tools/gen/scenario.h"
#include "tools/gen/sim.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: vmtrace-gen --scenario FILE.json --out DIR [--seed N]\n"
               "                   [--events N] [--tracer-version 2.13|2.7]\n"
               "                   [--format lttng|perf]\n"
               "                   [--no-truth]\n");
}

bool ParseU64(const char* s, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-') return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string scenario_path, out_dir;
  vmtrace::gen::GenOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "vmtrace-gen: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--scenario") {
      scenario_path = value("--scenario");
    } else if (a == "--out") {
      out_dir = value("--out");
    } else if (a == "--seed") {
      if (!ParseU64(value("--seed"), &options.seed)) {
        std::fprintf(stderr, "vmtrace-gen: bad --seed\n");
        return 2;
      }
      options.seed_set = true;
    } else if (a == "--events") {
      if (!ParseU64(value("--events"), &options.target_events) ||
          options.target_events == 0) {
        std::fprintf(stderr, "vmtrace-gen: bad --events\n");
        return 2;
      }
    } else if (a == "--tracer-version") {
      std::string v = value("--tracer-version");
      if (v == "2.7") {
        options.ctf.tracer_minor = 7;
        options.ctf.old_kvm_names = true;
      } else if (v != "2.13") {
        std::fprintf(stderr, "vmtrace-gen: --tracer-version is 2.13 or 2.7\n");
        return 2;
      }
    } else if (a == "--format") {
      std::string v = value("--format");
      if (v == "perf") {
        options.ctf.perf = true;
      } else if (v != "lttng") {
        std::fprintf(stderr, "vmtrace-gen: --format is lttng or perf\n");
        return 2;
      }
    } else if (a == "--no-truth") {
      options.write_truth = false;
    } else if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    } else {
      std::fprintf(stderr, "vmtrace-gen: unknown argument %s\n", a.c_str());
      Usage();
      return 2;
    }
  }
  if (scenario_path.empty() || out_dir.empty()) {
    Usage();
    return 2;
  }
  auto scenario = vmtrace::gen::LoadScenarioFile(scenario_path);
  if (!scenario.ok()) {
    std::fprintf(stderr, "vmtrace-gen: %s\n",
                 scenario.status().message().c_str());
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  vmtrace::gen::Simulator sim(*scenario, options);
  vmtrace::gen::GenReport report;
  vmtrace::Status st = sim.Run(out_dir, &report);
  if (!st.ok()) {
    std::fprintf(stderr, "vmtrace-gen: %s\n", st.ToString().c_str());
    return 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  // One JSON object on stdout: what was written, with event counts.
  std::printf(
      "{\"scenario\": \"%s\", \"events\": %llu, \"seconds\": %.3f, "
      "\"hosts\": [",
      scenario->name.c_str(), static_cast<unsigned long long>(report.events),
      secs);
  for (size_t i = 0; i < report.hosts.size(); ++i) {
    const auto& h = report.hosts[i];
    std::printf(
        "%s{\"name\": \"%s\", \"trace\": \"%s\", \"truth\": \"%s\", "
        "\"events\": %llu, \"bytes\": %llu}",
        i ? ", " : "", h.name.c_str(), h.trace_dir.c_str(),
        h.truth_file.c_str(), static_cast<unsigned long long>(h.events),
        static_cast<unsigned long long>(h.bytes));
  }
  std::printf("]}\n");
  return 0;
}
