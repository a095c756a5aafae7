#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/gen/trace_text.h"
#include "tools/gen/scenario.h"
#include "tools/gen/sim.h"

namespace vmtrace::gen {
namespace {

namespace fs = std::filesystem;
using testing::ReadTrace;
using testing::TextEvent;

const char* kScenarios[] = {"one-vm-mixed", "overcommit-two-vms", "nested-vm",
                            "two-hosts-net", "demo"};

std::string ScenarioPath(const std::string& name) {
  return std::string(VMTRACE_GEN_SCENARIOS) + "/" + name + ".json";
}

fs::path TempDir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() /
               ("vmtrace_gen_test_" + tag + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  return d;
}

GenReport Generate(const std::string& scenario, const fs::path& out,
                   GenOptions options = {}) {
  auto sc = LoadScenarioFile(ScenarioPath(scenario));
  EXPECT_TRUE(sc.ok()) << sc.status().ToString();
  GenReport report;
  if (!sc.ok()) return report;
  Simulator sim(*sc, options);
  Status st = sim.Run(out.string(), &report);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return report;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What a reader of the trace sees must be causally consistent.
void CheckHostEvents(const std::vector<TextEvent>& events) {
  std::map<int, uint64_t> last_ts;  // per CPU
  std::map<int, int> current;       // CPU -> tid
  std::map<int, bool> in_guest;     // vCPU tid -> between entry and exit
  std::map<int, int> waking;        // CPU -> tid of the last sched_waking
  for (const TextEvent& e : events) {
    ASSERT_GE(e.cpu, 0) << e.name;
    ASSERT_GE(e.ts, last_ts[e.cpu]) << "time goes back on CPU " << e.cpu;
    last_ts[e.cpu] = e.ts;
    if (current.count(e.cpu)) {
      ASSERT_EQ(e.tid, current[e.cpu])
          << e.name << " at " << e.ts << " not from the current thread";
    }
    if (e.name == "sched_switch") {
      if (current.count(e.cpu)) {
        ASSERT_EQ(e.prev_tid, current[e.cpu]);
      }
      if (e.next_tid != 0) {
        for (const auto& [cpu, tid] : current) {
          ASSERT_FALSE(cpu != e.cpu && tid == e.next_tid)
              << "thread " << tid << " on CPUs " << cpu << " and " << e.cpu
              << " at " << e.ts;
        }
      }
      ASSERT_FALSE(in_guest[e.prev_tid]) << "switch-out in guest mode";
      current[e.cpu] = e.next_tid;
    } else if (e.name == "sched_waking") {
      waking[e.cpu] = e.field_tid;
    } else if (e.name == "sched_wakeup") {
      // Every wake-up has a waker: the thread (or interrupt) that ran
      // sched_waking just before on the same CPU.
      ASSERT_EQ(waking[e.cpu], e.field_tid) << "wake-up without waker";
    } else if (e.name == "kvm_x86_entry" || e.name == "kvm_entry") {
      ASSERT_FALSE(in_guest[e.tid]) << "entry twice at " << e.ts;
      in_guest[e.tid] = true;
    } else if (e.name == "kvm_x86_exit" || e.name == "kvm_exit") {
      ASSERT_TRUE(in_guest[e.tid]) << "exit without entry at " << e.ts;
      in_guest[e.tid] = false;
    }
  }
}

void CheckPartition(const nlohmann::json& intervals, uint64_t begin,
                    uint64_t end, const std::string& what) {
  ASSERT_FALSE(intervals.empty()) << what;
  EXPECT_EQ(intervals.front()[0].get<uint64_t>(), begin) << what;
  EXPECT_EQ(intervals.back()[1].get<uint64_t>(), end) << what;
  for (size_t i = 0; i < intervals.size(); ++i) {
    ASSERT_LT(intervals[i][0].get<uint64_t>(), intervals[i][1].get<uint64_t>())
        << what;
    if (i > 0) {
      ASSERT_EQ(intervals[i - 1][1].get<uint64_t>(),
                intervals[i][0].get<uint64_t>())
          << what << ": gap or overlap at interval " << i;
    }
  }
}

void CheckTruth(const fs::path& truth_file, uint64_t events) {
  nlohmann::json t = nlohmann::json::parse(ReadFile(truth_file));
  EXPECT_EQ(t["events"].get<uint64_t>(), events);
  const uint64_t begin = t["begin"], end = t["end"];
  for (const auto& vm : t["vms"]) {
    std::map<std::string, uint64_t> sums;
    for (const auto& v : vm["vcpus"]) {
      CheckPartition(v["intervals"], begin, end,
                     vm["name"].get<std::string>() + " vCPU " + v["id"].dump());
      for (const auto& i : v["intervals"]) {
        std::string s = i[2];
        if (s.rfind("WAIT_", 0) == 0) {
          sums[s] += i[1].get<uint64_t>() - i[0].get<uint64_t>();
        }
      }
    }
    for (const auto& [k, ns] : vm["wait_totals"].items()) {
      EXPECT_EQ(ns.get<uint64_t>(), sums[k]) << vm["name"] << " " << k;
    }
    auto check_procs = [&](const nlohmann::json& procs) {
      for (const auto& p : procs) {
        std::string name = p["name"];
        CheckPartition(p["intervals"], begin, end, name);
        if (!p.contains("critical_path")) continue;
        uint64_t prev_end = 0;
        for (const auto& e : p["critical_path"]) {
          uint64_t s = e[1], en = e[2];
          ASSERT_LT(s, en) << name;
          ASSERT_GE(s, prev_end) << name << ": critical path overlaps";
          prev_end = en;
          // A wait with no waker is only allowed when the trace ends in it.
          if (e[3] == "BLOCKED") {
            EXPECT_EQ(en, end) << name;
          }
        }
      }
    };
    check_procs(vm["processes"]);
    for (const auto& n : vm["nested"]) {
      for (const auto& v : n["vcpus"]) {
        uint64_t prev_end = 0;
        for (const auto& i : v["intervals"]) {
          ASSERT_GE(i[0].get<uint64_t>(), prev_end);
          prev_end = i[1];
        }
      }
      check_procs(n["processes"]);
    }
  }
}

class BundledScenario : public ::testing::TestWithParam<const char*> {};

TEST_P(BundledScenario, BabeltraceReadsExactCountsAndTruthIsConsistent) {
  const std::string name = GetParam();
  fs::path out = TempDir(name);
  GenReport report = Generate(name, out);
  ASSERT_FALSE(report.hosts.empty());
  for (const HostReport& h : report.hosts) {
    std::vector<TextEvent> events;
    std::string error;
    ASSERT_TRUE(ReadTrace(h.trace_dir, &events, &error)) << error;
    EXPECT_TRUE(error.empty()) << error;
    EXPECT_EQ(events.size(), h.events) << h.name;
    CheckHostEvents(events);
    CheckTruth(h.truth_file, h.events);
  }
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(All, BundledScenario, ::testing::ValuesIn(kScenarios));

TEST(Generator, TwoHostsShareTcpSegmentsAndHaveTheirOwnClocks) {
  fs::path out = TempDir("net");
  GenReport report = Generate("two-hosts-net", out);
  ASSERT_EQ(report.hosts.size(), 2u);
  std::string meta_c = ReadFile(out / "host-c" / "metadata");
  EXPECT_NE(meta_c.find("hostname = \"host-c\""), std::string::npos);
  EXPECT_NE(meta_c.find("domain = \"kernel\""), std::string::npos);
  EXPECT_NE(meta_c.find("tracer_name = \"lttng-modules\""), std::string::npos);
  // Every segment sent by one host is received by the other with the same
  // sequence numbers.
  auto segments = [](const fs::path& dir, const char* event) {
    std::string cmd = "babeltrace2 '" + dir.string() + "' | grep ' " + event +
                      ": ' | grep -o 'seq = [0-9]*, ack_seq = [0-9]*'";
    std::multiset<std::string> out;
    FILE* p = popen(cmd.c_str(), "r");
    char buf[256];
    while (p != nullptr && std::fgets(buf, sizeof(buf), p) != nullptr) {
      out.insert(buf);
    }
    if (p != nullptr) pclose(p);
    return out;
  };
  auto sent = segments(out / "host-c", "net_dev_queue");
  auto received = segments(out / "host-s", "net_if_receive_skb");
  ASSERT_FALSE(sent.empty());
  size_t matched = 0;
  for (const std::string& s : sent) matched += received.count(s) ? 1 : 0;
  EXPECT_GE(matched + 1, sent.size());  // the last one may still be in flight
  fs::remove_all(out);
}

TEST(Generator, SameSeedSameBytesDifferentSeedDifferentTrace) {
  fs::path a = TempDir("seed_a"), b = TempDir("seed_b"), c = TempDir("seed_c");
  GenOptions o;
  o.seed = 7;
  o.seed_set = true;
  Generate("one-vm-mixed", a, o);
  Generate("one-vm-mixed", b, o);
  o.seed = 8;
  Generate("one-vm-mixed", c, o);
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(a)) {
    if (!entry.is_regular_file()) continue;
    fs::path rel = fs::relative(entry.path(), a);
    EXPECT_EQ(ReadFile(entry.path()), ReadFile(b / rel)) << rel;
    ++files;
  }
  EXPECT_EQ(files, 4u);  // metadata, 2 streams, truth
  EXPECT_NE(ReadFile(a / "host-a" / "channel0_0"),
            ReadFile(c / "host-a" / "channel0_0"));
  fs::remove_all(a);
  fs::remove_all(b);
  fs::remove_all(c);
}

TEST(Generator, EventsOptionScalesTheWorkload) {
  fs::path out = TempDir("scale");
  GenOptions o;
  o.target_events = 50'000;
  o.write_truth = false;
  GenReport r = Generate("one-vm-mixed", out, o);
  EXPECT_GE(r.events, 50'000u);
  EXPECT_LT(r.events, 51'000u);
  std::vector<TextEvent> events;
  std::string error;
  ASSERT_TRUE(ReadTrace(r.hosts[0].trace_dir, &events, &error)) << error;
  EXPECT_EQ(events.size(), r.events);
  fs::remove_all(out);
}

TEST(Generator, OldTracerVersionUsesKvmEntrySpelling) {
  fs::path out = TempDir("old");
  GenOptions o;
  o.ctf.tracer_minor = 7;
  o.ctf.old_kvm_names = true;
  GenReport r = Generate("nested-vm", out, o);
  std::string meta = ReadFile(out / "host-n" / "metadata");
  EXPECT_NE(meta.find("name = \"kvm_entry\""), std::string::npos);
  EXPECT_EQ(meta.find("kvm_x86_"), std::string::npos);
  EXPECT_NE(meta.find("tracer_minor = 7;"), std::string::npos);
  std::vector<TextEvent> events;
  std::string error;
  ASSERT_TRUE(ReadTrace(r.hosts[0].trace_dir, &events, &error)) << error;
  EXPECT_EQ(events.size(), r.events);
  CheckHostEvents(events);
  fs::remove_all(out);
}

// The name an LTTng event has in a perf-converted trace ("" when perf cannot
// record it: the statedump and the LTTng addons).
std::string PerfName(const std::string& n) {
  static const std::map<std::string, std::string> kRenamed = {
      {"irq_softirq_raise", "irq:softirq_raise"},
      {"irq_softirq_entry", "irq:softirq_entry"},
      {"irq_softirq_exit", "irq:softirq_exit"},
      {"irq_handler_entry", "irq:irq_handler_entry"},
      {"irq_handler_exit", "irq:irq_handler_exit"},
      {"timer_hrtimer_expire_entry", "timer:hrtimer_expire_entry"},
      {"timer_hrtimer_expire_exit", "timer:hrtimer_expire_exit"},
      {"net_dev_queue", "net:net_dev_queue"},
      {"net_if_receive_skb", "net:netif_receive_skb"},
      {"block_rq_issue", "block:block_rq_issue"},
      {"block_rq_complete", "block:block_rq_complete"},
      {"sched_switch", "sched:sched_switch"},
      {"sched_waking", "sched:sched_waking"},
      {"sched_wakeup", "sched:sched_wakeup"}};
  if (auto it = kRenamed.find(n); it != kRenamed.end()) return it->second;
  if (n.rfind("kvm_x86_", 0) == 0) return "kvm:kvm_" + n.substr(8);
  if (n.rfind("syscall_entry_", 0) == 0) return "raw_syscalls:sys_enter";
  if (n.rfind("syscall_exit_", 0) == 0) return "raw_syscalls:sys_exit";
  return "";
}

TEST(Generator, PerfFormatIsTheSameRunAsPerfWouldConvertIt) {
  for (const char* scenario : {"demo", "nested-vm"}) {
    SCOPED_TRACE(scenario);
    fs::path lt = TempDir("lttng"), pf = TempDir("perf");
    GenReport rl = Generate(scenario, lt);
    GenOptions o;
    o.ctf.perf = true;
    GenReport rp = Generate(scenario, pf, o);
    ASSERT_EQ(rl.hosts.size(), rp.hosts.size());
    for (size_t h = 0; h < rl.hosts.size(); ++h) {
      std::string meta = ReadFile(fs::path(rp.hosts[h].trace_dir) / "metadata");
      EXPECT_NE(meta.find("tracer_name = \"perf\""), std::string::npos);
      EXPECT_EQ(meta.find("addons_vcpu_enter_guest"), std::string::npos);
      EXPECT_TRUE(
          fs::exists(fs::path(rp.hosts[h].trace_dir) / "perf_stream_0"));
      std::vector<TextEvent> a, b;
      std::string error;
      ASSERT_TRUE(ReadTrace(rl.hosts[h].trace_dir, &a, &error)) << error;
      ASSERT_TRUE(ReadTrace(rp.hosts[h].trace_dir, &b, &error)) << error;
      EXPECT_EQ(b.size(), rp.hosts[h].events);
      // Every event perf can record is there, same time, CPU, thread and
      // switch fields, in the same order; nothing else is.
      std::vector<TextEvent> want;
      for (TextEvent e : a) {
        e.name = PerfName(e.name);
        if (!e.name.empty()) want.push_back(e);
      }
      ASSERT_EQ(b.size(), want.size());
      for (size_t i = 0; i < b.size(); ++i) {
        ASSERT_EQ(b[i].name, want[i].name) << "event " << i;
        ASSERT_EQ(b[i].ts, want[i].ts) << "event " << i << " " << b[i].name;
        ASSERT_EQ(b[i].cpu, want[i].cpu) << "event " << i;
        ASSERT_EQ(b[i].tid, want[i].tid) << "event " << i << " " << b[i].name;
        ASSERT_EQ(b[i].next_tid, want[i].next_tid) << "event " << i;
        ASSERT_EQ(b[i].prev_tid, want[i].prev_tid) << "event " << i;
        ASSERT_EQ(b[i].prev_state, want[i].prev_state) << "event " << i;
      }
    }
    fs::remove_all(lt);
    fs::remove_all(pf);
  }
}

// A valid scenario to break in the tests below.
const char kSmall[] = R"({
  "name": "small", "duration_ns": 1000000,
  "hosts": [{"name": "h", "cpus": 1, "vms": [{"name": "vm", "pid": 10,
    "vcpus": [{"tid": 11}],
    "processes": [{"name": "p", "cr3": "0x1000", "vcpu": 0,
                   "workload": [{"run": 1000}, {"sleep": 2000}]}]}]}]})";

std::string Replace(std::string s, const std::string& from,
                    const std::string& to) {
  size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

TEST(Scenario, AcceptsTheSmallScenario) {
  EXPECT_TRUE(ParseScenario(kSmall).ok());
}

TEST(Scenario, RejectsUnknownKeyNamingIt) {
  auto r = ParseScenario(
      Replace(kSmall, "\"pid\": 10", "\"pid\": 10, \"vpcus\": 2"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown key \"vpcus\""),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("hosts[0].vms[0]"), std::string::npos);
}

TEST(Scenario, RejectsNegativeDurationNamingIt) {
  auto r =
      ParseScenario(Replace(kSmall, "{\"sleep\": 2000}", "{\"sleep\": -5}"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("workload[1].sleep"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("negative duration"), std::string::npos);
}

TEST(Scenario, RejectsProcessOnMissingVcpu) {
  auto r = ParseScenario(Replace(kSmall, "\"vcpu\": 0", "\"vcpu\": 3"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("processes[0].vcpu"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("vCPU 3"), std::string::npos);
}

TEST(Scenario, RejectsUnknownWakeTargetAndBadJson) {
  auto r = ParseScenario(
      Replace(kSmall, "{\"run\": 1000}", "{\"run\": 1000}, {\"wake\": \"q\"}"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no process \"q\""), std::string::npos);
  EXPECT_FALSE(ParseScenario("{\"name\": ").ok());
}

TEST(Cli, BadScenarioExitsNonZeroWithMessageOnStderr) {
  fs::path dir = TempDir("cli");
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "bad.json");
    f << Replace(kSmall, "{\"run\": 1000}", "{\"run\": -1000}");
  }
  std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                    (dir / "bad.json").string() + " --out " +
                    (dir / "out").string() + " 2>" +
                    (dir / "err.txt").string() + " >/dev/null";
  int rc = std::system(cmd.c_str());
  EXPECT_NE(rc, 0);
  std::string err = ReadFile(dir / "err.txt");
  EXPECT_NE(err.find("workload[0].run: negative duration"), std::string::npos)
      << err;
  EXPECT_FALSE(fs::exists(dir / "out"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::gen

namespace vmtrace::gen {
namespace {

TEST(Scenario, RejectsAGuestProcessInAnUnknownContainer) {
  auto r = ParseScenario(
      Replace(kSmall, "\"vcpu\": 0,", "\"vcpu\": 0, \"container\": \"nope\","));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("processes[0].container"),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("no container \"nope\""),
            std::string::npos);
  auto ahead = ParseScenario(Replace(
      kSmall, "\"pid\": 10,",
      "\"pid\": 10, \"guest\": {\"trace\": true, \"tsc_offset_ns\": 5},"));
  ASSERT_FALSE(ahead.ok());
  EXPECT_NE(ahead.status().message().find("guest.tsc_offset_ns"),
            std::string::npos)
      << ahead.status().message();
}

// Guest traces: each a CTF trace babeltrace2 reads, in the guest's clock
// (behind the host's by the offset the host trace carries), with the state
// dump first and switches only; the host trace announces the offset.
TEST(Generator, ContainersScenarioWritesGuestTracesAndTheirTruth) {
  const fs::path out = TempDir("containers");
  Generate("containers", out);
  std::vector<TextEvent> host, guest;
  std::string err;
  ASSERT_TRUE(ReadTrace((out / "host-g").string(), &host, &err)) << err;
  ASSERT_TRUE(ReadTrace((out / "web-vm").string(), &guest, &err)) << err;
  int offsets = 0;
  for (const TextEvent& e : host)
    offsets += e.name == "kvm_x86_write_tsc_offset";
  EXPECT_EQ(offsets, 2);  // one per vCPU of web-vm; none for inner-vm
  std::map<std::string, int> kinds;
  for (const TextEvent& e : guest) ++kinds[e.name];
  EXPECT_GT(kinds["sched_switch"], 100);
  EXPECT_EQ(kinds["lttng_statedump_process_state"], 5);
  EXPECT_EQ(kinds["sched_process_exec"], 2);
  EXPECT_EQ(kinds["sched_process_fork"], 2);
  EXPECT_EQ(kinds.size(), 7u);  // + start, end and pid_ns: nothing else
  ASSERT_FALSE(guest.empty());
  EXPECT_GT(guest.front().ts, host.front().ts);
  EXPECT_LT(guest.back().ts, host.back().ts);
  const auto truth =
      nlohmann::json::parse(std::ifstream(out / "web-vm.guest-truth.json"));
  EXPECT_EQ(truth["level"], 1);
  EXPECT_EQ(truth["tsc_offset_ns"], -310000);
  std::set<std::string> names;
  for (const auto& p : truth["processes"]) names.insert(p["name"]);
  for (const char* n : {"cron", "backup", "gzip", "logrotate", "db-dump"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  EXPECT_TRUE(fs::exists(out / "inner-vm.guest-truth.json"));
  fs::remove_all(out);
}

}  // namespace
}  // namespace vmtrace::gen
