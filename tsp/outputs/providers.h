// Output providers: the per-experiment data behind each TSP output, in
// protocol shape but without HTTP. Routes find a provider by output id
// (tsp/outputs/output_set.h) and serialize what it returns; they know no
// output by its id. A provider is created when its experiment opens (by its
// family, tsp/outputs/output_family.h) and shared by every request (all
// methods are thread-safe).
#ifndef VMTRACE_TSP_OUTPUTS_PROVIDERS_H_
#define VMTRACE_TSP_OUTPUTS_PROVIDERS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analyses/index/events_table.h"
#include "base/status.h"

namespace vmtrace::tsp {

struct OutputDescriptor {
  std::string id;
  std::string name;
  std::string description;
  std::string type;            // "TIME_GRAPH", "TREE_TIME_XY", "TABLE", ...
  std::string parent_id = {};  // derived (configured) outputs only
};

struct TreeEntry {
  int64_t id = 0;
  int64_t parent_id = -1;
  std::vector<std::string> labels;
  bool has_data = false;
  bool is_default = false;  // XY trees only
  int64_t start = 0;        // time-graph trees only
  int64_t end = 0;
  // [start, end] is the requested range, whatever it is (TreeCache sets it
  // on every request); not sent.
  bool spans_request = false;
  // The host whose clock this entry's data are in (its trace's hostname);
  // empty: its parent's, and for a root the experiment's. Set on the
  // host-level entries so that replies can be drawn in one clock
  // (view_clock.h); not sent.
  std::string host = {};
};

struct TreeModel {
  std::vector<std::string> headers;
  std::vector<TreeEntry> entries;
  bool running = false;  // the analysis has not covered the trace yet
  // The reply's statusMessage when set (why the tree is empty, say).
  std::string message;
};

struct TimeGraphState {
  int64_t start = 0;
  int64_t end = 0;
  std::string style;  // a key of the provider's styles
  std::string label;
};

struct TimeGraphRow {
  int64_t entry_id = 0;
  std::vector<TimeGraphState> states;
};

struct RowsModel {
  std::vector<TimeGraphRow> rows;
  bool running = false;
};

struct XySeries {
  int64_t id = 0;
  std::string name;
  std::vector<double> y;  // one per requested time
};

struct XyModel {
  std::string title;
  std::vector<XySeries> series;
  std::string y_label;
  std::string y_unit;
  bool running = false;
  std::string series_type = "line";  // the series' style: "line", "bar"
};

// A vertical edge between two rows (TSP TimeGraphArrow).
struct TimeGraphArrow {
  int64_t source_id = 0, target_id = 0;
  int64_t start = 0, end = 0;
  std::string style;
};

// Style values are strings or numbers, as OutputElementStyle allows.
using StyleMap = std::map<std::string, nlohmann::json>;  // key -> values

class TimeGraphProvider {
 public:
  virtual ~TimeGraphProvider() = default;
  virtual OutputDescriptor descriptor() const = 0;
  virtual StatusOr<TreeModel> Tree(int64_t start, int64_t end) const = 0;
  // Every state intersecting one of `times` (ascending) for each entry.
  virtual StatusOr<RowsModel> States(
      const std::vector<int64_t>& times,
      const std::vector<int64_t>& items) const = 0;
  // Label -> value for the state of `item` at `time`; empty if none.
  virtual StatusOr<std::map<std::string, std::string>> Tooltip(
      int64_t item, int64_t time) const = 0;
  virtual StyleMap Styles() const = 0;
  // Arrows intersecting [times.front(), times.back()]; none by default.
  virtual StatusOr<std::vector<TimeGraphArrow>> Arrows(
      const std::vector<int64_t>& times) const {
    (void)times;
    return std::vector<TimeGraphArrow>{};
  }
};

class XyProvider {
 public:
  virtual ~XyProvider() = default;
  virtual OutputDescriptor descriptor() const = 0;
  virtual StatusOr<TreeModel> Tree(int64_t start, int64_t end) const = 0;
  virtual StatusOr<XyModel> Fetch(const std::vector<int64_t>& times,
                                  const std::vector<int64_t>& items) const = 0;
};

// A small table computed by an analysis (statistics, breakdowns): all its
// lines are known at once, so paging and search are done by the route.
struct TableColumnModel {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::string type;  // "STRING", "NUMBER", "DURATION", ...
};

struct TableModel {
  std::vector<TableColumnModel> columns;
  // cells[i] follows `columns` order.
  std::vector<std::vector<std::string>> rows;
  bool running = false;
};

// One page of a table, as the lines endpoint returns it.
struct TableLinesModel {
  index::TablePage page;
  bool running = false;
};

class TableProvider {
 public:
  virtual ~TableProvider() = default;
  virtual OutputDescriptor descriptor() const = 0;
  // The columns must not depend on the data (they are fetched first).
  virtual std::vector<TableColumnModel> Columns() const = 0;
  // The whole table, for tables small enough to compute at once.
  // Unimplemented by default (a table too large for that pages itself).
  virtual StatusOr<TableModel> Table() const;
  // The lines `q` asks for. By default Table() paged and searched with the
  // events table's semantics (index::TableQuery): a NEXT/PREVIOUS search
  // tests at most q.max_scan rows; lines matching every search pattern are
  // tagged index::EventsTable::kHighlightTag; an unknown search column is
  // InvalidArgument.
  virtual StatusOr<TableLinesModel> Lines(const index::TableQuery& q) const;
};

// Statistics of a time range (TSP DATA_TREE, POST .../data/{id}/tree): the
// tree's headers are its columns and each entry's labels its cells. The
// range is the viewer's selection, or the whole experiment without one;
// what lies outside the analysed range counts for nothing (no error).
class DataTreeProvider {
 public:
  virtual ~DataTreeProvider() = default;
  virtual OutputDescriptor descriptor() const = 0;
  // Statistics over [start, end] (ns, inclusive, start <= end).
  virtual StatusOr<TreeModel> Tree(int64_t start, int64_t end) const = 0;
};

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_PROVIDERS_H_
