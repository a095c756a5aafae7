// Time-graph rows from a state history's sampled intervals: the loop every
// state-history-backed TimeGraphProvider shares.
#ifndef VMTRACE_TSP_STATE_ROWS_H_
#define VMTRACE_TSP_STATE_ROWS_H_

#include <string>
#include <vector>

#include "storage/state_history.h"
#include "tsp/providers.h"

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
    row->states.push_back(
        {iv.start, iv.end, std::string(style(iv.quark, iv.value.i)), ""});
  }
  return rows;
}

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_STATE_ROWS_H_
