// End to end: every bundled generator scenario through the VM model into a
// state history, then the statistics outputs against the truth files.
// - The wait table's VM rows equal the truth's wait_totals exactly.
// - The exits table equals the exits counted on the truth's vCPU rows (a
//   HYPERVISOR interval right after GUEST/GUEST_L2, its reason the truth's
//   info, its time the HYPERVISOR time until the next guest entry).
// - Host -> VM and VM <-> VM preemptions equal the truth's PREEMPTED_*
//   intervals; vCPU Usage over one bucket [begin, end) equals the truth's
//   shares.
// Each host's trace is run alone here; ScenarioStatsHosts runs the two
// hosts of two-hosts-net together (each host's states end with its trace).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/vm/vm_model.h"
#include "storage/memory_state_history.h"
#include "tsp/outputs/vm/vm_stats_providers.h"

namespace vmtrace::tsp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::unique_ptr<storage::MemoryStateHistory> RunModel(
    const std::vector<std::string>& dirs) {
  std::vector<std::shared_ptr<const ctf::Trace>> traces;
  for (const auto& d : dirs) traces.push_back(ctf::Trace::Open(d).value());
  auto h = std::make_unique<storage::MemoryStateHistory>();
  vm::VmModel model(traces, h.get());
  auto reader = ctf::EventReader::Open(traces).value();
  ctf::Event ev;
  int64_t last = 0;
  while (reader->Next(&ev)) {
    model.OnEvent(ev);
    last = ev.timestamp;
  }
  EXPECT_TRUE(model.Finish(last).ok());
  return h;
}

struct TIv {
  int64_t start, end;
  std::string state;
  int64_t info;
};

// The truth row with adjacent equal states merged (the truth splits
// HYPERVISOR by exit reason; the first piece's info is kept).
std::vector<TIv> TruthRow(const json& intervals) {
  std::vector<TIv> out;
  for (const json& i : intervals) {
    TIv iv{i[0].get<int64_t>(), i[1].get<int64_t>(), i[2].get<std::string>(),
           i.size() > 3 ? i[3].get<int64_t>() : -1};
    if (!out.empty() && out.back().end == iv.start &&
        out.back().state == iv.state) {
      out.back().end = iv.end;
    } else {
      out.push_back(iv);
    }
  }
  return out;
}

struct ExitStat {
  int64_t count = 0, total = 0, max = 0;
};

bool Guest(const std::string& s) { return s == "GUEST" || s == "GUEST_L2"; }

// What the tables must say, from the truth.
struct Expected {
  std::map<int64_t, ExitStat> exits;                             // by reason
  std::map<std::string, std::pair<int64_t, int64_t>> preempted;  // n, ns
};

void AddVcpu(const std::vector<TIv>& row, Expected* e) {
  ExitStat* open = nullptr;
  int64_t open_ns = 0;
  auto close = [&] {
    if (open) open->max = std::max(open->max, open_ns);
    open = nullptr;
  };
  for (size_t i = 0; i < row.size(); ++i) {
    const TIv& iv = row[i];
    if (iv.state == "HYPERVISOR") {
      if (i > 0 && Guest(row[i - 1].state)) {
        close();
        open = &e->exits[iv.info];
        ++open->count;
        open_ns = 0;
      }
      if (open) {
        open->total += iv.end - iv.start;
        open_ns += iv.end - iv.start;
      }
    } else if (Guest(iv.state)) {
      close();
    } else if (iv.state == "PREEMPTED_HOST" || iv.state == "PREEMPTED_VM") {
      auto& p = e->preempted[iv.state];
      ++p.first;
      p.second += iv.end - iv.start;
    }
  }
  close();
}

// Cell `col` of the row whose Host, PID and 4th cells are `key` (the VM
// name column holds the QEMU process name, which the truth does not give).
std::string Cell(const TableModel& m, const std::vector<std::string>& key,
                 size_t col) {
  for (const auto& r : m.rows) {
    if (r[0] == key[0] && r[2] == key[1] && r[3] == key[2]) return r[col];
  }
  ADD_FAILURE() << "no row " << testing::PrintToString(key);
  return "";
}

class ScenarioStats : public testing::TestWithParam<const char*> {};

TEST_P(ScenarioStats, MatchesTruth) {
  const std::string name = GetParam();
  const fs::path out =
      fs::temp_directory_path() /
      ("vmtrace-vmstats-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(out);
  const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                          VMTRACE_GEN_SCENARIOS + "/" + name + ".json --out " +
                          out.string() + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  int vms = 0;
  for (const auto& f : fs::directory_iterator(out)) {
    if (f.path().extension() != ".json") continue;
    json t = json::parse(std::ifstream(f.path()));
    const std::string host = t["host"];
    // The host's trace directory is named after the host.
    fs::path dir;
    for (const auto& d : fs::recursive_directory_iterator(out)) {
      if (d.is_directory() && d.path().filename() == host) dir = d.path();
    }
    ASSERT_FALSE(dir.empty()) << host;
    auto h = RunModel({dir.string()});
    ASSERT_TRUE(h->complete());
    const int64_t begin = t["begin"], end = t["end"];

    auto wait = MakeVmWaitTableProvider(h.get())->Table();
    auto exits = MakeVmExitsTableProvider(h.get())->Table();
    auto pre = MakePreemptionsProvider(h.get())->Table();
    ASSERT_TRUE(wait.ok() && exits.ok() && pre.ok());
    auto usage = MakeVcpuUsageProvider(h.get());
    for (const json& vm : t["vms"]) {
      ++vms;
      const std::string pid = std::to_string(vm["pid"].get<int64_t>());
      const std::string what = name + " " + host + " VM " + pid;
      // Wait totals, exactly (columns 4, 6, ... are the category ns).
      const char* cats[] = {"WAIT_TIMER", "WAIT_DISK", "WAIT_NET", "WAIT_TASK",
                            "WAIT_UNKNOWN"};
      for (int c = 0; c < 5; ++c) {
        EXPECT_EQ(Cell(*wait, {host, pid, "VM"}, 4 + 2 * c),
                  std::to_string(vm["wait_totals"][cats[c]].get<int64_t>()))
            << what << " " << cats[c];
      }
      Expected e;
      for (const json& v : vm["vcpus"]) {
        std::vector<TIv> row = TruthRow(v["intervals"]);
        AddVcpu(row, &e);
        // vCPU Usage over the whole trace as one bucket.
        auto q = h->Find({host, "VMs", pid, "vCPUs",
                          std::to_string(v["id"].get<int64_t>())});
        ASSERT_TRUE(q) << what;
        std::map<std::string, int> cat = {
            {"GUEST", 0},      {"GUEST_L2", 0},       {"HYPERVISOR", 1},
            {"L1_FOR_L2", 1},  {"PREEMPTED_HOST", 2}, {"PREEMPTED_VM", 2},
            {"WAIT_TIMER", 3}, {"WAIT_DISK", 3},      {"WAIT_NET", 3},
            {"WAIT_TASK", 3},  {"WAIT_UNKNOWN", 3}};
        double ns[4] = {0, 0, 0, 0};
        for (const TIv& iv : row) {
          if (auto it = cat.find(iv.state); it != cat.end()) {
            ns[it->second] += double(iv.end - iv.start);
          }
        }
        std::vector<int64_t> items;
        for (int c = 0; c < 4; ++c) items.push_back(int64_t(*q) * 8 + 1 + c);
        auto xy = usage->Fetch({begin, end}, items);
        ASSERT_TRUE(xy.ok());
        ASSERT_EQ(xy->series.size(), 4u);
        for (int c = 0; c < 4; ++c) {
          EXPECT_NEAR(xy->series[c].y[0], 100.0 * ns[c] / double(end - begin),
                      1e-9)
              << what << " vCPU " << v["id"] << " category " << c;
        }
      }
      size_t exit_rows = 0;
      for (const auto& r : exits->rows)
        exit_rows += r[2] == pid && r[0] == host;
      EXPECT_EQ(exit_rows, e.exits.size()) << what;
      for (const auto& [reason, s] : e.exits) {
        std::vector<std::string> key = {host, pid, std::to_string(reason)};
        EXPECT_EQ(Cell(*exits, key, 5), std::to_string(s.count))
            << what << " exit " << reason;
        EXPECT_EQ(Cell(*exits, key, 7), std::to_string(s.total))
            << what << " exit " << reason;
        EXPECT_EQ(Cell(*exits, key, 9), std::to_string(s.max))
            << what << " exit " << reason;
      }
      const std::pair<const char*, const char*> kinds[] = {
          {"PREEMPTED_HOST", "Host -> VM"}, {"PREEMPTED_VM", "VM <-> VM"}};
      for (const auto& [state, kind] : kinds) {
        auto p = e.preempted[state];
        std::vector<std::string> key = {host, pid, kind};
        EXPECT_EQ(Cell(*pre, key, 4), std::to_string(p.first)) << what;
        EXPECT_EQ(Cell(*pre, key, 5), std::to_string(p.second)) << what;
      }
    }
  }
  EXPECT_GT(vms, 0);
  fs::remove_all(out);
}

// Both hosts of two-hosts-net in one experiment: each host's rows end with
// its own last event (host-s's trace ends 2.5 ms later in raw time), so the
// wait totals are still the truth's.
TEST(ScenarioStatsHosts, EachHostEndsWithItsTrace) {
  const fs::path out = fs::temp_directory_path() /
                       ("vmtrace-vmstats-hosts-" + std::to_string(getpid()));
  fs::remove_all(out);
  const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                          VMTRACE_GEN_SCENARIOS + "/two-hosts-net.json --out " +
                          out.string() + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto h = RunModel({(out / "host-c").string(), (out / "host-s").string()});
  auto wait = MakeVmWaitTableProvider(h.get())->Table();
  ASSERT_TRUE(wait.ok());
  for (const char* host : {"host-c", "host-s"}) {
    json t =
        json::parse(std::ifstream(out / (std::string(host) + ".truth.json")));
    const int64_t end = t["end"];
    for (const json& vm : t["vms"]) {
      const std::string pid = std::to_string(vm["pid"].get<int64_t>());
      const char* cats[] = {"WAIT_TIMER", "WAIT_DISK", "WAIT_NET", "WAIT_TASK",
                            "WAIT_UNKNOWN"};
      for (int c = 0; c < 5; ++c) {
        EXPECT_EQ(Cell(*wait, {host, pid, "VM"}, 4 + 2 * c),
                  std::to_string(vm["wait_totals"][cats[c]].get<int64_t>()))
            << host << " VM " << pid << " " << cats[c];
      }
      for (const json& v : vm["vcpus"]) {
        auto q = h->Find({host, "VMs", pid, "vCPUs",
                          std::to_string(v["id"].get<int64_t>())});
        ASSERT_TRUE(q);
        auto ivs = h->QueryRange(*q, end, end + 10'000'000);
        ASSERT_TRUE(ivs.ok());
        for (const auto& iv : *ivs) {
          if (iv.start > end) {
            EXPECT_TRUE(iv.value.is_null()) << host;
          }
          if (!iv.value.is_null()) {
            EXPECT_LE(iv.end, end) << host;
          }
        }
      }
    }
  }
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Bundled, ScenarioStats,
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
}  // namespace vmtrace::tsp
