// vmtrace-bench-kernel: the figures of the state store and kernel model
// (issue 4), each beside its baseline from the same run.
//
//   vmtrace-bench-kernel --trace DIR [--trace2 DIR] [--reps N] [--work DIR]
//
// 1. Full pass (index + kernel model + state store) vs the index-only pass
//    and vs `babeltrace2 run` (muxer -> dummy) on DIR, in child processes
//    (peak RSS of each), plus store size vs trace size.
// 2. Thread Status states query, 100 threads x 2,000 samples (median), in
//    process, on DIR and (with --trace2, a larger trace) on DIR2: the ratio.
// 3. One states reply of ~116,000 states end to end over HTTP (median).
#include <httplib.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "analyses/kernel/kernel_module.h"
#include "base/log.h"
#include "tsp/http/api.h"
#include "tsp/http/http_server.h"
#include "tsp/outputs/kernel/kernel_providers.h"
#include "tsp/routes/routes.h"
#include "tsp/service/trace_service.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
uint64_t DirBytes(const std::string& d) {
  uint64_t s = 0;
  for (auto& f : fs::recursive_directory_iterator(d)) {
    if (f.is_regular_file()) s += f.file_size();
  }
  return s;
}

struct Run {
  double ms = 0;
  long rss_kb = 0;
  uint64_t events = 0;
};

Run Babeltrace(const std::vector<std::string>& dirs) {
  std::string inputs = "--params=inputs=[";
  for (size_t i = 0; i < dirs.size(); ++i) {
    inputs += (i ? ",\"" : "\"") + dirs[i] + "\"";
  }
  inputs += "]";
  std::vector<std::string> args = {"babeltrace2",
                                   "run",
                                   "--component=src:src.ctf.fs",
                                   inputs,
                                   "--component=m:filter.utils.muxer",
                                   "--component=sink:sink.utils.dummy",
                                   "--connect=src:m",
                                   "--connect=m:sink"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  Run r;
  pid_t pid;
  auto t0 = Clock::now();
  if (posix_spawnp(&pid, "babeltrace2", &fa, nullptr, argv.data(), environ)) {
    return r;
  }
  int status;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  r.ms = Ms(t0, Clock::now());
  r.rss_kb = ru.ru_maxrss;
  posix_spawn_file_actions_destroy(&fa);
  return r;
}

// The pass in a forked child with a fresh store; kernel model optional.
Run Pass(const std::vector<std::string>& dirs, const std::string& work,
         bool with_kernel, uint64_t* store_bytes) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    fs::remove_all(work);
    vmtrace::index::IndexOptions o;
    std::string fp = vmtrace::index::FingerprintTraces(dirs);
    if (with_kernel) {
      o.modules = [work, fp](const auto& traces)
          -> vmtrace::StatusOr<
              std::vector<std::unique_ptr<vmtrace::index::AnalysisModule>>> {
        std::vector<std::unique_ptr<vmtrace::index::AnalysisModule>> m;
        auto k =
            vmtrace::kernel::KernelModule::Open(traces, work + "/kernel", fp);
        if (!k.ok()) return k.status();
        m.push_back(std::move(k).value());
        return m;
      };
    }
    auto idx =
        vmtrace::index::ExperimentIndex::Open({dirs}, work + "/index", o);
    if (!idx.ok()) _exit(1);
    (*idx)->WaitUntilDone();
    uint64_t out[2] = {(*idx)->Snapshot().nb_events, DirBytes(work)};
    if (write(fds[1], out, sizeof out) != sizeof out) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  uint64_t in[2] = {0, 0};
  if (read(fds[0], in, sizeof in) != sizeof in) in[0] = 0;
  close(fds[0]);
  int status;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  Run r;
  r.ms = Ms(t0, Clock::now());
  r.rss_kb = ru.ru_maxrss;
  r.events = in[0];
  if (store_bytes) *store_bytes = in[1];
  return r;
}

struct Opened {
  std::unique_ptr<vmtrace::tsp::TraceService> svc;
  std::shared_ptr<vmtrace::tsp::Experiment> exp;
};

Opened Open(const std::string& trace, const std::string& data) {
  vmtrace::tsp::ServiceOptions so;
  so.data_dir = data;
  Opened o;
  o.svc = vmtrace::tsp::TraceService::Open(so).value();
  auto t = o.svc->AddTrace(trace, std::nullopt, nullptr).value();
  auto e =
      o.svc->AddExperiment(t.record.name, {t.record.uuid}, nullptr).value();
  e.open->index->WaitUntilDone();
  o.exp = e.open;
  return o;
}

const vmtrace::tsp::TimeGraphProvider* ThreadStatus(const Opened& o) {
  for (const auto& p : o.exp->time_graphs) {
    if (p->descriptor().id == vmtrace::tsp::kThreadStatusId) return p.get();
  }
  return nullptr;
}

std::vector<int64_t> Samples(int64_t s, int64_t e, int n) {
  std::vector<int64_t> t;
  for (int i = 0; i < n; ++i) t.push_back(s + (e - s) / (n - 1) * i);
  t.back() = e;
  return t;
}

// 100 threads (those with the most data first would bias; take the first
// 100 thread rows of the tree) x 2,000 samples, median of `reps`.
double StatesQuery(const Opened& o, int reps, size_t* states) {
  auto* tg = ThreadStatus(o);
  auto snap = o.exp->index->Snapshot();
  auto tree = tg->Tree(snap.start, snap.end).value();
  std::vector<int64_t> ids;
  for (const auto& e : tree.entries) {
    if (e.has_data && ids.size() < 100) ids.push_back(e.id);
  }
  auto times = Samples(snap.start, snap.end, 2000);
  std::vector<double> v;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    auto rows = tg->States(times, ids).value();
    v.push_back(Ms(t0, Clock::now()));
    *states = 0;
    for (const auto& r : rows.rows) *states += r.states.size();
  }
  return Median(v);
}

}  // namespace

int main(int argc, char** argv) {
  std::string trace, trace2, work = "/tmp/vmtrace-bench-kernel";
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--trace")
      trace = argv[i + 1];
    else if (a == "--trace2")
      trace2 = argv[i + 1];
    else if (a == "--reps")
      reps = std::max(1, atoi(argv[i + 1]));
    else if (a == "--work")
      work = argv[i + 1];
  }
  if (trace.empty()) {
    fprintf(stderr, "usage: vmtrace-bench-kernel --trace DIR [--trace2 DIR]\n");
    return 2;
  }
  vmtrace::SetLogLevel(vmtrace::LogLevel::kWarning);
  fs::create_directories(work);

  for (const std::string& t : {trace, trace2}) {
    if (t.empty()) continue;
    auto dirs = vmtrace::ctf::FindTraces(t).value();
    std::vector<double> bt, idx, full;
    long bt_rss = 0, idx_rss = 0, full_rss = 0;
    uint64_t n = 0, store = 0;
    int r = t == trace ? reps : std::max(1, reps / 2);
    for (int i = 0; i < r; ++i) {
      Run b = Babeltrace(dirs);
      Run x = Pass(dirs, work + "/p", false, nullptr);
      Run f = Pass(dirs, work + "/p", true, &store);
      bt.push_back(b.ms);
      idx.push_back(x.ms);
      full.push_back(f.ms);
      bt_rss = std::max(bt_rss, b.rss_kb);
      idx_rss = std::max(idx_rss, x.rss_kb);
      full_rss = std::max(full_rss, f.rss_kb);
      n = f.events;
    }
    uint64_t tbytes = DirBytes(t);
    printf("## Full pass on `%s` (%llu events, %.1f MB, median of %d)\n\n",
           fs::path(t).filename().c_str(), (unsigned long long)n, tbytes / 1e6,
           r);
    printf("| pass | median s | events/s | peak RSS MB |\n|---|---|---|---|\n");
    auto row = [n](const char* name, double ms, long rss) {
      printf("| %s | %.3f | %.0f | %.1f |\n", name, ms / 1000, n / (ms / 1000),
             rss / 1024.0);
    };
    row("index + kernel model + state store", Median(full), full_rss);
    row("index only", Median(idx), idx_rss);
    row("babeltrace2 src.ctf.fs -> muxer -> dummy", Median(bt), bt_rss);
    printf(
        "\nFull pass / babeltrace2 (events/s): **%.2fx**; stores on disk: "
        "%.2f MB = %.2f of the trace's size\n\n",
        Median(bt) / Median(full), store / 1e6, double(store) / tbytes);
  }

  // States queries.
  fs::remove_all(work + "/d1");
  Opened a = Open(trace, work + "/d1");
  size_t sa = 0;
  double qa = StatesQuery(a, reps * 4, &sa);
  printf(
      "## Thread Status states, 100 threads x 2,000 samples (in process, "
      "median of %d)\n\n| trace | median ms | states |\n|---|---|---|\n",
      reps * 4);
  printf("| %s | %.2f | %zu |\n", fs::path(trace).filename().c_str(), qa, sa);
  if (!trace2.empty()) {
    fs::remove_all(work + "/d2");
    Opened b = Open(trace2, work + "/d2");
    size_t sb = 0;
    double qb = StatesQuery(b, reps * 4, &sb);
    printf("| %s | %.2f | %zu |\n", fs::path(trace2).filename().c_str(), qb,
           sb);
    printf("\nRatio (second / first): **%.2f**\n", qb / qa);
  }
  printf("\n");

  // ~116,000 states over HTTP: all thread rows x enough samples.
  {
    auto* tg = ThreadStatus(a);
    auto snap = a.exp->index->Snapshot();
    auto tree = tg->Tree(snap.start, snap.end).value();
    std::vector<int64_t> ids;
    for (const auto& e : tree.entries) {
      if (e.has_data) ids.push_back(e.id);
    }
    int nb = 2000;
    size_t states = 0;
    for (int iter = 0; iter < 12; ++iter) {
      auto rows = tg->States(Samples(snap.start, snap.end, nb), ids).value();
      states = 0;
      for (const auto& r : rows.rows) states += r.states.size();
      if (states >= 110000 || nb >= 65536) break;
      nb = std::min<int>(65536,
                         int(nb * std::max(1.2, 116000.0 / (states + 1))));
    }
    std::vector<double> inproc;
    auto big_times = Samples(snap.start, snap.end, nb);
    for (int i = 0; i < reps * 2; ++i) {
      auto t0 = Clock::now();
      auto rows = tg->States(big_times, ids);
      inproc.push_back(Ms(t0, Clock::now()));
    }
    vmtrace::tsp::HttpOptions ho;
    ho.port = 0;
    vmtrace::tsp::HttpServer server(vmtrace::tsp::BuildRoutes(a.svc.get(), {}),
                                    ho);
    int port = server.Bind().value();
    std::thread serving([&server] { server.Serve(); });
    httplib::Client cli("127.0.0.1", port);
    cli.set_tcp_nodelay(true);
    nlohmann::json body{
        {"parameters",
         {{"requested_timerange",
           {{"start", snap.start}, {"end", snap.end}, {"nbTimes", nb}}},
          {"requested_items", ids}}}};
    std::string path = "/tsp/api/experiments/" + a.exp->record.uuid +
                       "/outputs/timeGraph/" + vmtrace::tsp::kThreadStatusId +
                       "/states";
    std::vector<double> plain, gz;
    size_t bytes = 0;
    for (int i = 0; i < reps * 2; ++i) {
      auto t0 = Clock::now();
      auto res = cli.Post(path, body.dump(), "application/json");
      plain.push_back(Ms(t0, Clock::now()));
      if (res) bytes = res->body.size();
    }
    httplib::Headers h = {{"Accept-Encoding", "gzip"}};
    for (int i = 0; i < reps * 2; ++i) {
      auto t0 = Clock::now();
      auto res = cli.Post(path, h, body.dump(), "application/json");
      gz.push_back(Ms(t0, Clock::now()));
    }
    printf(
        "## One states reply over HTTP: %zu states, %zu rows x %d samples, "
        "%.1f MB of JSON\n\n| | median ms |\n|---|---|\n| identity | %.1f |\n"
        "| gzip (client decodes) | %.1f |\n| provider only, in process (no "
        "JSON, no HTTP) | %.1f |\n\nReference: the Java trace "
        "server took a 1,346 ms median for about this size (tsp.md, "
        "anchors.md).\n",
        states, ids.size(), nb, bytes / 1e6, Median(plain), Median(gz),
        Median(inproc));
    server.Stop();
    serving.join();
  }
  return 0;
}
