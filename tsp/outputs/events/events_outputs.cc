#include "tsp/outputs/events/events_outputs.h"

#include <utility>

#include "analyses/index/events_table.h"
#include "analyses/index/histogram.h"

namespace vmtrace::tsp {
namespace {

bool Running(const index::ExperimentIndex& index) {
  return index.Snapshot().state == index::IndexState::kRunning;
}

class EventsTableProvider : public TableProvider {
 public:
  EventsTableProvider(const index::ExperimentIndex* index,
                      std::vector<std::string> trace_names,
                      std::shared_ptr<const ViewClock> clock)
      : table_(index, std::move(trace_names)) {
    if (clock->multi_host()) {
      table_.SetViewTime([clock](uint32_t trace, int64_t ts) {
        return clock->ToView(clock->HostOfCtfTrace(trace), ts);
      });
    }
  }

  OutputDescriptor descriptor() const override {
    return {kEventsTableId, "Events Table",
            "Every event of the experiment with its time, type, CPU, thread "
            "and payload",
            "TABLE"};
  }
  std::vector<TableColumnModel> Columns() const override {
    std::vector<TableColumnModel> out;
    for (const auto& c : table_.columns()) {
      out.push_back({c.id, c.name, c.description, c.type});
    }
    return out;
  }
  // Paged by the index: never computed whole. Its lines are COMPLETED
  // while the index grows (the reference server's answer).
  StatusOr<TableLinesModel> Lines(const index::TableQuery& q) const override {
    VMTRACE_ASSIGN_OR_RETURN(index::TablePage page, table_.Fetch(q));
    return TableLinesModel{std::move(page), false};
  }

 private:
  index::EventsTable table_;
};

class HistogramProvider : public XyProvider {
 public:
  HistogramProvider(const index::ExperimentIndex* index, std::string name,
                    std::vector<std::string> trace_names,
                    std::shared_ptr<const ViewClock> clock)
      : index_(index),
        trace_count_(trace_names.size()),
        histogram_(index, std::move(name), std::move(trace_names)),
        clock_(std::move(clock)) {}

  OutputDescriptor descriptor() const override {
    return {kHistogramId, "Histogram", "Number of events over time, per trace",
            "TREE_TIME_XY"};
  }
  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    TreeModel m;
    m.headers = {"Name"};
    for (const auto& e : histogram_.Entries()) {
      m.entries.push_back(
          {e.id, e.parent_id, {e.name}, e.has_data, e.is_default, start, end});
      // A trace's series is in its host's clock (view_clock.h).
      if (e.id >= index::Histogram::kFirstTraceId) {
        m.entries.back().host =
            clock_->HostOfTrace(size_t(e.id - index::Histogram::kFirstTraceId));
      }
    }
    m.running = Running(*index_);
    return m;
  }
  StatusOr<XyModel> Fetch(const std::vector<int64_t>& times,
                          const std::vector<int64_t>& items) const override {
    VMTRACE_ASSIGN_OR_RETURN(auto series, histogram_.Fetch(times, items));
    if (clock_->Active() != nullptr) {
      // `times` are the view's here (the total has no host): the total is
      // the sum of the traces' counts, each at those instants of its clock.
      for (auto& s : series) {
        if (s.id == index::Histogram::kTotalId) {
          VMTRACE_ASSIGN_OR_RETURN(s.y, TotalInView(times));
        }
      }
    }
    XyModel m;
    m.title = "Histogram";
    m.y_label = "Events";
    m.series_type = "bar";
    for (auto& s : series) m.series.push_back({s.id, s.name, std::move(s.y)});
    m.running = Running(*index_);
    return m;
  }

 private:
  StatusOr<std::vector<double>> TotalInView(
      const std::vector<int64_t>& times) const {
    std::vector<double> y(times.size(), 0.0);
    for (size_t t = 0; t < trace_count_; ++t) {
      const std::string host = clock_->HostOfTrace(t);
      std::vector<int64_t> own;
      own.reserve(times.size());
      for (int64_t x : times) own.push_back(clock_->FromView(host, x));
      VMTRACE_ASSIGN_OR_RETURN(
          auto s, histogram_.Fetch(
                      own, {index::Histogram::kFirstTraceId + int64_t(t)}));
      for (const auto& one : s) {
        for (size_t i = 0; i < y.size() && i < one.y.size(); ++i) {
          y[i] += one.y[i];
        }
      }
    }
    return y;
  }

  const index::ExperimentIndex* index_;
  size_t trace_count_;
  index::Histogram histogram_;
  std::shared_ptr<const ViewClock> clock_;
};

class EventsFamily : public OutputFamily {
 public:
  std::vector<std::string> modules() const override { return {}; }
  Status Make(const OutputContext& ctx, OutputSet* out) const override {
    out->Add(std::make_unique<EventsTableProvider>(ctx.index, ctx.trace_names,
                                                   ctx.clock));
    out->Add(std::make_unique<HistogramProvider>(ctx.index, ctx.experiment_name,
                                                 ctx.trace_names, ctx.clock));
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<OutputFamily> EventsOutputs() {
  return std::make_unique<EventsFamily>();
}

}  // namespace vmtrace::tsp
