#include "tsp/outputs/check/check_outputs.h"

#include <mutex>
#include <optional>
#include <utility>

#include "analyses/events/event_decoder.h"
#include "analyses/sync/sync_module.h"

namespace vmtrace::tsp {
namespace {

// The facts from the metadata never change; the report is recomputed
// (cheaply: no I/O) until it is final, then kept.
class CheckSource {
 public:
  // The traces the analyses are fed: a guest trace beside its host is not
  // a host whose recording lacks the KVM events (its own report is the
  // experiment's 'guest trace <name>' property).
  static std::vector<std::shared_ptr<const ctf::Trace>> HostTraces(
      const index::ExperimentIndex& index) {
    std::vector<std::shared_ptr<const ctf::Trace>> out;
    for (size_t i = 0; i < index.ctf_traces().size(); ++i) {
      if (index.fed_to_modules(i)) out.push_back(index.ctf_traces()[i]);
    }
    return out;
  }

  CheckSource(const index::ExperimentIndex* index,
              std::shared_ptr<const vm::GuestTraceReports> guests)
      : index_(index),
        hosts_(check::HostFactsOf(HostTraces(*index))),
        guests_(std::move(guests)) {
    for (size_t i = 0; i < index->ctf_traces().size(); ++i) {
      if (!index->fed_to_modules(i)) {
        guest_names_.push_back(events::HostName(*index->ctf_traces()[i]));
      }
    }
  }

  check::CheckReport Report() const {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (final_) return *final_;
    }
    check::CheckInput in;
    in.hosts = hosts_;
    const index::IndexSnapshot s = index_->Snapshot();
    in.pass_done = s.state != index::IndexState::kRunning;
    const auto& traces = index_->ctf_traces();
    for (const index::DiscardedEvents& d :
         index::DiscardedEventsOf(s.properties)) {
      if (d.ctf_trace >= traces.size()) continue;  // from other traces
      in.lost.push_back({events::HostName(*traces[d.ctf_trace]),
                         traces[d.ctf_trace]->info().path, d.cpu, d.stream,
                         d.count});
    }
    const auto* sync = FindModule<sync::SyncModule>(*index_);
    if (sync) in.clocks = sync->clock_sync();  // null until complete
    std::vector<vm::GuestTraceReport> guest_reports;
    if (guests_) in.guest_traces = guest_names_;
    if (!in.guest_traces.empty() && guests_->done()) {
      guest_reports = guests_->reports();
      in.guest_reports = &guest_reports;
    }
    check::CheckReport r = check::RunCheck(in);
    // A failed or cancelled pass is as final as it gets.
    // The guest traces' job always ends with their reports (guest_traces.h).
    const bool guests_pending =
        !in.guest_traces.empty() && in.guest_reports == nullptr;
    if (!guests_pending && (r.final || (in.pass_done && !s.analyses_running))) {
      std::lock_guard<std::mutex> lock(mu_);
      final_ = r;
    }
    return r;
  }

 private:
  const index::ExperimentIndex* index_;
  const std::vector<check::HostFacts> hosts_;
  const std::shared_ptr<const vm::GuestTraceReports> guests_;  // may be null
  std::vector<std::string> guest_names_;  // traces not fed to the analyses
  mutable std::mutex mu_;
  mutable std::optional<check::CheckReport> final_;  // guarded by mu_
};

TableColumnModel Column(int64_t id, const char* name, const char* what) {
  return {id, name, what, "STRING"};
}

class TraceCheckTable : public TableProvider {
 public:
  explicit TraceCheckTable(std::shared_ptr<const CheckSource> source)
      : source_(std::move(source)) {}

  OutputDescriptor descriptor() const override {
    return {kTraceCheckId, "Trace check",
            "Which analyses can run on these traces and why not, with the "
            "recording command that fixes each gap; lost events; clocks",
            "TABLE"};
  }
  std::vector<TableColumnModel> Columns() const override {
    return {Column(0, "Analysis", "An analysis, lost events or a clock"),
            Column(1, "Host", "The trace's host"),
            Column(2, "Status",
                   "available, partial, unavailable (or ok, warning, "
                   "pending)"),
            Column(3, "Reason", "What is missing and what it costs"),
            Column(4, "Fix", "The recording that would fix it")};
  }
  StatusOr<TableModel> Table() const override {
    const check::CheckReport r = source_->Report();
    TableModel m;
    m.columns = Columns();
    for (const check::CheckLine& l : r.lines) {
      m.rows.push_back({l.analysis, l.host, l.status, l.reason, l.fix});
    }
    m.running = !r.final;
    return m;
  }

 private:
  std::shared_ptr<const CheckSource> source_;
};

class CheckFamily : public OutputFamily {
 public:
  std::vector<std::string> modules() const override { return {}; }
  Status Make(const OutputContext& ctx, OutputSet* out) const override {
    auto source =
        std::make_shared<const CheckSource>(ctx.index, ctx.guest_reports);
    out->Add(std::make_unique<TraceCheckTable>(source));
    out->AddProperties([source] { return source->Report().Properties(); });
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<OutputFamily> CheckOutputs() {
  return std::make_unique<CheckFamily>();
}

}  // namespace vmtrace::tsp
