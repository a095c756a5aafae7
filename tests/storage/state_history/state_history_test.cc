// One behavioural suite run against both state-history implementations
// (typed tests); the LevelDB lifecycle is in state_history_leveldb_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "storage/leveldb_state_history.h"
#include "storage/memory_state_history.h"
#include "storage/state_queries.h"
#include "tests/storage/state_history/state_history_test_util.h"

namespace vmtrace::storage {

namespace {

using testing_util::TempDir;

// --- the two implementations behind one fixture ---

struct MemoryImpl {
  std::unique_ptr<MemoryStateHistory> h =
      std::make_unique<MemoryStateHistory>();
  StateHistory* reader() { return h.get(); }
  StateWriter* writer() { return h.get(); }
};

// kSamplingCopy false: a complete store answers QuerySampled by seeking
// LevelDB, the path an incomplete one always takes.
template <bool kSamplingCopy>
struct LevelDbImplT {
  std::string dir =
      TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::unique_ptr<LevelDbStateHistory> h;
  LevelDbImplT() {
    // A tiny batch so automatic batch writes happen between flushes.
    StateStoreOptions o{dir, "test", 1, "fp", 16};
    o.sampling_copy = kSamplingCopy;
    auto s = LevelDbStateHistory::Open(o);
    EXPECT_TRUE(s.ok());
    h = std::move(s).value();
    EXPECT_TRUE(h->needs_build());
  }
  ~LevelDbImplT() {
    h.reset();
    std::filesystem::remove_all(dir);
  }
  StateHistory* reader() { return h.get(); }
  StateWriter* writer() { return h.get(); }
};

// An independent model of the Set/Close semantics: the expected intervals.
class Model {
 public:
  void Set(int64_t t, Quark q, const StateValue& v) {
    auto& o = open_[q];
    if (o.has && o.v == v) return;
    if (o.has) {
      if (t < o.start) t = o.start;
      if (t == o.start) {
        o.v = v;
        return;
      }
      closed_.push_back({q, o.start, t - 1, o.v});
    }
    o = {true, t, v};
  }
  void Close(int64_t end) {
    for (auto& [q, o] : open_) {
      if (o.has) closed_.push_back({q, o.start, std::max(end, o.start), o.v});
      o.has = false;
    }
  }
  // Closed intervals of q in time order.
  std::vector<StateInterval> Of(Quark q) const {
    std::vector<StateInterval> out;
    for (const auto& iv : closed_) {
      if (iv.quark == q) out.push_back(iv);
    }
    return out;
  }
  size_t closed() const { return closed_.size(); }

 private:
  struct Open {
    bool has = false;
    int64_t start = 0;
    StateValue v;
  };
  std::map<Quark, Open> open_;
  std::vector<StateInterval> closed_;
};

std::vector<StateInterval> OracleSampled(const Model& m,
                                         const std::vector<Quark>& quarks,
                                         const std::vector<int64_t>& times) {
  std::vector<StateInterval> out;
  for (Quark q : quarks) {
    for (const auto& iv : m.Of(q)) {
      for (int64_t t : times) {
        if (iv.Contains(t)) {
          out.push_back(iv);
          break;
        }
      }
    }
  }
  return out;
}

template <typename Impl>
class StateHistoryTest : public ::testing::Test {
 protected:
  Impl impl_;
  StateHistory& r() { return *impl_.reader(); }
  StateWriter& w() { return *impl_.writer(); }
};

using LevelDbImpl = LevelDbImplT<true>;
using LevelDbSeekImpl = LevelDbImplT<false>;
using Impls = ::testing::Types<MemoryImpl, LevelDbImpl, LevelDbSeekImpl>;
TYPED_TEST_SUITE(StateHistoryTest, Impls);

TYPED_TEST(StateHistoryTest, TreeOps) {
  auto& w = this->w();
  auto& r = this->r();
  EXPECT_EQ(r.AttributeCount(), 1u);
  Quark threads = w.GetOrAdd(kRootQuark, "Threads");
  Quark t1 = w.GetOrAddPath({"Threads", "12", "Status"});
  Quark t2 = w.GetOrAddPath({"Threads", "7", "Status"});
  EXPECT_EQ(w.GetOrAdd(kRootQuark, "Threads"), threads);
  EXPECT_EQ(w.GetOrAddPath({"Threads", "12", "Status"}), t1);
  EXPECT_EQ(r.AttributeCount(), 6u);
  EXPECT_EQ(r.Find({"Threads", "7", "Status"}), t2);
  EXPECT_EQ(r.Find({}), kRootQuark);
  EXPECT_FALSE(r.Find({"Threads", "8"}).has_value());
  auto twelve = r.Child(threads, "12");
  ASSERT_TRUE(twelve.has_value());
  EXPECT_EQ(r.Parent(t1), *twelve);
  EXPECT_EQ(r.Parent(*twelve), threads);
  EXPECT_EQ(r.Name(t1), "Status");
  EXPECT_EQ(r.Name(*twelve), "12");
  EXPECT_EQ(r.Name(kRootQuark), "");
  EXPECT_EQ(r.Name(999), "");
  EXPECT_EQ(r.Parent(999), kRootQuark);
  // Children in creation order, not name order.
  auto kids = r.Children(threads);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(r.Name(kids[0]), "12");
  EXPECT_EQ(r.Name(kids[1]), "7");
  EXPECT_TRUE(r.Children(t1).empty());
  EXPECT_TRUE(r.Children(999).empty());
  EXPECT_EQ(r.Children(kRootQuark), std::vector<Quark>{threads});
}

TYPED_TEST(StateHistoryTest, SetSemantics) {
  auto& w = this->w();
  auto& r = this->r();
  Quark a = w.GetOrAdd(kRootQuark, "a");
  Quark b = w.GetOrAdd(kRootQuark, "b");
  EXPECT_TRUE(w.Current(a).is_null());
  w.Set(10, a, StateValue::Int(1));
  w.Set(15, a, StateValue::Int(1));  // same value: no-op
  w.Set(20, a, StateValue::Null());  // null is a value like any other
  w.Set(30, a, StateValue::Str("run"));
  EXPECT_EQ(w.Current(a), StateValue::Str("run"));
  w.Set(25, a, StateValue::Int(2));  // backwards: clamped to 30
  w.Set(40, a, StateValue::Int(3));
  w.Set(5, b, StateValue::Int(-7));
  w.Set(6, b, StateValue::Int(INT64_MIN));
  w.Set(7, b, StateValue::Int(INT64_MAX));
  ASSERT_TRUE(w.Flush(40).ok());
  EXPECT_EQ(r.flushed_until(), 40);
  EXPECT_EQ(r.start_time(), 5);
  EXPECT_FALSE(r.complete());
  auto got = r.QueryRange(a, INT64_MIN, INT64_MAX);
  ASSERT_TRUE(got.ok());
  // The string set at 30 was replaced at once by the clamped 2.
  std::vector<StateInterval> want = {{a, 10, 19, StateValue::Int(1)},
                                     {a, 20, 29, StateValue::Null()},
                                     {a, 30, 39, StateValue::Int(2)}};
  EXPECT_EQ(*got, want);
  ASSERT_TRUE(w.Close(50).ok());
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.flushed_until(), 50);
  got = r.QueryRange(b, 0, 100);
  ASSERT_TRUE(got.ok());
  want = {{b, 5, 5, StateValue::Int(-7)},
          {b, 6, 6, StateValue::Int(INT64_MIN)},
          {b, 7, 50, StateValue::Int(INT64_MAX)}};
  EXPECT_EQ(*got, want);
  got = r.QueryRange(a, 41, 45);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got,
            (std::vector<StateInterval>{{a, 40, 50, StateValue::Int(3)}}));
}

// A host whose trace ends early: everything below its quark ends there,
// nothing else does.
TYPED_TEST(StateHistoryTest, EndSubtreeEndsOnlyThatSubtree) {
  auto& w = this->w();
  auto& r = this->r();
  Quark a = w.GetOrAddPath({"host-a", "Threads", "1"});
  Quark a2 = w.GetOrAddPath({"host-a", "CPUs", "0"});
  Quark quiet = w.GetOrAddPath({"host-a", "Threads", "2"});
  Quark b = w.GetOrAddPath({"host-b", "Threads", "1"});
  w.Set(10, a, StateValue::Int(1));
  w.Set(12, a2, StateValue::Int(2));
  w.Set(10, b, StateValue::Int(3));
  w.EndSubtree(50, *r.Find({"host-a"}));
  ASSERT_TRUE(w.Close(100).ok());
  auto got = r.QueryRange(a, INT64_MIN, INT64_MAX);
  ASSERT_TRUE(got.ok());
  std::vector<StateInterval> want = {{a, 10, 49, StateValue::Int(1)},
                                     {a, 50, 100, StateValue::Null()}};
  EXPECT_EQ(*got, want);
  got = r.QueryRange(a2, INT64_MIN, INT64_MAX);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].end, 49);
  EXPECT_TRUE(r.QueryRange(quiet, INT64_MIN, INT64_MAX)->empty());
  got = r.QueryRange(b, INT64_MIN, INT64_MAX);
  ASSERT_TRUE(got.ok());
  want = {{b, 10, 100, StateValue::Int(3)}};
  EXPECT_EQ(*got, want);
}

TYPED_TEST(StateHistoryTest, OpenIntervalsAreInvisibleUntilClosedAndFlushed) {
  auto& w = this->w();
  auto& r = this->r();
  Quark a = w.GetOrAdd(kRootQuark, "a");
  w.Set(10, a, StateValue::Int(1));
  ASSERT_TRUE(w.Flush(100).ok());
  EXPECT_TRUE(r.QueryAt(50)->empty());
  w.Set(60, a, StateValue::Int(2));  // closes [10,59], not flushed yet
  EXPECT_TRUE(r.QueryAt(50)->empty());
  ASSERT_TRUE(w.Flush(100).ok());
  ASSERT_EQ(r.QueryAt(50)->size(), 1u);
}

TYPED_TEST(StateHistoryTest, QueryAtSubtree) {
  auto& w = this->w();
  auto& r = this->r();
  Quark cpus = w.GetOrAdd(kRootQuark, "CPUs");
  Quark c0 = w.GetOrAddPath({"CPUs", "0"});
  Quark c0irq = w.GetOrAddPath({"CPUs", "0", "IRQ"});
  Quark c1 = w.GetOrAddPath({"CPUs", "1"});
  Quark th = w.GetOrAddPath({"Threads", "1"});
  w.Set(0, cpus, StateValue::Int(9));
  w.Set(0, c0, StateValue::Int(1));
  w.Set(50, c0, StateValue::Int(2));
  w.Set(20, c0irq, StateValue::Str("irq"));
  w.Set(30, c0irq, StateValue::Null());
  w.Set(60, c1, StateValue::Int(5));  // starts after t
  w.Set(0, th, StateValue::Int(3));
  ASSERT_TRUE(w.Close(100).ok());
  auto at = r.QueryAt(25, cpus);
  ASSERT_TRUE(at.ok());
  std::vector<StateInterval> want = {{c0, 0, 49, StateValue::Int(1)},
                                     {c0irq, 20, 29, StateValue::Str("irq")}};
  EXPECT_EQ(*at, want);
  at = r.QueryAt(25);  // the whole tree, by quark
  ASSERT_TRUE(at.ok());
  ASSERT_EQ(at->size(), 4u);
  EXPECT_EQ((*at)[0].quark, cpus);
  EXPECT_EQ((*at)[3].quark, th);
  EXPECT_TRUE(r.QueryAt(25, c1)->empty());
  EXPECT_TRUE(r.QueryAt(101)->empty());
  EXPECT_TRUE(r.QueryAt(-1)->empty());
}

TYPED_TEST(StateHistoryTest, QueryRangeBounds) {
  auto& w = this->w();
  auto& r = this->r();
  Quark a = w.GetOrAdd(kRootQuark, "a");
  for (int k = 0; k < 300; ++k) w.Set(k * 10, a, StateValue::Int(k % 3));
  ASSERT_TRUE(w.Close(2999).ok());
  auto got = r.QueryRange(a, 15, 35);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].start, 10);
  EXPECT_EQ((*got)[2].end, 39);
  got = r.QueryRange(a, 20, 20);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(r.QueryRange(a, 0, 2999)->size(), 300u);
  EXPECT_TRUE(r.QueryRange(a, 3000, 4000)->empty());
  EXPECT_TRUE(r.QueryRange(a, 40, 30)->empty());
  EXPECT_TRUE(r.QueryRange(77, 0, 100)->empty());
}

// Random histories with random flushes against the brute-force oracle.
TYPED_TEST(StateHistoryTest, RandomHistoriesMatchOracle) {
  auto& w = this->w();
  auto& r = this->r();
  std::mt19937_64 rng(7);
  Model m;
  std::vector<Quark> quarks;
  for (int k = 0; k < 6; ++k) {
    quarks.push_back(w.GetOrAddPath({"T", std::to_string(k)}));
  }
  int64_t t = -5000;
  for (int e = 0; e < 6000; ++e) {
    t += int64_t(rng() % 20);
    Quark q = quarks[rng() % (e < 3000 ? 3 : quarks.size())];  // late starts
    uint64_t x = rng() % 8;
    StateValue v = x == 0   ? StateValue::Null()
                   : x == 1 ? StateValue::Str("s" + std::to_string(rng() % 4))
                            : StateValue::Int(int64_t(rng() % 5) - 2);
    m.Set(t, q, v);
    w.Set(t, q, v);
    if (rng() % 500 == 0) {
      ASSERT_TRUE(w.Flush(t).ok());
    }
  }
  m.Close(t + 10);
  ASSERT_TRUE(w.Close(t + 10).ok());
  std::vector<Quark> asked = {quarks[4], quarks[0], quarks[2], quarks[5], 999};
  for (int round = 0; round < 40; ++round) {
    std::vector<int64_t> times;
    int n = 1 + int(rng() % 200);
    int64_t step = 1 + int64_t(rng() % (round % 2 ? 50 : 2000));
    int64_t s = -6000 + int64_t(rng() % 4000);
    for (int k = 0; k < n; ++k) {
      times.push_back(s);
      if (rng() % 5) s += int64_t(rng() % step);  // sometimes repeated
    }
    auto got = r.QuerySampled(asked, times);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(*got, OracleSampled(m, asked, times)) << "round " << round;
    int64_t t1 = times.front(), t2 = times.back();
    for (Quark q : quarks) {
      std::vector<StateInterval> want;
      for (const auto& iv : m.Of(q)) {
        if (iv.end >= t1 && iv.start <= t2) want.push_back(iv);
      }
      ASSERT_EQ(*r.QueryRange(q, t1, t2), want);
    }
    std::vector<StateInterval> want_at;
    for (Quark q : quarks) {
      for (const auto& iv : m.Of(q)) {
        if (iv.Contains(t2)) want_at.push_back(iv);
      }
    }
    ASSERT_EQ(*r.QueryAt(t2), want_at);
  }
  // First/last intervals and the non-null span (a thread's lifetime).
  for (Quark q : quarks) {
    auto fl = r.FirstLast(q);
    ASSERT_TRUE(fl.ok());
    const auto& ivs = m.Of(q);
    ASSERT_FALSE(ivs.empty());
    ASSERT_TRUE(fl->has_value());
    EXPECT_EQ((*fl)->first, ivs.front());
    EXPECT_EQ((*fl)->second, ivs.back());
    std::optional<std::pair<int64_t, int64_t>> want;
    for (const auto& iv : ivs) {
      if (iv.value.is_null()) continue;
      if (!want) want = std::make_pair(iv.start, iv.end);
      want->second = iv.end;
    }
    EXPECT_EQ(NonNullSpan(r, q), want) << "quark " << q;
  }
  auto none = r.FirstLast(999);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// Long intervals (beyond 32-bit offsets) and ints beyond 62 bits take
// other encodings in the LevelDB store; mixed with short ones they must
// answer like the oracle.
TYPED_TEST(StateHistoryTest, LongIntervalsAndHugeValues) {
  auto& w = this->w();
  auto& r = this->r();
  std::mt19937_64 rng(11);
  Model m;
  std::vector<Quark> quarks = {w.GetOrAdd(kRootQuark, "x"),
                               w.GetOrAdd(kRootQuark, "y")};
  int64_t t = -(int64_t(1) << 40);
  std::vector<int64_t> times;
  for (int e = 0; e < 3000; ++e) {
    t += rng() % 50 == 0 ? int64_t(1) << (30 + rng() % 6) : int64_t(rng() % 9);
    Quark q = quarks[rng() % 2];
    StateValue v = rng() % 7 == 0 ? StateValue::Int(INT64_MIN + int64_t(e))
                                  : StateValue::Int(int64_t(rng() % 300));
    m.Set(t, q, v);
    w.Set(t, q, v);
    if (rng() % 400 == 0) {
      ASSERT_TRUE(w.Flush(t).ok());
    }
    if (rng() % 3 == 0) times.push_back(t + int64_t(rng() % 4));
  }
  std::sort(times.begin(), times.end());
  m.Close(t + 5);
  ASSERT_TRUE(w.Close(t + 5).ok());
  EXPECT_EQ(*r.QuerySampled(quarks, times), OracleSampled(m, quarks, times));
  for (Quark q : quarks) {
    EXPECT_EQ(*r.QueryRange(q, INT64_MIN, INT64_MAX), m.Of(q));
  }
}

// A reader thread querying while the writer runs sees, at every query, the
// exact state of one flush (never a torn or partial one) and at least what
// flushed_until() promised before the query.
TYPED_TEST(StateHistoryTest, ConcurrentReadsSeeConsistentFlushes) {
  auto& w = this->w();
  auto& r = this->r();
  std::vector<Quark> quarks;
  for (int k = 0; k < 8; ++k) {
    quarks.push_back(w.GetOrAddPath({"T", std::to_string(k)}));
  }
  std::mutex mu;
  std::set<size_t> flushed_totals = {0};
  std::map<int64_t, size_t> total_at;  // flush time -> intervals flushed
  Model m;
  std::atomic<bool> done{false};
  std::atomic<int> queries{0};
  std::vector<int64_t> all;  // every interval below holds a multiple of 7
  for (int64_t t = 0; t < 400000; t += 7) all.push_back(t);
  std::thread reader([&] {
    while (!done.load()) {
      int64_t promised = r.flushed_until();
      for (Quark q : quarks) {
        auto iv = r.QueryRange(q, INT64_MIN, INT64_MAX);
        ASSERT_TRUE(iv.ok());
        for (size_t k = 1; k < iv->size(); ++k) {
          ASSERT_EQ((*iv)[k].start, (*iv)[k - 1].end + 1);
        }
      }
      // One call is one snapshot: it holds exactly the intervals of one
      // flush, and at least those promised before the call.
      auto snap = r.QuerySampled(quarks, all);
      ASSERT_TRUE(snap.ok());
      std::lock_guard lock(mu);
      size_t n = snap->size();
      EXPECT_TRUE(flushed_totals.count(n)) << n;
      auto it = total_at.find(promised);
      if (it != total_at.end()) {
        EXPECT_GE(n, it->second);
      }
      ++queries;
    }
  });
  std::mt19937_64 rng(3);
  int64_t t = 0;
  for (int e = 0; e < 20000; ++e) {
    t += 8 + int64_t(rng() % 10);
    Quark q = quarks[rng() % quarks.size()];
    StateValue v = StateValue::Int(int64_t(e));
    m.Set(t, q, v);
    w.Set(t, q, v);
    if (e % 97 == 0) {
      {
        std::lock_guard lock(mu);
        flushed_totals.insert(m.closed());
        total_at[t] = m.closed();
      }
      ASSERT_TRUE(w.Flush(t).ok());
    }
  }
  t += 20;
  m.Close(t);
  {
    std::lock_guard lock(mu);
    flushed_totals.insert(m.closed());
    total_at[t] = m.closed();
  }
  ASSERT_TRUE(w.Close(t).ok());
  while (queries.load() < 3) std::this_thread::yield();
  done = true;
  reader.join();
  EXPECT_EQ(r.QuerySampled(quarks, all)->size(), m.closed());
  EXPECT_EQ(*r.QueryRange(quarks[0], 0, t), m.Of(quarks[0]));
}

}  // namespace
}  // namespace vmtrace::storage
