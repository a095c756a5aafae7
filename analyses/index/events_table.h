// EventsTable: the experiment's events as a virtual table (TSP TABLE output).
//
// Lines are events in rank order; a page is served by restoring the nearest
// checkpoint and decoding at most one checkpoint interval plus the page, so
// its cost does not depend on where the page is. Columns have stable ids;
// TID, PID and Process appear only when some event class carries those
// contexts. Thread-safe: Fetch() keeps no state between calls.
#ifndef VMTRACE_ANALYSES_INDEX_EVENTS_TABLE_H_
#define VMTRACE_ANALYSES_INDEX_EVENTS_TABLE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyses/index/experiment_index.h"
#include "base/status.h"
#include "base/user_regex.h"

namespace vmtrace::index {

struct TableColumn {
  int64_t id;
  std::string name;
  std::string description;
  std::string type;  // TSP DataType: "STRING", "NUMBER", ...
};

struct TableQuery {
  enum class Direction { kNone, kNext, kPrevious };
  std::optional<uint64_t> index;  // first rank wanted
  std::optional<int64_t> time;    // else: first event with ts >= time
  uint64_t count = 0;
  std::vector<int64_t> column_ids;      // empty: all columns
  std::map<int64_t, UserRegex> search;  // column id -> pattern (found
                                        // anywhere in the cell)
  Direction direction = Direction::kNone;
  // A NEXT/PREVIOUS search tests at most this many events, then stops and
  // says where (TablePage::search_stopped_at).
  uint64_t max_scan = std::numeric_limits<uint64_t>::max();
};

struct TableLine {
  uint64_t index = 0;
  std::vector<std::string> cells;  // in TablePage::column_ids order
  int tags = 0;                    // 8 (HIGHLIGHT) when the search matches
};

struct TablePage {
  uint64_t low_index = 0;
  uint64_t size = 0;  // events indexed so far
  std::vector<int64_t> column_ids;
  std::vector<TableLine> lines;
  // A NEXT/PREVIOUS search that tested max_scan events without a match
  // stops: no lines, and this is the rank to search from next (also
  // low_index). Unset when the search ran to the end of the table.
  std::optional<uint64_t> search_stopped_at;
};

class EventsTable {
 public:
  static constexpr int64_t kTimestamp = 0, kTimestampNs = 1, kEventType = 2,
                           kCpu = 3, kTid = 4, kPid = 5, kProcess = 6,
                           kContents = 7, kTrace = 8;
  static constexpr int kHighlightTag = 8;

  // `index` must outlive the table.
  explicit EventsTable(const ExperimentIndex* index,
                       std::vector<std::string> trace_names);

  const std::vector<TableColumn>& columns() const { return columns_; }

  // How an event's time is shown: `to_view(ctf_trace_index, ts)` (e.g. in
  // the reference host's clock of a multi-host experiment). Default: as
  // recorded. Rows stay in the order of the pass (each host's own clock);
  // a time search (TableQuery::time) compares recorded times. Call before
  // the table is shared.
  void SetViewTime(std::function<int64_t(uint32_t, int64_t)> to_view) {
    to_view_ = std::move(to_view);
  }

  // InvalidArgument for an unknown search column. Unknown requested column
  // ids are dropped (none left: no lines).
  StatusOr<TablePage> Fetch(const TableQuery& query) const;

 private:
  struct ClassFields {
    int tid = -1, pid = -1, procname = -1;
  };
  std::string Cell(int64_t column, uint64_t rank, const ctf::Event& ev) const;
  // True if the event matches every search of `q` (none: false).
  bool Matches(const TableQuery& q, uint64_t rank, const ctf::Event& ev) const;
  // The first match at or after `start` (kNext) or at or before it
  // (kPrevious), testing at most q.max_scan events; nullopt with
  // page->low_index and search_stopped_at set when none was found.
  StatusOr<std::optional<uint64_t>> SearchNext(const TableQuery& q,
                                               uint64_t start, uint64_t size,
                                               TablePage* page) const;
  StatusOr<std::optional<uint64_t>> SearchPrevious(const TableQuery& q,
                                                   uint64_t start,
                                                   TablePage* page) const;

  const ExperimentIndex* index_;
  std::vector<std::string> trace_names_;
  std::function<int64_t(uint32_t, int64_t)> to_view_;  // may be empty
  std::vector<TableColumn> columns_;
  std::unordered_map<const ctf::EventClass*, ClassFields> class_fields_;
};

// "2019-03-05 19:12:02.123456789" (UTC).
std::string FormatTimestamp(int64_t ns);

}  // namespace vmtrace::index

#endif  // VMTRACE_ANALYSES_INDEX_EVENTS_TABLE_H_
