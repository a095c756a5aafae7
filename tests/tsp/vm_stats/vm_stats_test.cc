// VM statistics outputs on hand-built VM state histories (vm_layout.h):
// every table cell and XY value against hand-computed expectations.
//
// Scenario (host h1, window [0, 1000), history closed at 1000):
// - VM vmA (pid 1000), vCPUs 0 and 1, processes 0xa000 (threads s1, s2) and
//   0xb000;
// - VM vmB (pid 2000), vCPU 0 running a nested VM whose L1 hypervisor is
//   0x5000, with L2 processes 0xc000 and 0xd000.
// Intervals below are written half-open [from, next change).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analyses/vm/vm_layout.h"
#include "storage/memory_state_history.h"
#include "tsp/outputs/vm/vm_stats_providers.h"

namespace vmtrace::tsp {
namespace {

using storage::MemoryStateHistory;
using storage::Quark;
using storage::StateValue;
using namespace vm;  // NOLINT: state values

StateValue I(int64_t v) { return StateValue::Int(v); }
StateValue S(const char* s) { return StateValue::Str(s); }

class Builder {
 public:
  Quark Q(const std::string& path) {
    std::vector<std::string> parts;
    size_t b = 0;
    for (size_t e; (e = path.find('/', b)) != std::string::npos; b = e + 1) {
      parts.push_back(path.substr(b, e - b));
    }
    parts.push_back(path.substr(b));
    std::vector<std::string_view> views(parts.begin(), parts.end());
    return h.GetOrAddPath(views);
  }
  void Seq(const std::string& path,
           std::vector<std::pair<int64_t, StateValue>> changes) {
    Quark q = Q(path);
    for (auto& [t, v] : changes) h.Set(t, q, v);
  }
  MemoryStateHistory h;
};

constexpr char kA[] = "h1/VMs/1000";
constexpr char kB[] = "h1/VMs/2000";

std::string P(const char* vm, const std::string& rest) {
  return std::string(vm) + "/" + rest;
}

void BuildScenario(Builder* b, bool close = true) {
  b->Seq(P(kA, "vCPUs/0"), {{0, I(kVcpuUnknown)},
                            {100, I(kHypervisor)},
                            {150, I(kGuest)},
                            {300, I(kHypervisor)},
                            {350, I(kWaitTimer)},
                            {500, I(kHypervisor)},
                            {520, I(kGuest)},
                            {600, I(kHypervisor)},
                            {610, I(kPreemptedHost)},
                            {700, I(kHypervisor)},
                            {720, I(kGuest)},
                            {800, I(kHypervisor)},
                            {805, I(kGuest)},
                            {900, I(kHypervisor)},
                            {910, I(kWaitUnknown)}});
  b->Seq(P(kA, "Name"), {{0, S("vmA")}});
  b->Seq(P(kA, "vCPUs/0/Exit"),
         {{300, I(12)}, {600, I(1)}, {800, I(1)}, {900, I(30)}});
  b->Seq(P(kA, "vCPUs/0/CR3"), {{140, S("0xa000")},
                                {515, S("0xb000")},
                                {715, S("0xa000")},
                                {802, S("0xb000")}});
  b->Seq(P(kA, "vCPUs/1"), {{200, I(kGuest)},
                            {400, I(kHypervisor)},
                            {450, I(kWaitDisk)},
                            {650, I(kHypervisor)},
                            {660, I(kGuest)},
                            {700, I(kHypervisor)},
                            {705, I(kWaitNet)},
                            {850, I(kHypervisor)},
                            {870, I(kPreemptedVm)},
                            {950, I(kHypervisor)}});
  b->Seq(P(kA, "vCPUs/1/Exit"), {{400, I(30)}, {700, I(12)}});
  b->Seq(P(kA, "Processes/0xa000"), {{140, I(kVcpuHypervisor)},
                                     {150, I(kRunning)},
                                     {300, I(kVcpuHypervisor)},
                                     {350, I(kWaitTask)},
                                     {715, I(kVcpuHypervisor)},
                                     {720, I(kRunning)},
                                     {800, I(kVcpuHypervisor)},
                                     {802, I(kWaitUnknown)}});
  b->Seq(P(kA, "Processes/0xa000/Threads/s1"), {{150, I(kRunning)},
                                                {300, I(kVcpuHypervisor)},
                                                {350, I(kWaitTask)},
                                                {760, I(kRunning)},
                                                {800, I(kVcpuHypervisor)},
                                                {802, I(kWaitUnknown)}});
  b->Seq(P(kA, "Processes/0xa000/Threads/s2"),
         {{720, I(kRunning)}, {760, I(kWaitTask)}});
  b->Seq(P(kA, "Processes/0xb000"), {{515, I(kVcpuHypervisor)},
                                     {520, I(kRunning)},
                                     {600, I(kVcpuHypervisor)},
                                     {610, I(kVcpuPreempted)},
                                     {700, I(kVcpuHypervisor)},
                                     {715, I(kWaitTask)},
                                     {802, I(kVcpuHypervisor)},
                                     {805, I(kRunning)},
                                     {900, I(kVcpuHypervisor)},
                                     {910, I(kWaitUnknown)}});

  b->Seq(P(kB, "Name"), {{0, S("vmB")}});
  b->Seq(P(kB, "vCPUs/0"), {{50, I(kHypervisor)},
                            {100, I(kGuest)},
                            {200, I(kHypervisor)},
                            {210, I(kGuestL2)},
                            {300, I(kHypervisor)},
                            {310, I(kGuestL2)},
                            {400, I(kHypervisor)},
                            {410, I(kGuest)},
                            {450, I(kHypervisor)},
                            {460, I(kGuestL2)},
                            {600, I(kHypervisor)},
                            {610, I(kWaitTimer)},
                            {800, I(kHypervisor)},
                            {820, I(kGuestL2)}});
  b->Seq(P(kB, "vCPUs/0/Exit"),
         {{200, I(24)}, {300, I(1)}, {400, I(10)}, {450, I(24)}, {600, I(12)}});
  b->Seq(P(kB, "vCPUs/0/CR3"), {{95, S("0x5000")},
                                {205, S("0xc000")},
                                {305, S("0xd000")},
                                {405, S("0x5000")},
                                {455, S("0xd000")},
                                {815, S("0xc000")}});
  b->Seq(P(kB, "Processes/0x5000"), {{95, I(kVcpuHypervisor)},
                                     {100, I(kRunning)},
                                     {200, I(kVcpuHypervisor)},
                                     {210, I(kRunning)},
                                     {600, I(kVcpuHypervisor)},
                                     {610, I(kWaitTimer)},
                                     {815, I(kRunning)}});
  b->Seq(P(kB, "Nested/0x5000/vCPUs/0"), {{210, I(kGuestL2)},
                                          {300, I(kHypervisor)},
                                          {310, I(kGuestL2)},
                                          {400, I(kHypervisor)},
                                          {410, I(kL1ForL2)},
                                          {450, I(kHypervisor)},
                                          {460, I(kGuestL2)},
                                          {600, I(kHypervisor)},
                                          {610, I(kWaitTimer)},
                                          {800, I(kHypervisor)},
                                          {820, I(kGuestL2)}});
  b->Seq(P(kB, "Nested/0x5000/Processes/0xc000"), {{205, I(kVcpuHypervisor)},
                                                   {210, I(kRunning)},
                                                   {300, I(kVcpuHypervisor)},
                                                   {305, I(kWaitTask)},
                                                   {815, I(kVcpuHypervisor)},
                                                   {820, I(kRunning)}});
  b->Seq(P(kB, "Nested/0x5000/Processes/0xd000"), {{305, I(kVcpuHypervisor)},
                                                   {310, I(kRunning)},
                                                   {400, I(kVcpuHypervisor)},
                                                   {460, I(kRunning)},
                                                   {600, I(kVcpuHypervisor)},
                                                   {610, I(kWaitUnknown)}});
  if (close) {
    ASSERT_TRUE(b->h.Close(1000).ok());
  }
}

using Rows = std::vector<std::vector<std::string>>;

void ExpectRows(const TableModel& m, const Rows& want) {
  ASSERT_EQ(m.rows.size(), want.size());
  for (size_t r = 0; r < want.size(); ++r) {
    EXPECT_EQ(m.rows[r], want[r]) << "row " << r;
  }
}

void ExpectColumns(const TableProvider& p, const TableModel& m) {
  auto cols = p.Columns();
  ASSERT_EQ(cols.size(), m.columns.size());
  for (size_t i = 0; i < cols.size(); ++i) {
    EXPECT_EQ(cols[i].id, int64_t(i));
    EXPECT_EQ(cols[i].name, m.columns[i].name);
    EXPECT_TRUE(cols[i].type == "NUMBER" || cols[i].type == "STRING")
        << cols[i].type;
  }
  for (const auto& row : m.rows) EXPECT_EQ(row.size(), cols.size());
}

TEST(VmStats, Descriptors) {
  Builder b;
  EXPECT_EQ(MakeVmWaitTableProvider(&b.h)->descriptor().name,
            "VM Wait Analysis");
  EXPECT_EQ(MakeVmWaitTableProvider(&b.h)->descriptor().type, "TABLE");
  EXPECT_EQ(MakeVmWaitXyProvider(&b.h)->descriptor().type, "TREE_TIME_XY");
  EXPECT_EQ(MakeVmExitsTableProvider(&b.h)->descriptor().name, "VM Exits");
  EXPECT_EQ(MakeVmExitRateProvider(&b.h)->descriptor().type, "TREE_TIME_XY");
  EXPECT_EQ(MakeVcpuUsageProvider(&b.h)->descriptor().name, "vCPU Usage");
  EXPECT_EQ(MakeVcpuUsageProvider(&b.h)->descriptor().id,
            "vmtrace.vm.vcpu_usage");
  EXPECT_EQ(MakePreemptionsProvider(&b.h)->descriptor().name, "Preemptions");
}

TEST(VmStats, WaitTable) {
  Builder b;
  BuildScenario(&b);
  auto p = MakeVmWaitTableProvider(&b.h);
  auto m = p->Table();
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_FALSE(m->running);
  ExpectColumns(*p, *m);
  // Per category: ns, share of the row's wait; then total, share of time.
  ExpectRows(
      *m,
      {{"h1", "vmA", "1000", "VM", "150", "25.64%", "200", "34.19%", "145",
        "24.79%", "0", "0.00%", "90", "15.38%", "585", "29.25%"},
       {"h1", "vmA", "1000", "vCPU 0", "150", "62.50%", "0", "0.00%", "0",
        "0.00%", "0", "0.00%", "90", "37.50%", "240", "24.00%"},
       {"h1", "vmA", "1000", "vCPU 1", "0", "0.00%", "200", "57.97%", "145",
        "42.03%", "0", "0.00%", "0", "0.00%", "345", "34.50%"},
       {"h1", "vmA", "1000", "Process 0xa000", "0", "0.00%", "0", "0.00%", "0",
        "0.00%", "365", "64.83%", "198", "35.17%", "563", "56.30%"},
       {"h1", "vmA", "1000", "Process 0xb000", "0", "0.00%", "0", "0.00%", "0",
        "0.00%", "87", "49.15%", "90", "50.85%", "177", "17.70%"},
       {"h1", "vmB", "2000", "VM", "190", "100.00%", "0", "0.00%", "0", "0.00%",
        "0", "0.00%", "0", "0.00%", "190", "19.00%"},
       {"h1", "vmB", "2000", "vCPU 0", "190", "100.00%", "0", "0.00%", "0",
        "0.00%", "0", "0.00%", "0", "0.00%", "190", "19.00%"},
       {"h1", "vmB", "2000", "Process 0x5000", "205", "100.00%", "0", "0.00%",
        "0", "0.00%", "0", "0.00%", "0", "0.00%", "205", "20.50%"},
       {"h1", "vmB", "2000", "Nested 0x5000 vCPU 0", "190", "100.00%", "0",
        "0.00%", "0", "0.00%", "0", "0.00%", "0", "0.00%", "190", "19.00%"},
       {"h1", "vmB", "2000", "Nested 0x5000 process 0xc000", "0", "0.00%", "0",
        "0.00%", "0", "0.00%", "510", "100.00%", "0", "0.00%", "510", "51.00%"},
       {"h1", "vmB", "2000", "Nested 0x5000 process 0xd000", "0", "0.00%", "0",
        "0.00%", "0", "0.00%", "0", "0.00%", "390", "100.00%", "390",
        "39.00%"}});
}

TEST(VmStats, ExitsTable) {
  Builder b;
  BuildScenario(&b);
  auto p = MakeVmExitsTableProvider(&b.h);
  auto m = p->Table();
  ASSERT_TRUE(m.ok()) << m.status().message();
  ExpectColumns(*p, *m);
  // vmA: vCPU 0 exits 12 (50 + 20 after the wait), 1 (10 + 20 after the
  // preemption), 1 (5), 30 (10); vCPU 1 exits 30 (50 + 10), 12 (5 + 20 +
  // 50 clipped at the end). HYPERVISOR [100, 150) follows no guest time.
  // vmB: 24 (10), 1 from L2 (10), 10 from L2 (10), 24 (10), 12 from L2
  // (10 + 20).
  ExpectRows(*m, {{"h1", "vmA", "1000", "1", "EXTERNAL_INTERRUPT", "2", "0",
                   "35", "17", "30", "14.00%"},
                  {"h1", "vmA", "1000", "12", "HLT", "2", "0", "145", "72",
                   "75", "58.00%"},
                  {"h1", "vmA", "1000", "30", "IO_INSTRUCTION", "2", "0", "70",
                   "35", "60", "28.00%"},
                  {"h1", "vmB", "2000", "1", "EXTERNAL_INTERRUPT", "1", "1",
                   "10", "10", "10", "14.29%"},
                  {"h1", "vmB", "2000", "10", "CPUID", "1", "1", "10", "10",
                   "10", "14.29%"},
                  {"h1", "vmB", "2000", "12", "HLT", "1", "1", "30", "30", "30",
                   "42.86%"},
                  {"h1", "vmB", "2000", "24", "VMRESUME", "2", "0", "20", "10",
                   "10", "28.57%"}});
}

TEST(VmStats, PreemptionsTable) {
  Builder b;
  BuildScenario(&b);
  auto p = MakePreemptionsProvider(&b.h);
  auto m = p->Table();
  ASSERT_TRUE(m.ok()) << m.status().message();
  ExpectColumns(*p, *m);
  // vmA processes: 0xb000 named first after the timer wait (a wake-up, not
  // a preemption); 0xb000 displaced at 715 (off 87), 0xa000 at 802 (off
  // until the end, 198). Threads: s2 off at 760 as s1 comes on (off 240).
  // vmB: L2 0xc000 displaced by 0xd000 at 305 (off 510); entering and
  // leaving L2 and the switch after the wait at 610 are not preemptions.
  ExpectRows(
      *m,
      {{"h1", "vmA", "1000", "Host -> VM", "1", "90", "90", "90", "4.50%"},
       {"h1", "vmA", "1000", "VM <-> VM", "1", "80", "80", "80", "4.00%"},
       {"h1", "vmA", "1000", "Process <-> process", "2", "285", "142", "198",
        "14.25%"},
       {"h1", "vmA", "1000", "Thread <-> thread", "1", "240", "240", "240",
        "12.00%"},
       {"h1", "vmB", "2000", "Host -> VM", "0", "0", "0", "0", "0.00%"},
       {"h1", "vmB", "2000", "VM <-> VM", "0", "0", "0", "0", "0.00%"},
       {"h1", "vmB", "2000", "Process <-> process", "1", "510", "510", "510",
        "51.00%"},
       {"h1", "vmB", "2000", "Thread <-> thread", "0", "0", "0", "0", "0.00%"},
       {"", "All VMs", "", "Host -> VM", "1", "90", "90", "90", "3.00%"},
       {"", "All VMs", "", "VM <-> VM", "1", "80", "80", "80", "2.67%"},
       {"", "All VMs", "", "Process <-> process", "3", "795", "265", "510",
        "26.50%"},
       {"", "All VMs", "", "Thread <-> thread", "1", "240", "240", "240",
        "8.00%"}});
}

// Entry id of a category series: quark * 8 + 1 + category.
int64_t Series(MemoryStateHistory& h, const std::string& path, int c) {
  std::vector<std::string> parts;
  size_t b = 0;
  for (size_t e; (e = path.find('/', b)) != std::string::npos; b = e + 1) {
    parts.push_back(path.substr(b, e - b));
  }
  parts.push_back(path.substr(b));
  auto q = h.Find(parts);
  EXPECT_TRUE(q.has_value()) << path;
  return int64_t(q.value_or(0)) * 8 + (c < 0 ? 0 : 1 + c);
}

std::map<int64_t, std::vector<double>> ById(const XyModel& m) {
  std::map<int64_t, std::vector<double>> out;
  for (const auto& s : m.series) out[s.id] = s.y;
  return out;
}

const std::vector<int64_t> kTimes = {0, 250, 500, 750, 1000};

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want,
                const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-9) << what << " sample " << i;
  }
}

TEST(VmStats, VcpuUsageXy) {
  Builder b;
  BuildScenario(&b);
  auto p = MakeVcpuUsageProvider(&b.h);
  const std::string a0 = P(kA, "vCPUs/0"), a = kA;
  std::vector<int64_t> items;
  for (int c = 0; c < 4; ++c) {
    items.push_back(Series(b.h, a0, c));
    items.push_back(Series(b.h, a, c));
  }
  auto m = p->Fetch(kTimes, items);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->running);
  EXPECT_EQ(m->y_unit, "%");
  auto y = ById(*m);
  ASSERT_EQ(y.size(), 8u);
  // Buckets of 250 ns; states straddle them (GUEST [150, 300) gives 100 to
  // bucket 0 and 50 to bucket 1); the last sample repeats the last bucket.
  ExpectNear(y[Series(b.h, a0, 0)], {40, 20, 44, 58, 58}, "A0 guest");
  ExpectNear(y[Series(b.h, a0, 1)], {20, 20, 20, 6, 6}, "A0 hypervisor");
  ExpectNear(y[Series(b.h, a0, 2)], {0, 0, 36, 0, 0}, "A0 preempted");
  ExpectNear(y[Series(b.h, a0, 3)], {0, 60, 0, 36, 36}, "A0 idle");
  // The VM: both vCPUs over 2 x 250 ns.
  ExpectNear(y[Series(b.h, a, 0)], {30, 40, 30, 29, 29}, "A guest");
  ExpectNear(y[Series(b.h, a, 1)], {10, 20, 13, 17, 17}, "A hypervisor");
  ExpectNear(y[Series(b.h, a, 2)], {0, 0, 18, 16, 16}, "A preempted");
  ExpectNear(y[Series(b.h, a, 3)], {0, 40, 39, 38, 38}, "A idle");

  auto tree = p->Tree(0, 1000);
  ASSERT_TRUE(tree.ok());
  // h1; vmA, its 4 series, 2 vCPUs x (1 + 4); vmB, 4 series, 1 x (1 + 4).
  EXPECT_EQ(tree->entries.size(), 1u + (1 + 4 + 10) + (1 + 4 + 5));
  std::map<int64_t, TreeEntry> e;
  for (const auto& t : tree->entries) e[t.id] = t;
  ASSERT_TRUE(e.count(Series(b.h, a0, 2)));
  EXPECT_EQ(e[Series(b.h, a0, 2)].labels[0], "Preempted");
  EXPECT_EQ(e[Series(b.h, a0, 2)].parent_id, Series(b.h, a0, -1));
  EXPECT_EQ(e[Series(b.h, a0, -1)].parent_id, Series(b.h, a, -1));
  EXPECT_EQ(e[Series(b.h, a, -1)].labels[0], "vmA (1000)");
  EXPECT_TRUE(e[Series(b.h, a, 0)].is_default);
}

TEST(VmStats, WaitXy) {
  Builder b;
  BuildScenario(&b);
  auto p = MakeVmWaitXyProvider(&b.h);
  std::vector<int64_t> items;
  for (int c = 0; c < 5; ++c) items.push_back(Series(b.h, kA, c));
  items.push_back(Series(b.h, kB, 0));
  auto m = p->Fetch(kTimes, items);
  ASSERT_TRUE(m.ok());
  auto y = ById(*m);
  ASSERT_EQ(y.size(), 6u);
  // Percent of the VM's vCPU time (2 x 250 ns for vmA).
  ExpectNear(y[Series(b.h, kA, 0)], {0, 30, 0, 0, 0}, "timer");
  ExpectNear(y[Series(b.h, kA, 1)], {0, 10, 30, 0, 0}, "disk");
  ExpectNear(y[Series(b.h, kA, 2)], {0, 0, 9, 20, 20}, "net");
  ExpectNear(y[Series(b.h, kA, 3)], {0, 0, 0, 0, 0}, "task");
  ExpectNear(y[Series(b.h, kA, 4)], {0, 0, 0, 18, 18}, "unknown");
  // vmB's only vCPU waits for a timer over [610, 800).
  ExpectNear(y[Series(b.h, kB, 0)], {0, 0, 56, 20, 20}, "B timer");
  auto tree = p->Tree(0, 1000);
  ASSERT_TRUE(tree.ok());
  EXPECT_EQ(tree->entries.size(), 1u + 2 * (1 + 5));
}

TEST(VmStats, ExitRateXy) {
  Builder b;
  BuildScenario(&b);
  auto p = MakeVmExitRateProvider(&b.h);
  const int64_t a = Series(b.h, kA, -1), a0 = Series(b.h, P(kA, "vCPUs/0"), -1),
                bv = Series(b.h, kB, -1);
  auto m = p->Fetch(kTimes, {a, a0, bv});
  ASSERT_TRUE(m.ok());
  auto y = ById(*m);
  EXPECT_EQ(m->y_unit, "exits/s");
  // vmA exits at 300, 400 | 600, 700 | 800, 900: 2 per 250 ns = 8e6/s.
  ExpectNear(y[a], {0, 8e6, 8e6, 8e6, 8e6}, "vmA");
  ExpectNear(y[a0], {0, 4e6, 4e6, 8e6, 8e6}, "vmA vCPU 0");
  // vmB exits at 200 | 300, 400, 450 | 600 | -.
  ExpectNear(y[bv], {4e6, 12e6, 4e6, 0, 0}, "vmB");
  // An exit exactly at the first sample counts (its guest interval is
  // read from before the range).
  auto m2 = p->Fetch({300, 400}, {a0});
  ASSERT_TRUE(m2.ok());
  ExpectNear(ById(*m2)[a0], {1e7, 1e7}, "exit at the first sample");
}

TEST(VmStats, RunningWhileIncomplete) {
  Builder b;
  b.Seq(P(kA, "vCPUs/0"),
        {{0, I(kGuest)}, {100, I(kHypervisor)}, {200, I(kWaitTimer)}});
  b.Seq(P(kA, "vCPUs/0/Exit"), {{100, I(12)}});
  ASSERT_TRUE(b.h.Flush(300).ok());
  auto wait = MakeVmWaitTableProvider(&b.h);
  auto exits = MakeVmExitsTableProvider(&b.h);
  auto usage = MakeVcpuUsageProvider(&b.h);
  auto m = wait->Table();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->running);
  // The open wait is not visible yet; the name is not either (pid).
  ASSERT_EQ(m->rows.size(), 2u);
  EXPECT_EQ(m->rows[0][1], "1000");
  EXPECT_EQ(m->rows[0][14], "0");
  auto e = exits->Table();
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->running);
  ASSERT_EQ(e->rows.size(), 1u);
  EXPECT_EQ(e->rows[0][7], "100");  // HYPERVISOR [100, 200)
  auto x = usage->Fetch({0, 100, 200}, {Series(b.h, kA, 0)});
  ASSERT_TRUE(x.ok());
  EXPECT_TRUE(x->running);
  auto t = usage->Tree(0, 300);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->running);

  ASSERT_TRUE(b.h.Close(400).ok());
  m = wait->Table();
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->running);
  EXPECT_EQ(m->rows[0][4], "200");  // WAIT_TIMER [200, 400)
  EXPECT_EQ(m->rows[0][14], "200");
  EXPECT_EQ(m->rows[0][15], "50.00%");
  e = exits->Table();
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->running);
  // Cached once complete: the same answer again.
  auto again = wait->Table();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->rows, m->rows);
}

TEST(VmStats, EmptyHistory) {
  Builder b;
  ASSERT_TRUE(b.h.Close(0).ok());
  std::vector<std::unique_ptr<TableProvider>> tables;
  tables.push_back(MakeVmWaitTableProvider(&b.h));
  tables.push_back(MakeVmExitsTableProvider(&b.h));
  for (const auto& p : tables) {
    auto m = p->Table();
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(m->rows.empty());
  }
  auto m = MakePreemptionsProvider(&b.h)->Table();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->rows.size(), 4u);  // the All VMs rows
  auto x = MakeVcpuUsageProvider(&b.h)->Fetch({}, {8});
  ASSERT_TRUE(x.ok());
  EXPECT_TRUE(x->series.empty());
  // Unknown or foreign ids are skipped.
  auto y = MakeVmWaitXyProvider(&b.h)->Fetch({0, 10}, {-1, 8, 1 << 30});
  ASSERT_TRUE(y.ok());
  EXPECT_TRUE(y->series.empty());
}

}  // namespace
}  // namespace vmtrace::tsp
