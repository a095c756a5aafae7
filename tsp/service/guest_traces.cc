#include "tsp/service/guest_traces.h"

#include <chrono>

#include "analyses/guest/guest_map.h"
#include "analyses/guest/host_view.h"
#include "analyses/vm/vm_module.h"
#include "base/log.h"

namespace vmtrace::tsp {

namespace {

void Run(std::stop_token stop, index::ExperimentIndex* index,
         const std::vector<std::string>& dirs,
         const std::shared_ptr<vm::GuestNamesSource>& names,
         const std::shared_ptr<vm::GuestTraceReports>& out) {
  // The mapping reads the complete VM store: wait for the pass (polling,
  // so that closing the experiment stops the wait).
  for (;;) {
    if (stop.stop_requested()) return;
    const index::IndexSnapshot s = index->Snapshot();
    if (s.state == index::IndexState::kFailed ||
        s.state == index::IndexState::kCancelled) {
      // Said, so that the trace check does not wait for them forever.
      std::vector<vm::GuestTraceReport> reports;
      for (const std::string& d : dirs) {
        vm::GuestTraceReport r;
        r.trace = d;
        r.path = d;
        r.reason = "not mapped: the pass did not complete";
        reports.push_back(std::move(r));
      }
      out->Set(std::move(reports));
      return;
    }
    if (s.state == index::IndexState::kCompleted && !s.analyses_running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::vector<vm::GuestTraceReport> reports;
  std::vector<guest::GuestTrace> guests;
  for (const std::string& d : dirs) {
    auto g = guest::ReadGuestTrace(d);
    if (g.ok()) {
      guests.push_back(std::move(g).value());
      continue;
    }
    vm::GuestTraceReport r;
    r.trace = d;
    r.path = d;
    r.reason = "cannot be read: " + g.status().message();
    reports.push_back(std::move(r));
  }
  guest::HostView host;
  for (const auto& m : index->modules()) {
    if (const auto* v = dynamic_cast<const vm::VmModule*>(m.get())) {
      auto h = guest::HostViewFromStore(v->history());
      if (h.ok()) host = std::move(h).value();
    }
  }
  if (stop.stop_requested()) return;
  guest::GuestMapping m = guest::MapGuestTraces(host, guests);
  names->SetTraced(std::move(m.names));
  for (auto& r : m.reports) reports.push_back(std::move(r));
  // The reports first: whoever sees the properties sees the trace check's
  // lines about them too.
  out->Set(reports);
  for (const auto& r : reports) {
    index->SetProperty("guest trace " + r.trace, r.Summary());
  }
  VMTRACE_LOG(kInfo, "%zu guest trace(s) mapped", reports.size());
}

}  // namespace

std::jthread StartGuestTraces(index::ExperimentIndex* index,
                              std::shared_ptr<vm::GuestNamesSource> names,
                              std::shared_ptr<vm::GuestTraceReports> reports) {
  std::vector<std::string> dirs;
  const auto& traces = index->ctf_traces();
  for (size_t i = 0; i < traces.size(); ++i) {
    if (!index->fed_to_modules(i)) dirs.push_back(traces[i]->info().path);
  }
  if (dirs.empty()) {
    reports->Set({});
    return {};
  }
  return std::jthread([index, dirs, names, reports](std::stop_token st) {
    pthread_setname_np(pthread_self(), "vmt-guests");
    Run(st, index, dirs, names, reports);
  });
}

}  // namespace vmtrace::tsp
