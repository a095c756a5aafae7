// The edges of time-graph states and entries as the reference server writes
// them (tsp.md b.8): a state's end is start + duration (the next state's
// start, no 1 ns gaps), and a Thread Status entry spans its thread's
// lifetime whatever range the tree was asked for.
#include <algorithm>

#include "tests/tsp/http_fixture.h"
#include "tsp/outputs/kernel/kernel_providers.h"

namespace vmtrace::tsp::testing {
namespace {

class HttpTimeGraphEdgesTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    exp_json_ = OpenIndexed(kTrace, "simple-kernel");
    ASSERT_TRUE(exp_json_.is_object());
    exp_ = exp_json_["UUID"];
    start_ = exp_json_["start"];
    end_ = exp_json_["end"];
  }

  std::string Path(const std::string& what) {
    return Outputs(exp_) + "/timeGraph/" + kThreadStatusId + "/" + what;
  }

  Json Tree(int64_t start, int64_t end) {
    auto r = Post(
        Path("tree"),
        Json{{"parameters",
              {{"requested_timerange", {{"start", start}, {"end", end}}}}}});
    Json j = Body(r);
    EXPECT_EQ(r ? r->status : 0, 200);
    EXPECT_EQ(j["status"], "COMPLETED");
    return j["model"];
  }

  Json States(const Json& range, const std::vector<int64_t>& items) {
    auto r = Post(
        Path("states"),
        Json{{"parameters",
              {{"requested_timerange", range}, {"requested_items", items}}}});
    Json j = Body(r);
    EXPECT_EQ(r ? r->status : 0, 200) << (r ? r->body : "");
    return j["model"]["rows"];
  }

  // Thread entries (those with data) of a tree model.
  static std::vector<Json> Threads(const Json& tree) {
    std::vector<Json> out;
    for (const auto& e : tree["entries"]) {
      if (e.value("hasData", false)) out.push_back(e);
    }
    return out;
  }

  Json exp_json_;
  std::string exp_;
  int64_t start_ = 0, end_ = 0;
};

TEST_F(HttpTimeGraphEdgesTest, StateEndIsTheNextStateStart) {
  std::vector<int64_t> ids;
  for (const auto& e : Threads(Tree(start_, end_))) ids.push_back(e["id"]);
  ASSERT_GT(ids.size(), 10u);
  // A 2 ms window sampled every ~30 ns: nearly every interval of every
  // thread is in the reply, so most consecutive states touch.
  Json rows = States(
      {{"start", start_}, {"end", start_ + 2'000'000}, {"nbTimes", 65536}},
      ids);
  size_t touching = 0, pairs = 0;
  for (const auto& row : rows) {
    const Json& st = row["states"];
    for (size_t i = 0; i < st.size(); ++i) {
      EXPECT_LT(st[i]["start"].get<int64_t>(), st[i]["end"].get<int64_t>());
      if (i == 0) continue;
      const int64_t prev_end = st[i - 1]["end"], next_start = st[i]["start"];
      ++pairs;
      EXPECT_LE(prev_end, next_start) << row["entryId"];
      // The off-by-one this guards: end written as the last nanosecond.
      EXPECT_NE(prev_end + 1, next_start) << row["entryId"];
      if (prev_end == next_start) ++touching;
    }
  }
  ASSERT_GT(pairs, 100u);
  EXPECT_GT(touching, pairs / 2);
}

TEST_F(HttpTimeGraphEdgesTest, ThreadEntriesSpanTheirLifetime) {
  // The first request asks for a 1 ns window: no entry may keep it.
  std::vector<Json> narrow = Threads(Tree(start_, start_ + 1));
  std::vector<Json> full = Threads(Tree(start_, end_));
  ASSERT_EQ(narrow.size(), full.size());
  ASSERT_GT(full.size(), 10u);
  size_t shorter = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    EXPECT_EQ(narrow[i]["start"], full[i]["start"]);
    EXPECT_EQ(narrow[i]["end"], full[i]["end"]);
    const int64_t s = full[i]["start"], e = full[i]["end"];
    EXPECT_LE(start_, s);
    EXPECT_LT(s, e);
    EXPECT_LE(e, end_ + 1);
    if (s > start_ || e < end_) ++shorter;
  }
  // Threads forked or exited during the trace.
  EXPECT_GT(shorter, 0u);
  // The entry's bounds are those of its first and last states.
  for (size_t i = 0; i < full.size();
       i += std::max<size_t>(1, full.size() / 8)) {
    const int64_t s = full[i]["start"], e = full[i]["end"];
    Json rows = States({{"start", s}, {"end", e - 1}, {"nbTimes", 2}},
                       {full[i]["id"].get<int64_t>()});
    ASSERT_EQ(rows.size(), 1u);
    const Json& st = rows[0]["states"];
    ASSERT_FALSE(st.empty());
    EXPECT_EQ(st.front()["start"], s) << full[i].dump();
    EXPECT_EQ(st.back()["end"], e) << full[i].dump();
  }
}

}  // namespace
}  // namespace vmtrace::tsp::testing
