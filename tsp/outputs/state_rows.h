// Time-graph rows from a state history's sampled intervals: the loop every
// state-history-backed TimeGraphProvider shares.
#ifndef VMTRACE_TSP_OUTPUTS_STATE_ROWS_H_
#define VMTRACE_TSP_OUTPUTS_STATE_ROWS_H_

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "storage/state_history.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

// `intervals` as StateHistory::QuerySampled returns them (quark by quark,
// in time order). Every quark with an interval gets a row, with entry id =
// the quark; an interval whose value is not an integer is a gap (no state,
// the viewer draws the row's gap style). `style(value)` names the state's
// style key.
template <typename StyleFn>
std::vector<TimeGraphRow> RowsFromIntervals(
    const std::vector<storage::StateInterval>& intervals, StyleFn&& style) {
  std::vector<TimeGraphRow> rows;
  TimeGraphRow* row = nullptr;
  for (const storage::StateInterval& iv : intervals) {
    if (!row || row->entry_id != int64_t(iv.quark)) {
      rows.push_back({int64_t(iv.quark), {}});
      row = &rows.back();
    }
    if (iv.value.kind != storage::StateValue::kInt) continue;
    // The protocol's end is start + duration (the next state's start), one
    // past the history's inclusive end, as the reference server writes it.
    row->states.push_back(
        {iv.start, iv.end + 1, std::string(style(iv.quark, iv.value.i)), ""});
  }
  return rows;
}

// The States() of a state-history time graph: the requested items that
// `is_row(id)` accepts (entry id = quark), sampled at `times`, styled by
// `style(quark, value)`. `running` while the history is not complete.
template <typename IsRowFn, typename StyleFn>
StatusOr<RowsModel> SampledRows(const storage::StateHistory& h,
                                const std::vector<int64_t>& times,
                                const std::vector<int64_t>& items,
                                IsRowFn&& is_row, StyleFn&& style) {
  RowsModel m;
  m.running = !h.complete();
  std::vector<storage::Quark> quarks;
  for (int64_t id : items) {
    if (is_row(id)) quarks.push_back(storage::Quark(id));
  }
  auto intervals = h.QuerySampled(quarks, times);
  if (!intervals.ok()) return intervals.status();
  m.rows = RowsFromIntervals(*intervals, std::forward<StyleFn>(style));
  return m;
}

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_STATE_ROWS_H_
