// A DATA_TREE output over a table whose rows can be computed for any time
// range: the statistics tables (VM Wait Analysis, VM Exits, Preemptions)
// served for the viewer's selection, as Trace Compass serves its
// statistics.
#ifndef VMTRACE_TSP_OUTPUTS_TABLE_TREE_H_
#define VMTRACE_TSP_OUTPUTS_TABLE_TREE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "base/status.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

// The table's rows for [start, end) (ns, half-open; the caller clips to
// what was analysed), `running` set while the analysis has not covered the
// trace.
using RangeTable =
    std::function<StatusOr<TableModel>(int64_t start, int64_t end)>;

// Headers: the table's column names. Entries: one per row, labels = its
// cells, grouped under one parent entry per distinct value of the first
// `group_columns` cells (the host and VM of a row, say), so the viewer can
// fold them. The selection [start, end] is inclusive, as the protocol's.
// `host_column` (one of the grouped ones, or -1) names the host whose clock
// the rows are in (TreeEntry::host, for the view clock).
std::unique_ptr<DataTreeProvider> MakeTableTree(OutputDescriptor descriptor,
                                                RangeTable table,
                                                int group_columns = 0,
                                                int host_column = -1);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_TABLE_TREE_H_
