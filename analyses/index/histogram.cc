#include "analyses/index/histogram.h"

#include <limits>

namespace vmtrace::index {

Histogram::Histogram(const ExperimentIndex* index, std::string experiment_name,
                     std::vector<std::string> trace_names)
    : index_(index),
      experiment_name_(std::move(experiment_name)),
      trace_names_(std::move(trace_names)) {}

std::vector<HistogramEntry> Histogram::Entries() const {
  std::vector<HistogramEntry> out;
  out.push_back({kRootId, -1, experiment_name_, false, false});
  out.push_back({kTotalId, kRootId, "Total", true, true});
  for (size_t i = 0; i < trace_names_.size(); ++i) {
    out.push_back(
        {kFirstTraceId + int64_t(i), kRootId, trace_names_[i], true, false});
  }
  return out;
}

StatusOr<std::vector<HistogramSeries>> Histogram::Fetch(
    const std::vector<int64_t>& times, const std::vector<int64_t>& ids) const {
  std::vector<HistogramSeries> out;
  if (times.empty()) return out;
  // Boundaries: every sample time, plus one past the last so the last
  // sample counts the events at exactly that time.
  std::vector<int64_t> bounds = times;
  int64_t last = times.back();
  bounds.push_back(last == std::numeric_limits<int64_t>::max() ? last
                                                               : last + 1);
  std::vector<std::vector<uint64_t>> counts;
  VMTRACE_RETURN_IF_ERROR(index_->CountsBefore(bounds, &counts));
  const int64_t trace_ids_end = kFirstTraceId + int64_t(trace_names_.size());
  for (int64_t id : ids) {
    if (id != kTotalId && (id < kFirstTraceId || id >= trace_ids_end)) continue;
    HistogramSeries s;
    s.id = id;
    s.name = id == kTotalId ? "Total" : trace_names_[id - kFirstTraceId];
    s.y.reserve(times.size());
    for (size_t k = 0; k < times.size(); ++k) {
      uint64_t a = 0, b = 0;
      for (size_t t = 0; t < counts[k].size(); ++t) {
        if (id != kTotalId && int64_t(t) != id - kFirstTraceId) continue;
        a += counts[k][t];
        b += counts[k + 1][t];
      }
      s.y.push_back(double(b - a));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace vmtrace::index
