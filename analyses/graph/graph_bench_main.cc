// vmtrace-bench-graph: cost of the execution graph in the pass.
//
//   vmtrace-bench-graph DIR...   (CTF trace directories of one experiment)
//
// Reads every event four times in one process: (a) reader only, (b) reader
// + VM model (in-memory state history), (c) reader + VM model + execution
// graph, (d) reader + graph; prints the times, the graph's bytes per event,
// and the critical path time of the guest process that waited longest over
// the whole trace and over a 10-second window. With several hosts, (e)
// reader + clock sync analysis, whose clocks the paths then use; the path
// segments on other hosts and the network hops are counted.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/events/event_decoder.h"
#include "analyses/graph/critical_path.h"
#include "analyses/graph/graph_model.h"
#include "analyses/sync/sync_module.h"
#include "analyses/vm/vm_model.h"
#include "storage/memory_state_history.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace vmtrace;

double Sec(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: vmtrace-bench-graph DIR...\n");
    return 2;
  }
  std::vector<std::shared_ptr<const ctf::Trace>> traces;
  for (int i = 1; i < argc; ++i) {
    auto t = ctf::Trace::Open(argv[i]);
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
      return 1;
    }
    traces.push_back(std::move(t).value());
  }
  uint64_t events = 0;
  double t_read = 0, t_vm = 0, t_graph = 0, t_gonly = 0;
  std::unique_ptr<storage::MemoryStateHistory> h;
  std::unique_ptr<graph::GraphModel> g;
  double t_sync = 0;
  std::unique_ptr<sync::SyncModule> sm;
  const bool hosts = sync::SyncModule::HostNames(traces).size() > 1;
  for (int mode : {0, 1, 2, 3, 4}) {
    if (mode == 4 && !hosts) break;
    auto reader = ctf::EventReader::Open(traces).value();
    auto store = std::make_unique<storage::MemoryStateHistory>();
    std::unique_ptr<vm::VmModel> model;
    std::unique_ptr<graph::GraphModel> gm;
    if (mode == 1 || mode == 2) {
      model = std::make_unique<vm::VmModel>(traces, store.get());
    }
    if (mode == 2 || mode == 3) {
      gm = std::make_unique<graph::GraphModel>(traces);
    }
    std::unique_ptr<sync::SyncModule> sy;
    if (mode == 4) sy = sync::SyncModule::Open(traces, "", "");
    ctf::Event ev;
    events::EventDecoder decoder(traces);
    events::TypedEvent rec;
    int64_t last = 0;
    uint64_t n = 0;
    const auto t0 = Clock::now();
    while (reader->Next(&ev)) {
      // Decoded once, as the pass does (mode 0 measures read + decode).
      decoder.Decode(ev, &rec);
      if (model) model->OnEvent(rec);
      if (gm) gm->OnEvent(rec);
      if (sy) sy->OnEvent(rec);
      last = ev.timestamp;
      ++n;
    }
    if (model) (void)model->Finish(last);
    if (gm) gm->Finish(last);
    if (sy) (void)sy->Finish(last);
    const double s = Sec(t0, Clock::now());
    (mode == 0   ? t_read
     : mode == 1 ? t_vm
     : mode == 2 ? t_graph
     : mode == 3 ? t_gonly
                 : t_sync) = s;
    if (sy) sm = std::move(sy);
    events = n;
    if (mode == 2) {
      h = std::move(store);
      g = std::move(gm);
    }
  }
  const graph::ExecGraph& eg = g->graph();
  std::printf("events %llu\n", static_cast<unsigned long long>(events));
  std::printf("read only       %.2f s\n", t_read);
  std::printf("read + VM       %.2f s\n", t_vm);
  std::printf("read + VM + graph %.2f s (graph +%.2f s, +%.1f%%)\n", t_graph,
              t_graph - t_vm, 100.0 * (t_graph - t_vm) / t_vm);
  std::printf("read + graph    %.2f s (graph alone +%.2f s over reading)\n",
              t_gonly, t_gonly - t_read);
  std::printf("graph memory    %zu bytes, %.2f bytes/event\n", eg.MemoryBytes(),
              double(eg.MemoryBytes()) / double(events));
  const sync::ClockSync* clocks = sm ? sm->clock_sync() : nullptr;
  if (sm) {
    std::printf("read + sync     %.2f s (sync +%.2f s over reading)\n", t_sync,
                t_sync - t_read);
    for (const auto& hc : clocks->hosts()) {
      std::printf("clock %s: offset %.0f ns, slope %.9f, +-%.0f ns, %s\n",
                  hc.host.c_str(), hc.offset_ns, hc.slope, hc.accuracy_ns,
                  hc.quality.c_str());
    }
  }
  // The guest worker with the most wake-ups stands in for "waited longest".
  const graph::GuestKey* best = nullptr;
  size_t most = 0;
  for (const auto& [k, w] : eg.guests) {
    if (w.wakes.size() > most) {
      most = w.wakes.size();
      best = &k;
    }
  }
  if (best != nullptr) {
    graph::WorkerId w{graph::WorkerId::kGuest, best->host, best->pid, 0,
                      best->cr3};
    for (int64_t span : {int64_t{10'000'000'000}, eg.end - eg.begin + 1}) {
      const auto t0 = Clock::now();
      auto cp = graph::ComputeCriticalPath(
          eg, h.get(), w, eg.begin, std::min(eg.end + 1, eg.begin + span),
          {clocks});
      const double took = Sec(t0, Clock::now());
      size_t remote = 0, hops = 0;
      if (cp.ok()) {
        for (const auto& s : cp->segments) {
          if (s.worker.kind == graph::WorkerId::kNetwork) {
            ++hops;
          } else if (s.worker.host != w.host) {
            ++remote;
          }
        }
      }
      std::printf(
          "critical path %s over %.1f s: %.3f s, %zu segments (%zu on other "
          "hosts, %zu network hops)%s\n",
          graph::WorkerLabel(eg, w).c_str(), double(span) / 1e9, took,
          cp.ok() ? cp->segments.size() : 0, remote, hops,
          cp.ok() ? "" : " (error)");
    }
  }
  return 0;
}
