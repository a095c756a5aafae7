// vmtrace-bench: measures the foundation's figures on one trace and prints
// them as Markdown, each beside its baseline from the same run.
//
//   vmtrace-bench --trace DIR [--reps N] [--work DIR]
//
// 1. Indexing throughput: our full pass (decode + checkpoints into LevelDB)
//    in a child process (so its peak RSS is its own), against
//    `babeltrace2 run` src.ctf.fs -> muxer -> sink.utils.dummy.
// 2. Table pages of 100 lines at rank 0, the middle and the last page,
//    over HTTP on loopback (median of N), after the index is built.
// 3. Histogram of 1,000 samples over the whole trace, over HTTP.
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

#include "analyses/index/experiment_index.h"
#include "base/log.h"
#include "tsp/http/api.h"
#include "tsp/http/http_server.h"
#include "tsp/routes/routes.h"
#include "tsp/service/trace_service.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct ChildResult {
  double seconds = 0;
  long max_rss_kb = 0;
  int status = -1;
};

// Runs `argv` as a child; wall time and its own peak RSS.
ChildResult Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  ChildResult r;
  pid_t pid;
  auto t0 = Clock::now();
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    return r;
  }
  rusage ru{};
  wait4(pid, &r.status, 0, &ru);
  r.seconds = Seconds(t0, Clock::now());
  r.max_rss_kb = ru.ru_maxrss;
  posix_spawn_file_actions_destroy(&fa);
  return r;
}

// Our pass in a forked child: open, index into a fresh store, wait.
ChildResult IndexInChild(const std::string& trace, const std::string& store,
                         uint64_t* nb_events) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::filesystem::remove_all(store);
    auto dirs = vmtrace::ctf::FindTraces(trace);
    auto idx = vmtrace::index::ExperimentIndex::Open({dirs.value()}, store, {});
    if (!idx.ok()) _exit(1);
    (*idx)->WaitUntilDone();
    uint64_t n = (*idx)->Snapshot().nb_events;
    if (write(fds[1], &n, sizeof n) != sizeof n) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  ChildResult r;
  if (read(fds[0], nb_events, sizeof *nb_events) != sizeof *nb_events) {
    *nb_events = 0;
  }
  close(fds[0]);
  rusage ru{};
  wait4(pid, &r.status, 0, &ru);
  r.seconds = Seconds(t0, Clock::now());
  r.max_rss_kb = ru.ru_maxrss;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string trace, work = "/tmp/vmtrace-bench";
  int reps = 5;
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
    fprintf(stderr,
            "usage: vmtrace-bench --trace DIR [--reps N] [--work DIR]\n");
    return 2;
  }
  vmtrace::SetLogLevel(vmtrace::LogLevel::kWarning);
  std::filesystem::create_directories(work);
  auto dirs = vmtrace::ctf::FindTraces(trace);
  if (!dirs.ok()) {
    fprintf(stderr, "%s\n", dirs.status().ToString().c_str());
    return 1;
  }

  // --- 1. indexing vs babeltrace2, interleaved so drift hits both ---
  std::string inputs = "inputs=[";
  for (size_t i = 0; i < dirs->size(); ++i) {
    inputs += (i ? ",\"" : "\"") + (*dirs)[i] + "\"";
  }
  inputs += "]";
  std::vector<double> ours, theirs;
  long ours_rss = 0, theirs_rss = 0;
  uint64_t nb = 0;
  for (int r = 0; r < reps; ++r) {
    ChildResult b =
        Spawn({"babeltrace2", "run", "--component=src:src.ctf.fs",
               "--params=" + inputs, "--component=m:filter.utils.muxer",
               "--component=sink:sink.utils.dummy", "--connect=src:m",
               "--connect=m:sink"});
    theirs.push_back(b.seconds);
    theirs_rss = std::max(theirs_rss, b.max_rss_kb);
    ChildResult o = IndexInChild(trace, work + "/index", &nb);
    ours.push_back(o.seconds);
    ours_rss = std::max(ours_rss, o.max_rss_kb);
  }
  double ours_eps = nb / Median(ours), theirs_eps = nb / Median(theirs);
  printf("## Indexing `%s` (%llu events, median of %d runs)\n\n", trace.c_str(),
         (unsigned long long)nb, reps);
  printf("| pass | median s | events/s | peak RSS MB |\n|---|---|---|---|\n");
  printf(
      "| vmtrace index (decode + checkpoints + LevelDB) | %.3f | %.0f | %.1f "
      "|\n",
      Median(ours), ours_eps, ours_rss / 1024.0);
  printf("| babeltrace2 src.ctf.fs -> muxer -> dummy | %.3f | %.0f | %.1f |\n",
         Median(theirs), theirs_eps, theirs_rss / 1024.0);
  printf("\nRatio (ours / babeltrace2, events/s): **%.2fx**\n\n",
         ours_eps / theirs_eps);

  // --- 2./3. pages and histogram over HTTP on a built index ---
  std::filesystem::remove_all(work + "/data");
  vmtrace::tsp::ServiceOptions so;
  so.data_dir = work + "/data";
  auto svc = vmtrace::tsp::TraceService::Open(so).value();
  auto t = svc->AddTrace(trace, std::nullopt, nullptr).value();
  auto e = svc->AddExperiment(t.record.name, {t.record.uuid}, nullptr).value();
  e.open->index->WaitUntilDone();
  const uint64_t n = e.open->index->Snapshot().nb_events;
  vmtrace::tsp::HttpOptions ho;
  ho.port = 0;
  vmtrace::tsp::HttpServer server(vmtrace::tsp::BuildRoutes(svc.get(), {}), ho);
  int port = server.Bind().value();
  std::thread serving([&server] { server.Serve(); });
  httplib::Client cli("127.0.0.1", port);
  cli.set_tcp_nodelay(true);
  const std::string base =
      "/tsp/api/experiments/" + e.record.uuid + "/outputs/";
  const std::string table =
      base +
      "table/org.eclipse.tracecompass.internal.provisional.tmf.core.model."
      "events.TmfEventTableDataProvider/lines";
  auto timed_post = [&cli](const std::string& path, const std::string& body,
                           int times) {
    std::vector<double> v;
    for (int i = 0; i < times; ++i) {
      auto t0 = Clock::now();
      auto res = cli.Post(path, body, "application/json");
      v.push_back(Seconds(t0, Clock::now()) * 1000);
      if (!res || res->status != 200) return std::vector<double>{-1};
    }
    return v;
  };
  printf("## Table pages of 100 lines over HTTP (%d requests each)\n\n",
         reps * 4);
  printf("| page | median ms | max ms |\n|---|---|---|\n");
  for (auto [label, rank] : std::vector<std::pair<const char*, uint64_t>>{
           {"rank 0", 0},
           {"middle", n / 2},
           {"last page", n > 100 ? n - 100 : 0}}) {
    std::string body =
        "{\"parameters\":{\"requested_table_index\":" + std::to_string(rank) +
        ",\"requested_table_count\":100}}";
    auto v = timed_post(table, body, reps * 4);
    printf("| %s (%llu) | %.2f | %.2f |\n", label, (unsigned long long)rank,
           Median(v), *std::max_element(v.begin(), v.end()));
  }
  // Baseline for a page: decoding the whole trace from the start, i.e. what
  // a reader without checkpoints pays for the last page.
  {
    std::vector<double> v;
    for (int i = 0; i < reps; ++i) {
      auto t0 = Clock::now();
      auto reader = e.open->index->ReaderAt(0).value();
      vmtrace::ctf::Event ev;
      while (reader->Next(&ev)) {
      }
      v.push_back(Seconds(t0, Clock::now()) * 1000);
    }
    printf(
        "| baseline: decode from rank 0 to the end (no checkpoints) | %.2f | - "
        "|\n\n",
        Median(v));
  }
  auto snap = e.open->index->Snapshot();
  std::string hbody = "{\"parameters\":{\"requested_timerange\":{\"start\":" +
                      std::to_string(snap.start) +
                      ",\"end\":" + std::to_string(snap.end) +
                      ",\"nbTimes\":1000},\"requested_items\":[1]}}";
  auto hv = timed_post(base +
                           "XY/org.eclipse.tracecompass.internal.tmf.core."
                           "histogram.HistogramDataProvider/xy",
                       hbody, reps * 2);
  printf("## Histogram, 1,000 samples over the whole trace, over HTTP\n\n");
  printf("median %.2f ms (max %.2f ms)\n\n", Median(hv),
         *std::max_element(hv.begin(), hv.end()));
  printf(
      "Index store size: %.2f MB for a %.2f MB trace\n",
      e.open->index->store().ApproximateSize() / 1e6, [&] {
        uint64_t s = 0;
        for (auto& f : std::filesystem::recursive_directory_iterator(trace)) {
          if (f.is_regular_file()) s += f.file_size();
        }
        return s / 1e6;
      }());
  server.Stop();
  serving.join();
  return 0;
}
