// TableProvider's defaults: a small table computed whole, then paged and
// searched here with the events table's semantics, so both kinds of table
// answer the lines endpoint the same way.
#include <algorithm>
#include <optional>
#include <utility>

#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {
namespace {

using Direction = index::TableQuery::Direction;

// Positions (in the table's column order) of the columns a query wants, and
// their ids; an empty request is every column.
void SelectColumns(const TableModel& t, const std::vector<int64_t>& wanted,
                   std::vector<int64_t>* ids, std::vector<size_t>* pos) {
  auto column_pos = [&t](int64_t id) -> int {
    for (size_t i = 0; i < t.columns.size(); ++i) {
      if (t.columns[i].id == id) return int(i);
    }
    return -1;
  };
  if (wanted.empty()) {
    for (size_t i = 0; i < t.columns.size(); ++i) {
      ids->push_back(t.columns[i].id);
      pos->push_back(i);
    }
    return;
  }
  for (int64_t id : wanted) {
    if (int p = column_pos(id); p >= 0) {
      ids->push_back(id);
      pos->push_back(size_t(p));
    }
  }
}

class RowMatcher {
 public:
  RowMatcher(const TableModel& t, const index::TableQuery& q) : rows_(t.rows) {
    for (const auto& [col, re] : q.search) {
      int p = -1;
      for (size_t i = 0; i < t.columns.size(); ++i) {
        if (t.columns[i].id == col) p = int(i);
      }
      if (p < 0) unknown_column_ = true;
      search_.emplace_back(size_t(p), &re);
    }
  }
  bool unknown_column() const { return unknown_column_; }
  bool searching() const { return !search_.empty(); }
  bool operator()(size_t r) const {
    if (search_.empty()) return false;
    for (const auto& [p, re] : search_) {
      if (p >= rows_[r].size() || !re->PartialMatch(rows_[r][p])) return false;
    }
    return true;
  }

 private:
  const std::vector<std::vector<std::string>>& rows_;
  std::vector<std::pair<size_t, const UserRegex*>> search_;
  bool unknown_column_ = false;
};

// The first match from `start` in the query's direction, testing at most
// q.max_scan rows; else where the search stopped (unset at the table's end).
std::pair<std::optional<uint64_t>, std::optional<uint64_t>> Search(
    const RowMatcher& matches, uint64_t rows, uint64_t start,
    const index::TableQuery& q) {
  std::optional<uint64_t> found, stopped;
  uint64_t budget = q.max_scan;
  if (q.direction == Direction::kNext) {
    uint64_t r = start;
    for (; r < rows && budget > 0 && !found; ++r, --budget) {
      if (matches(r)) found = r;
    }
    if (!found && r < rows) stopped = r;
  } else {
    uint64_t r = std::min<uint64_t>(start + 1, rows);
    for (; r > 0 && budget > 0; --budget) {
      if (matches(--r)) {
        found = r;
        break;
      }
    }
    if (!found && r > 0) stopped = r - 1;
  }
  return {found, stopped};
}

}  // namespace

StatusOr<TableModel> TableProvider::Table() const {
  return Unimplemented("this table is served page by page only");
}

StatusOr<TableLinesModel> TableProvider::Lines(
    const index::TableQuery& q) const {
  VMTRACE_ASSIGN_OR_RETURN(TableModel table, Table());
  TableLinesModel out;
  out.running = table.running;
  index::TablePage& page = out.page;
  std::vector<size_t> pos;
  SelectColumns(table, q.column_ids, &page.column_ids, &pos);
  RowMatcher matches(table, q);
  if (matches.unknown_column()) {
    return InvalidArgument("Incorrect query parameters");
  }
  const auto& rows = table.rows;
  page.size = rows.size();
  uint64_t start = q.index.value_or(0);
  if (q.direction != Direction::kNone && matches.searching()) {
    auto [found, stopped] = Search(matches, rows.size(), start, q);
    if (!found) {
      page.low_index = stopped.value_or(start);
      page.search_stopped_at = stopped;
      return out;
    }
    start = *found;
  }
  page.low_index = start;
  for (uint64_t r = start; r < rows.size() && r < start + q.count; ++r) {
    index::TableLine line;
    line.index = r;
    for (size_t p : pos)
      line.cells.push_back(p < rows[r].size() ? rows[r][p] : "");
    if (matches(r)) line.tags = index::EventsTable::kHighlightTag;
    page.lines.push_back(std::move(line));
  }
  return out;
}

}  // namespace vmtrace::tsp
