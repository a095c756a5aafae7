// vmtrace-bench-guest: what guest traces add to an experiment's pass
// (docs/benchmarks.md, "Guest traces"). In alternating rounds, on fresh
// data directories, the same host trace is opened alone and with the guest
// traces of its VMs, through the service as the server does it; a round
// ends when the pass is over and, with guests, once they are mapped onto
// the VMs' CR3s (the background job). Prints each median and the ratio.
//
//   vmtrace-bench-guest --host DIR --guest DIR [--guest DIR ...]
//                       --work DIR [--rounds N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "tsp/service/trace_service.h"

namespace {

using vmtrace::tsp::TraceService;

// Seconds from adding the experiment to the end of its pass (and of the
// guest mapping); -1 on error.
double OpenOnce(const std::string& work, const std::vector<std::string>& dirs,
                std::string* summary) {
  std::filesystem::remove_all(work);
  vmtrace::tsp::ServiceOptions o;
  o.data_dir = work;
  auto service = TraceService::Open(o);
  if (!service.ok()) return -1;
  std::vector<std::string> uuids;
  for (const std::string& d : dirs) {
    vmtrace::tsp::TraceInfo existing;
    auto t = (*service)->AddTrace(
        d, std::filesystem::path(d).filename().string(), &existing);
    if (!t.ok()) return -1;
    uuids.push_back(t->record.uuid);
  }
  const auto t0 = std::chrono::steady_clock::now();
  vmtrace::tsp::ExperimentView existing;
  // The view is dropped at once so that only `exp` holds the experiment
  // and resetting it below closes it.
  auto exp = [&]() -> decltype(vmtrace::tsp::ExperimentView::open) {
    auto v = (*service)->AddExperiment("bench", uuids, &existing);
    if (!v.ok()) return nullptr;
    return v->open;
  }();
  if (!exp) return -1;
  for (;;) {
    const auto s = exp->index->Snapshot();
    if (s.state != vmtrace::index::IndexState::kRunning &&
        !s.analyses_running && exp->guest_reports->done()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  summary->clear();
  for (const auto& r : exp->guest_reports->reports()) {
    *summary += "  " + r.Summary() + "\n";
  }
  *summary += "  events: " + std::to_string(exp->index->Snapshot().nb_events);
  exp.reset();
  existing = {};
  service->reset();
  std::filesystem::remove_all(work);
  return sec;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string host, work;
  std::vector<std::string> guests;
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--host")
      host = argv[i + 1];
    else if (a == "--guest")
      guests.push_back(argv[i + 1]);
    else if (a == "--work")
      work = argv[i + 1];
    else if (a == "--rounds")
      rounds = std::stoi(argv[i + 1]);
  }
  if (host.empty() || guests.empty() || work.empty()) {
    std::fprintf(stderr,
                 "usage: %s --host DIR --guest DIR [--guest DIR ...] --work "
                 "DIR [--rounds N]\n",
                 argv[0]);
    return 2;
  }
  vmtrace::SetLogLevel(vmtrace::LogLevel::kOff);
  std::vector<std::string> with = {host};
  with.insert(with.end(), guests.begin(), guests.end());
  std::vector<double> alone, both;
  std::string s_alone, s_both;
  for (int r = 0; r < rounds; ++r) {
    const double a = OpenOnce(work, {host}, &s_alone);
    const double b = OpenOnce(work, with, &s_both);
    if (a < 0 || b < 0) {
      std::fprintf(stderr, "an experiment could not be opened\n");
      return 1;
    }
    alone.push_back(a);
    both.push_back(b);
    std::printf("round %d: host alone %.3f s, with guest traces %.3f s\n",
                r + 1, a, b);
  }
  const double ma = Median(alone), mb = Median(both);
  std::printf("host alone:\n%s\nwith guest traces:\n%s\n", s_alone.c_str(),
              s_both.c_str());
  std::printf(
      "median of %d: host alone %.3f s, with guest traces %.3f s "
      "(+%.1f%%)\n",
      rounds, ma, mb, 100.0 * (mb - ma) / ma);
  return 0;
}
