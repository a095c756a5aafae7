// vmtrace-bench-vm: the figures of the VM analyses (issue 5), each beside
// its baseline from the same run.
//
//   vmtrace-bench-vm --trace DIR [--reps N] [--work DIR]
//
// 1. Full pass (index + kernel model + VM model, their stores) vs the same
//    pass without the VM model, alternating, in child processes (median);
//    and the server's full pass, with the execution graph (issue 6; and
//    the clock sync analysis for several hosts) vs the pass without it.
// 2. Virtual CPUs states query, every vCPU row (nested ones included) x
//    2,000 samples, in process (median), beside Thread Status on the same
//    number of rows.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "analyses/graph/graph_module.h"
#include "analyses/kernel/kernel_module.h"
#include "analyses/sync/sync_module.h"
#include "analyses/vm/vm_module.h"
#include "base/log.h"
#include "tsp/outputs/kernel/kernel_providers.h"
#include "tsp/outputs/vm/vm_providers.h"
#include "tsp/service/trace_service.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using ModuleList = std::vector<std::unique_ptr<vmtrace::index::AnalysisModule>>;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Run {
  double ms = 0;
  long rss_kb = 0;
  uint64_t events = 0;
};

// The pass in a forked child with fresh stores.
// level 0: index + kernel; 1: + VM; 2: + VM + graph (+ sync, several hosts).
Run Pass(const std::vector<std::string>& dirs, const std::string& work,
         int level) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    fs::remove_all(work);
    vmtrace::index::IndexOptions o;
    std::string fp = vmtrace::index::FingerprintTraces(dirs);
    o.modules = [work, fp,
                 level](const auto& traces) -> vmtrace::StatusOr<ModuleList> {
      ModuleList m;
      auto k =
          vmtrace::kernel::KernelModule::Open(traces, work + "/kernel", fp);
      if (!k.ok()) return k.status();
      m.push_back(std::move(k).value());
      if (level >= 1) {
        auto v = vmtrace::vm::VmModule::Open(traces, work + "/vm", fp);
        if (!v.ok()) return v.status();
        m.push_back(std::move(v).value());
      }
      if (level >= 2) {
        m.push_back(vmtrace::graph::GraphModule::Open(traces, work, fp));
        if (vmtrace::sync::SyncModule::HostNames(traces).size() > 1) {
          m.push_back(vmtrace::sync::SyncModule::Open(traces, work, fp));
        }
      }
      return m;
    };
    auto idx =
        vmtrace::index::ExperimentIndex::Open({dirs}, work + "/index", o);
    if (!idx.ok()) _exit(1);
    (*idx)->WaitUntilDone();
    uint64_t n = (*idx)->Snapshot().nb_events;
    if (write(fds[1], &n, sizeof n) != sizeof n) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  uint64_t n = 0;
  if (read(fds[0], &n, sizeof n) != sizeof n) n = 0;
  close(fds[0]);
  int status;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  return {Ms(t0, Clock::now()), ru.ru_maxrss, n};
}

const vmtrace::tsp::TimeGraphProvider* Find(const vmtrace::tsp::Experiment& e,
                                            const char* id) {
  for (const auto& p : e.time_graphs) {
    if (p->descriptor().id == id) return p.get();
  }
  return nullptr;
}

std::vector<int64_t> Samples(int64_t s, int64_t e, int n) {
  std::vector<int64_t> t;
  for (int i = 0; i < n; ++i) t.push_back(s + (e - s) / (n - 1) * i);
  t.back() = e;
  return t;
}

// Rows with data of `tg` (at most `limit`) x 2,000 samples, median of reps.
double StatesQuery(const vmtrace::tsp::TimeGraphProvider* tg,
                   const vmtrace::index::ExperimentIndex& idx, size_t limit,
                   int reps, size_t* rows, size_t* states) {
  auto snap = idx.Snapshot();
  auto tree = tg->Tree(snap.start, snap.end).value();
  std::vector<int64_t> ids;
  for (const auto& e : tree.entries) {
    if (e.has_data && ids.size() < limit) ids.push_back(e.id);
  }
  *rows = ids.size();
  auto times = Samples(snap.start, snap.end, 2000);
  std::vector<double> v;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    auto r = tg->States(times, ids).value();
    v.push_back(Ms(t0, Clock::now()));
    *states = 0;
    for (const auto& row : r.rows) *states += row.states.size();
  }
  return Median(v);
}

}  // namespace

int main(int argc, char** argv) {
  std::string trace, work = "/tmp/vmtrace-bench-vm";
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--trace")
      trace = argv[i + 1];
    else if (a == "--reps")
      reps = std::max(1, atoi(argv[i + 1]));
    else if (a == "--work")
      work = argv[i + 1];
  }
  if (trace.empty()) {
    fprintf(stderr, "usage: vmtrace-bench-vm --trace DIR [--reps N]\n");
    return 2;
  }
  vmtrace::SetLogLevel(vmtrace::LogLevel::kWarning);
  fs::create_directories(work);
  auto dirs = vmtrace::ctf::FindTraces(trace).value();

  std::vector<double> with, without, graph;
  long rss_with = 0, rss_without = 0, rss_graph = 0;
  uint64_t n = 0;
  for (int i = 0; i < reps; ++i) {
    Run a = Pass(dirs, work + "/p", 0);
    Run b = Pass(dirs, work + "/p", 1);
    Run c = Pass(dirs, work + "/p", 2);
    without.push_back(a.ms);
    with.push_back(b.ms);
    graph.push_back(c.ms);
    rss_without = std::max(rss_without, a.rss_kb);
    rss_with = std::max(rss_with, b.rss_kb);
    rss_graph = std::max(rss_graph, c.rss_kb);
    n = b.events;
  }
  printf("## Full pass on `%s` (%llu events, median of %d, alternating)\n\n",
         fs::path(trace).filename().c_str(), (unsigned long long)n, reps);
  printf("| pass | median s | events/s | peak RSS MB |\n|---|---|---|---|\n");
  printf(
      "| index + kernel + VM models + execution graph | %.3f | %.0f | %.1f |\n",
      Median(graph) / 1000, n / (Median(graph) / 1000), rss_graph / 1024.0);
  printf("| index + kernel + VM models | %.3f | %.0f | %.1f |\n",
         Median(with) / 1000, n / (Median(with) / 1000), rss_with / 1024.0);
  printf("| index + kernel model | %.3f | %.0f | %.1f |\n",
         Median(without) / 1000, n / (Median(without) / 1000),
         rss_without / 1024.0);
  printf("\nVM analyses add %.1f%% (target <= 25%%)\n",
         100.0 * (Median(with) / Median(without) - 1));
  printf("The execution graph adds %.1f%% to the pass with the VM models\n\n",
         100.0 * (Median(graph) / Median(with) - 1));

  // States queries through the server's providers.
  vmtrace::tsp::ServiceOptions so;
  so.data_dir = work + "/server";
  fs::remove_all(so.data_dir);
  auto svc = vmtrace::tsp::TraceService::Open(so).value();
  auto t = svc->AddTrace(trace, std::nullopt, nullptr).value();
  auto e = svc->AddExperiment(t.record.name, {t.record.uuid}, nullptr).value();
  e.open->index->WaitUntilDone();
  size_t rows = 0, states = 0, trows = 0, tstates = 0;
  double vcpus = StatesQuery(Find(*e.open, vmtrace::tsp::kVirtualCpusId),
                             *e.open->index, SIZE_MAX, 15, &rows, &states);
  double threads = StatesQuery(Find(*e.open, vmtrace::tsp::kThreadStatusId),
                               *e.open->index, rows, 15, &trows, &tstates);
  printf("## States queries, 2,000 samples, median of 15\n\n");
  printf("| output | rows | states | median ms |\n|---|---|---|---|\n");
  printf("| Virtual CPUs (all vCPUs) | %zu | %zu | %.2f |\n", rows, states,
         vcpus);
  printf("| Thread Status (same row count) | %zu | %zu | %.2f |\n", trows,
         tstates, threads);
  printf("\nVirtual CPUs median %.2f ms (target < 40 ms)\n", vcpus);
  return 0;
}
