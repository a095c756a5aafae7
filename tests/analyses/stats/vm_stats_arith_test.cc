// The statistics arithmetic of analyses/stats on small hand-built state
// histories: every figure is computed by hand in the comments.
//
// VM history (host h1, window [0, 1000), closed at 1000), VM 1000 "vmA":
//   vCPU 0: [0,100) GUEST, [100,120) HYPERVISOR (exit 12), [120,200) GUEST,
//           [200,210) HYPERVISOR (exit 30), [210,260) PREEMPTED_HOST,
//           [260,270) HYPERVISOR, [270,400) WAIT_TIMER, [400,1000) GUEST
//   vCPU 1: [0,500) WAIT_DISK, [500,600) PREEMPTED_VM, [600,1000) GUEST_L2
//   CR3 of vCPU 0: 0xa at 0, 0xb at 150 (0xa displaced while not idle)
//   process 0xa: [0,150) RUNNING, [150,300) WAIT_TASK, [300,1000) RUNNING
//   its threads: t1 [0,500) RUNNING, [500,1000) WAIT_TASK;
//                t2 [0,500) WAIT_TASK, [500,1000) RUNNING
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "analyses/kernel/kernel_model.h"
#include "analyses/stats/preemptions.h"
#include "analyses/stats/usage.h"
#include "analyses/stats/vm_exits.h"
#include "analyses/stats/vm_waits.h"
#include "analyses/stats/vm_walk.h"
#include "storage/memory_state_history.h"

namespace vmtrace::stats {
namespace {

using storage::MemoryStateHistory;
using storage::StateValue;

StateValue I(int64_t v) { return StateValue::Int(v); }
StateValue S(const char* s) { return StateValue::Str(s); }

Quark Path(MemoryStateHistory* h, const std::string& path) {
  std::vector<std::string> parts;
  size_t b = 0;
  for (size_t e; (e = path.find('/', b)) != std::string::npos; b = e + 1) {
    parts.push_back(path.substr(b, e - b));
  }
  parts.push_back(path.substr(b));
  std::vector<std::string_view> views(parts.begin(), parts.end());
  return h->GetOrAddPath(views);
}

void Seq(MemoryStateHistory* h, const std::string& path,
         std::vector<std::pair<int64_t, StateValue>> changes) {
  Quark q = Path(h, path);
  for (auto& [t, v] : changes) h->Set(t, q, v);
}

class VmStatsArithTest : public ::testing::Test {
 protected:
  void SetUp() override {
    using namespace vm;  // NOLINT: state values
    const std::string vm = "h1/VMs/1000/";
    Seq(&h_, vm + "Name", {{0, S("vmA")}});
    Seq(&h_, vm + "vCPUs/0",
        {{0, I(kGuest)},
         {100, I(kHypervisor)},
         {120, I(kGuest)},
         {200, I(kHypervisor)},
         {210, I(kPreemptedHost)},
         {260, I(kHypervisor)},
         {270, I(kWaitTimer)},
         {400, I(kGuest)}});
    Seq(&h_, vm + "vCPUs/0/Exit", {{100, I(12)}, {200, I(30)}});
    Seq(&h_, vm + "vCPUs/0/CR3", {{0, S("0xa")}, {150, S("0xb")}});
    Seq(&h_, vm + "vCPUs/1",
        {{0, I(kWaitDisk)}, {500, I(kPreemptedVm)}, {600, I(kGuestL2)}});
    Seq(&h_, vm + "Processes/0xa",
        {{0, I(kRunning)}, {150, I(kWaitTask)}, {300, I(kRunning)}});
    Seq(&h_, vm + "Processes/0xa/Threads/t1",
        {{0, I(kRunning)}, {500, I(kWaitTask)}});
    Seq(&h_, vm + "Processes/0xa/Threads/t2",
        {{0, I(kWaitTask)}, {500, I(kRunning)}});
    ASSERT_TRUE(h_.Close(1000).ok());
    auto vms = ListVms(h_);
    ASSERT_EQ(vms.size(), 1u);
    vm_ = vms[0];
    w_ = ObservedWindow(h_);
  }

  MemoryStateHistory h_;
  VmRef vm_;
  Window w_;
};

TEST_F(VmStatsArithTest, WalksTheVmLayout) {
  EXPECT_EQ(vm_.host_name, "h1");
  EXPECT_EQ(vm_.pid, "1000");
  EXPECT_EQ(vm_.name, "vmA");
  ASSERT_EQ(vm_.vcpus.size(), 2u);
  EXPECT_EQ(vm_.vcpus[0].id, "0");
  ASSERT_EQ(vm_.processes.size(), 1u);
  EXPECT_EQ(vm_.processes[0].cr3, "0xa");
  EXPECT_EQ(w_.start, 0);
  EXPECT_EQ(w_.end, 1000);
  ASSERT_TRUE(FindVm(h_, vm_.q).has_value());
  EXPECT_FALSE(FindVm(h_, vm_.vcpus[0].q).has_value());
}

TEST_F(VmStatsArithTest, ClipsClosedIntervalsToTheWindow) {
  StateInterval iv;
  iv.start = 900;
  iv.end = 1200;  // [900, 1201) clipped to [900, 1000)
  EXPECT_EQ(Clipped(iv, w_), 100);
  iv.start = 10;
  iv.end = 19;
  EXPECT_EQ(Clipped(iv, w_), 10);
}

TEST_F(VmStatsArithTest, SumsWaitsPerCategory) {
  WaitTotals t{};
  ASSERT_TRUE(AddWaits(h_, vm_.vcpus[0].q, w_, &t).ok());
  ASSERT_TRUE(AddWaits(h_, vm_.vcpus[1].q, w_, &t).ok());
  // Timer [270,400) = 130; disk [0,500) = 500.
  EXPECT_EQ(t, (WaitTotals{130, 500, 0, 0, 0}));
  auto b = WaitBuckets(h_, vm_.vcpus, {0, 500, 1000});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0], (std::vector<double>{130, 0, 0}));
  EXPECT_EQ((*b)[1], (std::vector<double>{500, 0, 0}));
}

TEST_F(VmStatsArithTest, WaitTableFollowsAWindowClippedToTheObservedOne) {
  // [300, 2000) is clipped to [300, 1000): timer [300,400) = 100, disk
  // [300,500) = 200; process 0xa WAIT_TASK [300,300) = 0.
  auto t = ComputeWaitTable(h_, {300, 2000});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->window.start, 300);
  EXPECT_EQ(t->window.end, 1000);
  ASSERT_EQ(t->rows.size(), 4u);  // VM, vCPU 0, vCPU 1, Process 0xa
  EXPECT_EQ(t->rows[0].element, "VM");
  EXPECT_EQ(t->rows[0].totals, (WaitTotals{100, 200, 0, 0, 0}));
  EXPECT_EQ(t->rows[0].observed, 700.0 * 2);
  EXPECT_EQ(t->rows[1].element, "vCPU 0");
  EXPECT_EQ(t->rows[1].totals, (WaitTotals{100, 0, 0, 0, 0}));
  EXPECT_EQ(t->rows[2].totals, (WaitTotals{0, 200, 0, 0, 0}));
  EXPECT_EQ(t->rows[3].element, "Process 0xa");
  EXPECT_EQ(t->rows[3].totals, (WaitTotals{}));
  // The process waits for a task over [150, 300).
  t = ComputeWaitTable(h_, {-50, 250});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->rows[3].totals, (WaitTotals{0, 0, 0, 100, 0}));
  // Outside the observed window, or empty: every row, with zero times.
  for (Window w : {Window{2000, 3000}, Window{500, 500}, Window{600, 400}}) {
    t = ComputeWaitTable(h_, w);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->window.length(), 0);
    ASSERT_EQ(t->rows.size(), 4u);
    for (const WaitRow& r : t->rows) {
      EXPECT_EQ(r.totals, (WaitTotals{}));
      EXPECT_EQ(r.observed, 0.0);
    }
  }
}

TEST_F(VmStatsArithTest, CountsExitsUntilTheNextGuestEntry) {
  auto exits = CollectExits(h_, vm_.vcpus[0], w_.start, w_.end, w_);
  ASSERT_TRUE(exits.ok());
  ASSERT_EQ(exits->size(), 2u);
  EXPECT_EQ((*exits)[0].reason, 12);
  EXPECT_EQ((*exits)[0].ns, 20);
  // Exit 30: [200,210) and [260,270) before the next entry at 400.
  EXPECT_EQ((*exits)[1].reason, 30);
  EXPECT_EQ((*exits)[1].ns, 20);
  int64_t total = 0;
  auto by_reason = ExitsByReason(h_, vm_, w_, &total);
  ASSERT_TRUE(by_reason.ok());
  EXPECT_EQ(total, 40);
  ASSERT_EQ(by_reason->size(), 2u);
  EXPECT_EQ(by_reason->at(12).count, 1);
  EXPECT_EQ(by_reason->at(30).max, 20);
  auto counts = ExitCounts(h_, {vm_.vcpus[0]}, {0, 150, 1000});
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, (std::vector<double>{1, 1, 0}));
}

TEST_F(VmStatsArithTest, PreemptionsOfEveryKind) {
  auto s = VmPreemptions(h_, vm_, w_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[kHostToVm].count, 1);
  EXPECT_EQ((*s)[kHostToVm].total, 50);
  EXPECT_EQ((*s)[kVmToVm].total, 100);
  // 0xa displaced at 150 while running: off [150,300) from the switch.
  EXPECT_EQ((*s)[kProcess].count, 1);
  EXPECT_EQ((*s)[kProcess].total, 150);
  // t1 goes off at 500 as t2 comes on: off [500,1000).
  EXPECT_EQ((*s)[kThread].count, 1);
  EXPECT_EQ((*s)[kThread].total, 500);
}

TEST_F(VmStatsArithTest, VcpuUsageByCategory) {
  std::vector<Quark> vcpus = {vm_.vcpus[0].q, vm_.vcpus[1].q};
  auto b = VcpuUsageBuckets(h_, vcpus, {0, 1000});
  ASSERT_TRUE(b.ok());
  // Guest 100+80+600 + L2 400; hypervisor 20+10+10; preempted 50+100;
  // idle 130+500.
  EXPECT_EQ((*b)[0][0], 1180);
  EXPECT_EQ((*b)[1][0], 40);
  EXPECT_EQ((*b)[2][0], 150);
  EXPECT_EQ((*b)[3][0], 630);
  EXPECT_EQ(VcpuUsageCategory(StateValue::Int(vm::kVcpuUnknown)), -1);
}

TEST(CpuUsageArithTest, BusyCpusAndRunningThreads) {
  MemoryStateHistory h;
  Seq(&h, "h1/CPUs/0",
      {{0, I(kernel::kCpuIdle)},
       {100, I(kernel::kCpuRunUsermode)},
       {300, I(kernel::kCpuIdle)}});
  Seq(&h, "h1/CPUs/1", {{0, I(kernel::kCpuRunSyscall)}});
  Seq(&h, "h1/Threads/42",
      {{0, I(kernel::kRunUsermode)},
       {50, I(kernel::kWaitBlocked)},
       {250, I(kernel::kRunSyscall)}});
  ASSERT_TRUE(h.Close(400).ok());
  std::vector<Quark> cpus = {Path(&h, "h1/CPUs/0"), Path(&h, "h1/CPUs/1")};
  auto busy = CpuBusyBuckets(h, cpus, {0, 200, 400});
  ASSERT_TRUE(busy.ok());
  // CPU 0 [100,300), CPU 1 all along.
  EXPECT_EQ(*busy, (std::vector<double>{300, 300, 0}));
  auto runs = ThreadRunBuckets(h, Path(&h, "h1/Threads/42"), {0, 200, 400});
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(*runs, (std::vector<double>{50, 150, 0}));
}

}  // namespace
}  // namespace vmtrace::stats
