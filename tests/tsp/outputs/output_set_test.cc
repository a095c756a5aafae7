// OutputSet (the one id -> provider lookup of the routes) and the default
// TableProvider::Lines, on small fake providers.
#include "tsp/outputs/output_set.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tsp/outputs/tree_cache.h"

namespace vmtrace::tsp {
namespace {

class FakeTable : public TableProvider {
 public:
  FakeTable(std::string id, std::string name, std::string parent = "")
      : d_{std::move(id), std::move(name), "", "TABLE", std::move(parent)} {}
  OutputDescriptor descriptor() const override { return d_; }
  std::vector<TableColumnModel> Columns() const override {
    return {{0, "Name", "", "STRING"}, {1, "Count", "", "NUMBER"}};
  }
  StatusOr<TableModel> Table() const override {
    TableModel m;
    m.columns = Columns();
    m.rows = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"b2", "4"}};
    return m;
  }

 private:
  OutputDescriptor d_;
};

class FakeTimeGraph : public TimeGraphProvider {
 public:
  explicit FakeTimeGraph(std::string id, std::string parent = "")
      : id_(std::move(id)), parent_(std::move(parent)) {}
  OutputDescriptor descriptor() const override {
    return {id_, "Graph " + id_, "", "TIME_GRAPH", parent_};
  }
  StatusOr<TreeModel> Tree(int64_t, int64_t) const override {
    return TreeModel{};
  }
  StatusOr<RowsModel> States(const std::vector<int64_t>&,
                             const std::vector<int64_t>&) const override {
    return RowsModel{};
  }
  StatusOr<std::map<std::string, std::string>> Tooltip(int64_t,
                                                       int64_t) const override {
    return std::map<std::string, std::string>{};
  }
  StyleMap Styles() const override { return {}; }

 private:
  std::string id_, parent_;
};

// Derives one time graph "parent$n" per Create().
class FakeConfigurable : public ConfigurableOutputs {
 public:
  std::string parent_id() const override { return "parent"; }
  std::vector<nlohmann::json> ConfigTypes() const override {
    return {nlohmann::json{{"id", "type"}}};
  }
  StatusOr<OutputDescriptor> Create(const nlohmann::json&) override {
    derived_.push_back(std::make_unique<FakeTimeGraph>(
        "parent$" + std::to_string(derived_.size() + 1), "parent"));
    return derived_.back()->descriptor();
  }
  Status Delete(const std::string& id) override {
    return NotFound("No such derived output: " + id);
  }
  std::vector<OutputDescriptor> Derived() override {
    std::vector<OutputDescriptor> out;
    for (const auto& d : derived_) out.push_back(d->descriptor());
    return out;
  }
  const TimeGraphProvider* TimeGraph(const std::string& id) override {
    for (const auto& d : derived_) {
      if (d->descriptor().id == id) return d.get();
    }
    return nullptr;
  }
  const TableProvider* Table(const std::string&) override { return nullptr; }

 private:
  std::vector<std::unique_ptr<FakeTimeGraph>> derived_;
};

TEST(OutputSetTest, FindsProvidersAndDerivedOutputsById) {
  OutputSet set;
  set.Add(std::make_unique<FakeTable>("t", "Zeta table"));
  set.Add(std::make_unique<FakeTimeGraph>("parent"));
  auto configurable = std::make_shared<FakeConfigurable>();
  set.Add(std::shared_ptr<ConfigurableOutputs>(configurable));

  auto table = set.Find("t");
  ASSERT_TRUE(table.has_value());
  EXPECT_NE(table->table, nullptr);
  EXPECT_EQ(table->time_graph, nullptr);
  EXPECT_EQ(table->descriptor.type, "TABLE");
  EXPECT_FALSE(set.Find("nope").has_value());

  EXPECT_EQ(set.Configurable("parent"), configurable.get());
  EXPECT_EQ(set.Configurable("t"), nullptr);
  auto d = set.Configurable("parent")->Create({});
  ASSERT_TRUE(d.ok());
  auto derived = set.Find(d->id);
  ASSERT_TRUE(derived.has_value());
  EXPECT_NE(derived->time_graph, nullptr);
  EXPECT_EQ(derived->descriptor.parent_id, "parent");

  // Sorted by name: "Graph parent", "Graph parent$1", "Zeta table".
  auto list = set.List();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].id, "parent");
  EXPECT_EQ(list[1].id, "parent$1");
  EXPECT_EQ(list[2].id, "t");
}

TEST(TableLinesTest, PagesSelectsColumnsAndHighlights) {
  FakeTable t("t", "T");
  index::TableQuery q;
  q.index = 1;
  q.count = 2;
  q.column_ids = {1};
  auto re = UserRegex::Compile("b");
  ASSERT_TRUE(re.ok());
  q.search.emplace(0, std::move(re).value());
  auto lines = t.Lines(q);
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(lines->page.low_index, 1u);
  EXPECT_EQ(lines->page.size, 4u);
  EXPECT_EQ(lines->page.column_ids, std::vector<int64_t>{1});
  ASSERT_EQ(lines->page.lines.size(), 2u);
  EXPECT_EQ(lines->page.lines[0].cells, std::vector<std::string>{"2"});
  EXPECT_EQ(lines->page.lines[0].tags, index::EventsTable::kHighlightTag);
  EXPECT_EQ(lines->page.lines[1].tags, 0);
}

TEST(TableLinesTest, SearchesInADirectionWithinTheScanBound) {
  FakeTable t("t", "T");
  index::TableQuery q;
  q.index = 2;
  q.count = 1;
  q.direction = index::TableQuery::Direction::kNext;
  auto re = UserRegex::Compile("b");
  ASSERT_TRUE(re.ok());
  q.search.emplace(0, std::move(re).value());
  auto next = t.Lines(q);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->page.low_index, 3u);  // "b2"
  ASSERT_EQ(next->page.lines.size(), 1u);
  // One row tested from 0: the search stops and says where to go on.
  q.index = 0;
  q.max_scan = 1;
  q.direction = index::TableQuery::Direction::kNext;
  auto stopped = t.Lines(q);
  ASSERT_TRUE(stopped.ok());
  EXPECT_TRUE(stopped->page.lines.empty());
  EXPECT_EQ(stopped->page.search_stopped_at, std::optional<uint64_t>(1));
  // An unknown search column is a bad request.
  q.search.clear();
  auto re2 = UserRegex::Compile("x");
  ASSERT_TRUE(re2.ok());
  q.search.emplace(9, std::move(re2).value());
  EXPECT_EQ(t.Lines(q).status().code(), StatusCode::kInvalidArgument);
}

TEST(TreeCacheTest, KeepsACompleteTreeAndSpansEachRequest) {
  TreeCache cache;
  int computed = 0;
  auto compute = [&computed](int64_t, int64_t) -> StatusOr<TreeModel> {
    ++computed;
    TreeModel m;
    m.entries.push_back({1, -1, {"host"}});
    m.entries.push_back({2, 1, {"thread"}, true, false, 5, 7});
    TreeCache::SpanRequest(&m);
    m.entries[1].spans_request = false;  // its own lifetime
    return m;
  };
  auto running = cache.Get(false, 0, 10, compute);
  ASSERT_TRUE(running.ok());
  EXPECT_TRUE(running->running);
  EXPECT_TRUE(cache.Get(false, 0, 10, compute).ok());
  EXPECT_EQ(computed, 2);  // not kept while the history grows
  ASSERT_TRUE(cache.Get(true, 0, 10, compute).ok());
  auto hit = cache.Get(true, 100, 200, compute);
  EXPECT_EQ(computed, 3);
  ASSERT_TRUE(hit.ok());
  EXPECT_FALSE(hit->running);
  EXPECT_EQ(hit->entries[0].start, 100);
  EXPECT_EQ(hit->entries[0].end, 200);
  EXPECT_EQ(hit->entries[1].start, 5);
  EXPECT_EQ(hit->entries[1].end, 7);

  TreeCache per_range(TreeCache::Scope::kPerRange);
  EXPECT_TRUE(per_range.Get(true, 0, 10, compute).ok());
  EXPECT_TRUE(per_range.Get(true, 0, 10, compute).ok());
  EXPECT_TRUE(per_range.Get(true, 0, 20, compute).ok());
  EXPECT_EQ(computed, 5);
  // Alternating between kept ranges computes nothing more; a fifth range
  // pushes out the oldest.
  EXPECT_TRUE(per_range.Get(true, 0, 10, compute).ok());
  EXPECT_TRUE(per_range.Get(true, 0, 20, compute).ok());
  EXPECT_EQ(computed, 5);
  for (int64_t e = 30; e <= 60; e += 10) {
    EXPECT_TRUE(per_range.Get(true, 0, e, compute).ok());
  }
  EXPECT_EQ(computed, 9);
  EXPECT_TRUE(per_range.Get(true, 0, 60, compute).ok());
  EXPECT_EQ(computed, 9);
  EXPECT_TRUE(per_range.Get(true, 0, 10, compute).ok());
  EXPECT_EQ(computed, 10);
}

// A tree whose labels come from something that changes (the guest names)
// is kept for one key (held by the cache, so never freed and its address
// reused while kept): another key, even an equal value, recomputes it.
TEST(TreeCacheTest, AKeyedTreeIsKeptForItsKeyOnly) {
  TreeCache cache;
  int computed = 0;
  auto compute = [&computed](int64_t, int64_t) -> StatusOr<TreeModel> {
    ++computed;
    TreeModel m;
    m.entries.push_back({1, -1, {std::to_string(computed)}});
    return m;
  };
  auto a = std::make_shared<const int>(1);
  EXPECT_EQ(cache.Get(true, 0, 10, a, compute)->entries[0].labels[0], "1");
  EXPECT_EQ(cache.Get(true, 0, 10, a, compute)->entries[0].labels[0], "1");
  auto b = std::make_shared<const int>(1);
  EXPECT_EQ(cache.Get(true, 0, 10, b, compute)->entries[0].labels[0], "2");
  EXPECT_EQ(cache.Get(true, 0, 10, a, compute)->entries[0].labels[0], "3");
  EXPECT_EQ(cache.Get(true, 0, 10, nullptr, compute)->entries[0].labels[0],
            "4");
  EXPECT_EQ(computed, 4);
}

}  // namespace
}  // namespace vmtrace::tsp
