// The time statistics computed from cumulative totals (QueryTotals) equal
// the scan oracle (scan_oracle.h) exactly, on every bundled generator
// scenario (generated here by vmtrace-gen): the kernel and VM models write
// LevelDB state histories as the pass does (flushing as they go), and the
// waits, wait / vCPU-usage / CPU-busy / thread-run buckets and the CPU
// Usage tree's "ran in range" test are compared for the whole observed
// window, random windows and random bucket times -- midway through the
// pass (flushed part only) and once the histories are complete.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/kernel/kernel_model.h"
#include "analyses/stats/usage.h"
#include "analyses/stats/vm_waits.h"
#include "analyses/stats/vm_walk.h"
#include "analyses/vm/vm_model.h"
#include "storage/leveldb_state_history.h"
#include "tests/analyses/stats/scan_oracle.h"

namespace vmtrace::stats {
namespace {

namespace fs = std::filesystem;
using storage::LevelDbStateHistory;

std::unique_ptr<LevelDbStateHistory> OpenStore(const fs::path& dir,
                                               const std::string& id) {
  // Small batches: many blocks, hence many checkpoints, on short traces.
  auto h = LevelDbStateHistory::Open({dir.string(), id, 1, "fp", 256});
  EXPECT_TRUE(h.ok());
  return std::move(h).value();
}

// Random windows over (and a little beyond) w, plus the edge cases.
std::vector<Window> Windows(const Window& w, std::mt19937_64* rng, int n) {
  std::vector<Window> out = {w,
                             {w.start, w.start},
                             {w.end, w.start},
                             {w.start - 1000, w.start + 1},
                             {w.end - 1, w.end + 1000}};
  const int64_t span = std::max<int64_t>(1, w.length());
  std::uniform_int_distribution<int64_t> d(w.start - span / 20,
                                           w.end + span / 20);
  for (int i = 0; i < n; ++i) {
    int64_t a = d(*rng), b = d(*rng);
    out.push_back({std::min(a, b), std::max(a, b)});
  }
  return out;
}

// Bucket times: the whole window in even steps, and random ascending ones
// (duplicates allowed, as zero-width buckets).
std::vector<std::vector<int64_t>> TimeSets(const Window& w,
                                           std::mt19937_64* rng) {
  std::vector<std::vector<int64_t>> out;
  std::vector<int64_t> even;
  for (int k = 0; k <= 100; ++k) {
    even.push_back(w.start + (w.end - w.start) * k / 100);
  }
  out.push_back(even);
  for (const Window& r : Windows(w, rng, 4)) {
    std::uniform_int_distribution<int64_t> d(r.start, std::max(r.start, r.end));
    std::vector<int64_t> t;
    for (int k = 0; k < 40; ++k) t.push_back(d(*rng));
    std::sort(t.begin(), t.end());
    out.push_back(t);
  }
  return out;
}

// Returns the wait time of the whole observed window (to show the
// comparison is not vacuous).
int64_t CheckVm(const StateHistory& h, std::mt19937_64* rng,
                const std::string& when) {
  int64_t whole = 0;
  const std::vector<VmRef> vms = ListVms(h);
  const Window obs = ObservedWindow(h);
  for (const Window& w : Windows(obs, rng, 12)) {
    for (const VmRef& vm : vms) {
      std::vector<Quark> rows;
      for (const auto& v : vm.vcpus) rows.push_back(v.q);
      for (const auto& p : vm.processes) rows.push_back(p.q);
      for (const auto& n : vm.nested) {
        for (const auto& v : n.vcpus) rows.push_back(v.q);
        for (const auto& p : n.processes) rows.push_back(p.q);
      }
      for (Quark q : rows) {
        WaitTotals got{}, want{};
        EXPECT_TRUE(AddWaits(h, q, w, &got).ok());
        EXPECT_TRUE(oracle::AddWaitsScan(h, q, w, &want).ok());
        EXPECT_EQ(got, want) << when << " quark " << q << " window [" << w.start
                             << ", " << w.end << ")";
        if (w.start == obs.start && w.end == obs.end) {
          for (int64_t ns : got) whole += ns;
        }
      }
    }
    // The table's rows: the window clipped to the observed one.
    auto table = ComputeWaitTable(h, w);
    EXPECT_TRUE(table.ok());
    if (!table.ok()) return whole;
    const Window c = ClipToObserved(h, w);
    EXPECT_EQ(table->window.start, c.start);
    EXPECT_EQ(table->window.end, c.end);
    size_t r = 0;
    for (const VmRef& vm : vms) {
      if (r >= table->rows.size() || table->rows[r].element != "VM") {
        ADD_FAILURE() << when << " no VM row for " << vm.pid;
        return whole;
      }
      WaitTotals all{};
      for (const auto& v : vm.vcpus) {
        EXPECT_TRUE(oracle::AddWaitsScan(h, v.q, c, &all).ok());
      }
      EXPECT_EQ(table->rows[r].totals, all) << when << " VM " << vm.pid;
      ++r;
      while (r < table->rows.size() && table->rows[r].element != "VM") ++r;
    }
    EXPECT_EQ(r, table->rows.size());
  }
  for (const auto& times : TimeSets(obs, rng)) {
    for (const VmRef& vm : vms) {
      auto got = WaitBuckets(h, vm.vcpus, times);
      auto want = oracle::WaitBucketsScan(h, vm.vcpus, times);
      EXPECT_TRUE(got.ok() && want.ok());
      EXPECT_EQ(*got, *want) << when << " wait buckets of VM " << vm.pid;
      std::vector<Quark> vcpus;
      for (const auto& v : vm.vcpus) vcpus.push_back(v.q);
      for (const auto& n : vm.nested) {
        for (const auto& v : n.vcpus) vcpus.push_back(v.q);
      }
      auto gu = VcpuUsageBuckets(h, vcpus, times);
      auto wu = oracle::VcpuUsageBucketsScan(h, vcpus, times);
      EXPECT_TRUE(gu.ok() && wu.ok());
      EXPECT_EQ(*gu, *wu) << when << " vCPU usage of VM " << vm.pid;
    }
  }
  return whole;
}

void CheckKernel(const StateHistory& h, std::mt19937_64* rng,
                 const std::string& when) {
  const Window obs = ObservedWindow(h);
  const auto time_sets = TimeSets(obs, rng);
  const auto windows = Windows(obs, rng, 6);
  for (Quark host : h.Children(storage::kRootQuark)) {
    auto cpus = h.Child(host, "CPUs");
    auto threads = h.Child(host, "Threads");
    if (!cpus || !threads) continue;
    for (const auto& times : time_sets) {
      auto got = CpuBusyBuckets(h, h.Children(*cpus), times);
      auto want = oracle::CpuBusyBucketsScan(h, h.Children(*cpus), times);
      ASSERT_TRUE(got.ok() && want.ok());
      ASSERT_EQ(*got, *want) << when << " CPU busy of " << h.Name(host);
    }
    int n = 0;
    for (Quark t : h.Children(*threads)) {
      if (++n > 150) break;  // enough threads; keeps the test short
      for (const auto& times : {time_sets[0], time_sets[1]}) {
        auto got = ThreadRunBuckets(h, t, times);
        auto want = oracle::ThreadRunBucketsScan(h, t, times);
        ASSERT_TRUE(got.ok() && want.ok());
        ASSERT_EQ(*got, *want) << when << " thread " << h.Name(t);
      }
      for (const Window& w : windows) {
        // The tree's closed range [start, end].
        auto got = ThreadRanIn(h, t, w.start, w.end);
        auto want = oracle::ThreadRanInScan(h, t, w.start, w.end);
        ASSERT_TRUE(got.ok() && want.ok());
        ASSERT_EQ(*got, *want) << when << " thread " << h.Name(t) << " ["
                               << w.start << ", " << w.end << "]";
      }
    }
  }
}

class TotalsScenarioTest : public testing::TestWithParam<const char*> {};

TEST_P(TotalsScenarioTest, EqualsScan) {
  const std::string name = GetParam();
  const fs::path out =
      fs::temp_directory_path() /
      ("vmtrace-totals-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(out);
  const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                          VMTRACE_GEN_SCENARIOS + "/" + name +
                          ".json --no-truth --out " + (out / "trace").string() +
                          " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<std::string> dirs;
  for (const auto& e : fs::directory_iterator(out / "trace")) {
    if (e.is_directory()) dirs.push_back(e.path().string());
  }
  std::sort(dirs.begin(), dirs.end());
  std::vector<std::shared_ptr<const ctf::Trace>> traces;
  for (const auto& d : dirs) traces.push_back(ctf::Trace::Open(d).value());

  auto kh = OpenStore(out / "kernel", "kernel");
  auto vh = OpenStore(out / "vm", "vm");
  kernel::KernelModel km(traces, kh.get());
  vm::VmModel vmm(traces, vh.get());
  auto reader = ctf::EventReader::Open(traces).value();
  std::mt19937_64 rng(42);
  ctf::Event ev;
  int64_t last = 0;
  uint64_t n = 0;
  int flushes = 0;
  while (reader->Next(&ev)) {
    km.OnEvent(ev);
    vmm.OnEvent(ev);
    last = ev.timestamp;
    if (++n % 500 == 0) {
      ASSERT_TRUE(kh->Flush(last).ok());
      ASSERT_TRUE(vh->Flush(last).ok());
      // Midway through the pass: what was flushed, through the same
      // functions the outputs call while RUNNING.
      if (++flushes == 3 || flushes == 40) {
        CheckVm(*vh, &rng, name + " while writing");
        CheckKernel(*kh, &rng, name + " while writing");
      }
    }
  }
  ASSERT_TRUE(km.Finish(last).ok());
  ASSERT_TRUE(vmm.Finish(last).ok());
  ASSERT_TRUE(vh->complete() && kh->complete());
  EXPECT_FALSE(ListVms(*vh).empty());
  EXPECT_GT(CheckVm(*vh, &rng, name), 0);
  CheckKernel(*kh, &rng, name);
  kh.reset();
  vh.reset();
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Bundled, TotalsScenarioTest,
                         testing::Values("one-vm-mixed", "overcommit-two-vms",
                                         "nested-vm", "two-hosts-net", "demo"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace vmtrace::stats
