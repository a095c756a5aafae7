// vmtrace-bench-pass: one indexing pass of a trace on fresh stores, with the
// modules and the feed mode asked for; prints wall time, events and peak
// RSS on one line (tools/bench/pass.sh alternates runs and takes medians).
//
//   vmtrace-bench-pass --trace DIR [--trace DIR2 ...] --work DIR
//                      [--modules kernel|all|none] [--single]
//                      [--threads N] [--batch N] [--depth N]
//
// `all`: kernel + VM + graph (+ sync for several hosts), as the server has.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "analyses/graph/graph_module.h"
#include "analyses/index/experiment_index.h"
#include "analyses/kernel/kernel_module.h"
#include "analyses/sync/sync_module.h"
#include "analyses/vm/vm_module.h"
#include "base/log.h"

namespace {

using ModuleList = std::vector<std::unique_ptr<vmtrace::index::AnalysisModule>>;

vmtrace::index::ModuleFactory Factory(const std::string& work,
                                      const std::string& fp,
                                      const std::string& which) {
  return [work, fp,
          which](const auto& traces) -> vmtrace::StatusOr<ModuleList> {
    ModuleList m;
    if (which == "none") return m;
    auto k = vmtrace::kernel::KernelModule::Open(traces, work + "/kernel", fp);
    if (!k.ok()) return k.status();
    m.push_back(std::move(k).value());
    if (which != "all") return m;
    auto v = vmtrace::vm::VmModule::Open(traces, work + "/vm", fp);
    if (!v.ok()) return v.status();
    m.push_back(std::move(v).value());
    m.push_back(vmtrace::graph::GraphModule::Open(traces, work, fp));
    if (vmtrace::sync::SyncModule::HostNames(traces).size() > 1) {
      m.push_back(vmtrace::sync::SyncModule::Open(traces, work, fp));
    }
    return m;
  };
}

// Thread name (with its tid, names repeat) -> CPU seconds so far.
std::map<std::string, double> ThreadCpu() {
  std::map<std::string, double> out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(e.path() / "stat");
    std::string line;
    std::getline(in, line);
    const size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string f;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> f; ++i) {
      if (i == 14) utime = std::stod(f);
      if (i == 15) stime = std::stod(f);
    }
    out[line.substr(open + 1, close - open - 1) + "#" +
        e.path().filename().string()] = (utime + stime) / tick;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> dirs;
  std::string work, modules = "all";
  vmtrace::index::IndexOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--trace")
      dirs.push_back(argv[++i]);
    else if (a == "--work")
      work = argv[++i];
    else if (a == "--modules")
      modules = argv[++i];
    else if (a == "--single")
      o.feed.pipelined = false;
    else if (a == "--threads")
      o.feed.threads = std::stoul(argv[++i]);
    else if (a == "--batch")
      o.feed.batch_records = std::stoul(argv[++i]);
    else if (a == "--depth")
      o.feed.queue_depth = std::stoul(argv[++i]);
    else {
      std::fprintf(stderr, "unknown argument %s %s\n", a.c_str(), next);
      return 2;
    }
  }
  if (dirs.empty() || work.empty()) {
    std::fprintf(stderr, "usage: %s --trace DIR --work DIR [...]\n", argv[0]);
    return 2;
  }
  vmtrace::SetLogLevel(vmtrace::LogLevel::kOff);
  std::filesystem::remove_all(work);
  const std::string fp = vmtrace::index::FingerprintTraces(dirs);
  o.modules = Factory(work, fp, modules);
  const auto t0 = std::chrono::steady_clock::now();
  auto idx = vmtrace::index::ExperimentIndex::Open({dirs}, work + "/index", o);
  if (!idx.ok()) {
    std::fprintf(stderr, "%s\n", idx.status().ToString().c_str());
    return 1;
  }
  // CPU time of each thread of the pass (/proc, sampled until it ends:
  // the last 20 ms of a thread may be missed).
  std::map<std::string, double> cpu;
  while (true) {
    for (const auto& [name, sec] : ThreadCpu()) cpu[name] = sec;
    if ((*idx)->Snapshot().state != vmtrace::index::IndexState::kRunning &&
        !(*idx)->Snapshot().analyses_running) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  (*idx)->WaitUntilDone();
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto snap = (*idx)->Snapshot();
  std::printf("%.3f s %llu events %ld MB cpu:", s,
              static_cast<unsigned long long>(snap.nb_events),
              ru.ru_maxrss / 1024);
  for (const auto& [name, sec] : cpu)
    std::printf(" %s=%.2f", name.c_str(), sec);
  std::printf("\n");
  idx->reset();
  std::filesystem::remove_all(work);
  return snap.state == vmtrace::index::IndexState::kCompleted ? 0 : 1;
}
