// DATA_TREE over a range-capable table (table_tree.h).
#include "tsp/outputs/table_tree.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vmtrace::tsp {
namespace {

class TableTree : public DataTreeProvider {
 public:
  TableTree(OutputDescriptor d, RangeTable table, int group_columns,
            int host_column)
      : d_(std::move(d)),
        table_(std::move(table)),
        groups_(group_columns),
        host_column_(host_column) {}

  OutputDescriptor descriptor() const override { return d_; }

  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    // The protocol's end is inclusive; the tables' windows are half-open.
    const int64_t stop = end < INT64_MAX ? end + 1 : end;
    VMTRACE_ASSIGN_OR_RETURN(TableModel t, table_(start, stop));
    TreeModel m;
    m.running = t.running;
    for (const auto& c : t.columns) m.headers.push_back(c.name);
    const size_t width = m.headers.size();
    // A group's entry shows its own cells and blanks for the rest.
    std::map<std::vector<std::string>, int64_t> group_ids;
    for (auto& row : t.rows) {
      int64_t parent = -1;
      std::vector<std::string> key;
      for (int g = 0; g < groups_ && size_t(g) < row.size(); ++g) {
        key.push_back(row[g]);
        auto it = group_ids.find(key);
        if (it == group_ids.end()) {
          std::vector<std::string> labels(width);
          labels[g] = row[g];
          const int64_t id = int64_t(m.entries.size());
          m.entries.push_back({id, parent, std::move(labels)});
          if (g == host_column_) m.entries.back().host = row[g];
          it = group_ids.emplace(key, id).first;
        }
        parent = it->second;
      }
      const int64_t id = int64_t(m.entries.size());
      m.entries.push_back({id, parent, std::move(row), true});
    }
    return m;
  }

 private:
  OutputDescriptor d_;
  RangeTable table_;
  int groups_;
  int host_column_;
};

}  // namespace

std::unique_ptr<DataTreeProvider> MakeTableTree(OutputDescriptor descriptor,
                                                RangeTable table,
                                                int group_columns,
                                                int host_column) {
  return std::make_unique<TableTree>(std::move(descriptor), std::move(table),
                                     group_columns, host_column);
}

}  // namespace vmtrace::tsp
