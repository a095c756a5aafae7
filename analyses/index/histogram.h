// Histogram: event counts over time (the TSP overview, TREE_TIME_XY).
//
// Entry ids: 0 is the experiment (a grouping row), 1 is "Total", 2+i is
// experiment trace i. y[k] counts the events with t[k] <= ts < t[k+1]; the
// last sample counts the events at exactly t[last]. Counts are exact, at
// the cost of decoding at most one checkpoint interval per sample.
#ifndef VMTRACE_ANALYSES_INDEX_HISTOGRAM_H_
#define VMTRACE_ANALYSES_INDEX_HISTOGRAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "analyses/index/experiment_index.h"
#include "base/status.h"

namespace vmtrace::index {

struct HistogramEntry {
  int64_t id;
  int64_t parent_id;
  std::string name;
  bool has_data;
  bool is_default;
};

struct HistogramSeries {
  int64_t id;
  std::string name;
  std::vector<double> y;  // one per requested time
};

class Histogram {
 public:
  static constexpr int64_t kRootId = 0, kTotalId = 1, kFirstTraceId = 2;

  Histogram(const ExperimentIndex* index, std::string experiment_name,
            std::vector<std::string> trace_names);

  std::vector<HistogramEntry> Entries() const;
  // `times` ascending (the sampled request times). Ids without data are
  // skipped.
  StatusOr<std::vector<HistogramSeries>> Fetch(
      const std::vector<int64_t>& times, const std::vector<int64_t>& ids) const;

 private:
  const ExperimentIndex* index_;
  std::string experiment_name_;
  std::vector<std::string> trace_names_;
};

}  // namespace vmtrace::index

#endif  // VMTRACE_ANALYSES_INDEX_HISTOGRAM_H_
