// The trace check on real and generated traces: what each analysis lacks,
// the fix it names, lost events from packet headers, clocks.
#include "analyses/check/trace_check.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "analyses/index/experiment_index.h"
#include "tests/analyses/check/discard_patch.h"

namespace vmtrace::check {
namespace {

namespace fs = std::filesystem;

std::vector<std::shared_ptr<const ctf::Trace>> Open(
    const std::vector<std::string>& paths) {
  std::vector<std::shared_ptr<const ctf::Trace>> out;
  for (const std::string& p : paths) {
    auto dirs = ctf::FindTraces(p);
    EXPECT_TRUE(dirs.ok()) << p;
    if (!dirs.ok()) continue;
    for (const std::string& d : *dirs) {
      auto t = ctf::Trace::Open(d);
      EXPECT_TRUE(t.ok()) << d;
      if (t.ok()) out.push_back(*t);
    }
  }
  return out;
}

std::string Data(const std::string& name) {
  return std::string(VMTRACE_TEST_DATA) + "/" + name;
}

const AnalysisResult& Result(const CheckReport& r, std::string_view id) {
  for (const AnalysisResult& a : r.analyses) {
    if (a.spec->id == id) return a;
  }
  ADD_FAILURE() << "no analysis " << id;
  return r.analyses.front();
}

// The first line of `analysis` whose reason starts with `reason`.
const CheckLine* Line(const CheckReport& r, const std::string& analysis,
                      const std::string& reason) {
  for (const CheckLine& l : r.lines) {
    if (l.analysis == analysis && l.reason.rfind(reason, 0) == 0) return &l;
  }
  return nullptr;
}

// The report's lines, for failure messages.
std::string Dump(const CheckReport& r) {
  std::string out;
  for (const CheckLine& l : r.lines) {
    out += l.analysis + " | " + l.host + " | " + l.status + " | " + l.reason +
           " | " + l.fix + "\n";
  }
  return out;
}

// Every group of requirements.h satisfied.
HostFacts Everything(const std::string& host) {
  HostFacts h;
  h.host = host;
  for (const EventGroup* g : EventGroups()) {
    h.kinds.insert(g->kinds.begin(), g->kinds.end());
  }
  h.kvm_pid = h.tcp_fields = h.guest_cr3 = true;
  h.clocks.push_back({"/t/" + host, "monotonic", 0, 1000000000});
  return h;
}

class TraceCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = fs::temp_directory_path() /
           ("vmtrace-check-test-" + std::to_string(getpid()));
    fs::remove_all(out_);
  }
  void TearDown() override { fs::remove_all(out_); }

  // vmtrace-gen's `scenario` into out_/name; returns the trace directory.
  fs::path Generate(const std::string& scenario, const std::string& name,
                    const std::string& extra = "") {
    const fs::path dir = out_ / name;
    const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                            VMTRACE_GEN_SCENARIOS + "/" + scenario + " --out " +
                            dir.string() + " --no-truth " + extra +
                            " > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return dir;
  }

  fs::path out_;
};

TEST_F(TraceCheckTest, KernelTraceWithoutKvmHasNoVmAnalyses) {
  const auto traces = Open({Data("tracevizlab-simple-kernel-8cpu")});
  ASSERT_EQ(traces.size(), 1u);
  CheckInput in;
  in.hosts = HostFactsOf(traces);
  in.pass_done = true;
  const CheckReport r = RunCheck(in);
  ASSERT_EQ(in.hosts.size(), 1u);
  EXPECT_FALSE(in.hosts[0].perf);

  EXPECT_NE(Result(r, "kernel").status, Availability::kUnavailable) << Dump(r);
  for (const char* id : {"vm", "guest_processes", "critical_path"}) {
    EXPECT_EQ(Result(r, id).status, Availability::kUnavailable) << id;
  }
  EXPECT_EQ(Result(r, "clock_sync").status, Availability::kNotApplicable);
  EXPECT_EQ(r.applicable, 4u);
  EXPECT_EQ(r.available, 1u);

  // The gap line names what is missing, what it costs and the recording.
  const CheckLine* vm = Line(r, "VM analyses", "kvm entry/exit missing");
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->status, "unavailable");
  EXPECT_NE(vm->reason.find("no VM views"), std::string::npos);
  EXPECT_EQ(vm->fix,
            "scripts/record.sh lttng (lttng enable-event --kernel "
            "kvm_x86_entry,kvm_x86_exit); needs the KVM probe "
            "(lttng-probe-kvm-x86 of lttng-modules) and KVM in use");
  // Guest processes: only the required gaps that block it are listed.
  const CheckLine* addon =
      Line(r, "Guest processes", "addons_vcpu_enter_guest missing");
  ASSERT_NE(addon, nullptr);
  EXPECT_NE(addon->fix.find("lttng-probe-addons"), std::string::npos);

  auto props = r.Properties();
  EXPECT_EQ(props["check.summary"], r.Summary()) << Dump(r);
  EXPECT_EQ(props.at("check.vm")
                .rfind("unavailable: kvm entry/exit missing. "
                       "Fix: scripts/record.sh lttng",
                       0),
            0u)
      << props.at("check.vm");
  EXPECT_EQ(props.at("check.lost_events"),
            "none reported by the packet headers");
  const std::string clock = props["check.clock." + in.hosts[0].host];
  EXPECT_NE(clock.find("clock monotonic"), std::string::npos) << clock;
  EXPECT_TRUE(r.final);
}

TEST_F(TraceCheckTest, EverythingRecordedIsAllAvailable) {
  CheckInput in;
  in.hosts = {Everything("h")};
  in.pass_done = true;
  const CheckReport r = RunCheck(in);
  for (const AnalysisResult& a : r.analyses) {
    EXPECT_EQ(a.status, a.spec->multi_host ? Availability::kNotApplicable
                                           : Availability::kAvailable)
        << a.spec->id;
    EXPECT_TRUE(a.reasons.empty()) << a.spec->id;
  }
  EXPECT_EQ(r.Summary(), "4 of 4 analyses available; 0 gaps");
  EXPECT_EQ(r.Properties().at("check.vm"), "available");
  for (const CheckLine& l : r.lines) EXPECT_TRUE(l.fix.empty()) << l.reason;
}

TEST_F(TraceCheckTest, GeneratedKvmTraceFeedsTheVmAnalyses) {
  const fs::path dir = Generate("demo.json", "demo", "--events 20000");
  const auto traces = Open({dir.string()});
  ASSERT_FALSE(traces.empty());
  CheckInput in;
  in.hosts = HostFactsOf(traces);
  in.pass_done = true;
  const CheckReport r = RunCheck(in);
  for (const char* id : {"kernel", "vm", "guest_processes", "critical_path"}) {
    EXPECT_NE(Result(r, id).status, Availability::kUnavailable) << id;
  }
  for (const char* id : {"vm", "guest_processes", "critical_path"}) {
    EXPECT_EQ(Result(r, id).status, Availability::kAvailable) << id << "\n"
                                                              << Dump(r);
  }
}

TEST_F(TraceCheckTest, PerfTraceHasNoGuestProcessesAndSaysWhy) {
  const auto traces = Open({Data("perf-kvm-tinyguest-2cpu")});
  ASSERT_EQ(traces.size(), 1u);
  CheckInput in;
  in.hosts = HostFactsOf(traces);
  in.pass_done = true;
  ASSERT_TRUE(in.hosts[0].perf);
  const CheckReport r = RunCheck(in);
  EXPECT_NE(Result(r, "vm").status, Availability::kUnavailable);
  EXPECT_EQ(Result(r, "guest_processes").status, Availability::kUnavailable);
  const CheckLine* addon =
      Line(r, "Guest processes", "addons_vcpu_enter_guest missing");
  ASSERT_NE(addon, nullptr) << Dump(r);
  EXPECT_EQ(addon->fix.rfind("perf cannot record the guest CR3", 0), 0u)
      << addon->fix;
  EXPECT_NE(addon->fix.find("scripts/record.sh lttng"), std::string::npos);
}

TEST_F(TraceCheckTest, LostEventsAreCountedPerCpuFromPacketHeaders) {
  const fs::path dir = Generate("demo.json", "lossy", "--events 200000");
  const std::map<int64_t, uint64_t> expected =
      testing::DeclareDiscarded(dir, 7);
  ASSERT_FALSE(expected.empty());
  uint64_t total = 0;
  for (const auto& [cpu, n] : expected) total += n;

  // The reader counts them per stream ...
  const auto traces = Open({dir.string()});
  ASSERT_EQ(traces.size(), 1u);
  auto reader = ctf::EventReader::Open(traces);
  ASSERT_TRUE(reader.ok());
  ctf::Event ev;
  while ((*reader)->Next(&ev)) {
  }
  const ctf::ReaderStats& st = (*reader)->stats();
  EXPECT_EQ(st.discarded_events, total);
  std::map<int64_t, uint64_t> by_cpu;
  for (const ctf::StreamDiscards& d : st.discarded_by_stream) {
    by_cpu[d.cpu] += d.count;
  }
  EXPECT_EQ(by_cpu, expected);

  // ... the index keeps them in its properties (they survive a restart) ...
  auto idx = index::ExperimentIndex::Open({{traces[0]->info().path}},
                                          (out_ / "store").string(), {});
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  (*idx)->WaitUntilDone();
  const index::IndexSnapshot s = (*idx)->Snapshot();
  EXPECT_EQ(s.properties.at("reader.discarded_events"), std::to_string(total));
  std::map<int64_t, uint64_t> stored;
  for (const index::DiscardedEvents& d :
       index::DiscardedEventsOf(s.properties)) {
    EXPECT_EQ(d.ctf_trace, 0u);
    stored[d.cpu] += d.count;
  }
  EXPECT_EQ(stored, expected);

  // ... and the check reports them with the fix.
  CheckInput in;
  in.hosts = HostFactsOf(traces);
  in.pass_done = true;
  for (const auto& [cpu, n] : expected) {
    in.lost.push_back({in.hosts[0].host, dir.string(), cpu, 0, n});
  }
  const CheckReport r = RunCheck(in);
  EXPECT_EQ(r.lost_events, total);
  const auto cpu = expected.begin();
  const CheckLine* l =
      Line(r, "Lost events",
           std::to_string(cpu->second) + " events lost on CPU " +
               std::to_string(cpu->first));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->status, "warning");
  EXPECT_NE(l->fix.find("SUBBUF_SIZE="), std::string::npos);
  EXPECT_NE(r.Summary().find(std::to_string(total) + " events lost"),
            std::string::npos);
}

TEST_F(TraceCheckTest, LostEventsArePendingWhileThePassRuns) {
  CheckInput in;
  in.hosts = {Everything("h")};
  const CheckReport r = RunCheck(in);
  EXPECT_FALSE(r.final);
  const CheckLine* l = Line(r, "Lost events", "counted");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->status, "pending");
}

TEST_F(TraceCheckTest, DiscardedEventKeysRoundTripAndBadOnesAreSkipped) {
  std::map<std::string, std::string> props = {
      {index::DiscardedEventsKey({2, 5, 0, 40}), "40"},
      {index::DiscardedEventsKey({1, -1, 9, 3}), "3"},
      {"reader.discarded_events", "43"},
      {"reader.discarded_events.x.cpu1", "1"},
      {"reader.discarded_events.1.gpu1", "1"},
      {"reader.discarded_events.1.cpu1", "many"},
  };
  const auto d = index::DiscardedEventsOf(props);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].ctf_trace, 1u);
  EXPECT_EQ(d[0].cpu, -1);
  EXPECT_EQ(d[0].stream, 9u);
  EXPECT_EQ(d[0].count, 3u);
  EXPECT_EQ(d[1].ctf_trace, 2u);
  EXPECT_EQ(d[1].cpu, 5);
  EXPECT_EQ(d[1].count, 40u);
}

TEST_F(TraceCheckTest, HostsWithoutTcpExchangeCannotBeAligned) {
  CheckInput in;
  in.hosts = {Everything("a"), Everything("b"), Everything("c")};
  in.pass_done = true;
  const sync::ClockSync clocks({{"a", 1.0, 0, 0, "reference", 0},
                                {"b", 1.0, 1500.4, 20, "accurate", 12},
                                {"c", 1.0, 0, 0, "absent", 0}});
  in.clocks = &clocks;
  const CheckReport r = RunCheck(in);
  EXPECT_TRUE(r.final);
  EXPECT_EQ(Result(r, "clock_sync").status, Availability::kPartial);
  const CheckLine* c = Line(r, "Clock sync", "no TCP exchange found");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->host, "c");
  EXPECT_EQ(c->status, "unavailable");
  EXPECT_NE(c->reason.find("hosts cannot be aligned"), std::string::npos);
  EXPECT_FALSE(c->fix.empty());
  const CheckLine* b = Line(r, "Clock sync", "offset 1500 ns, accuracy 20 ns");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->host, "b");
  const auto props = r.Properties();
  EXPECT_NE(props.at("check.clock.b").find("offset 1500 ns"),
            std::string::npos);
  EXPECT_EQ(props.at("check.clock_sync").rfind("partial", 0), 0u);

  // Two hosts, one absent: nothing to align with.
  in.hosts.pop_back();
  const sync::ClockSync two(
      {{"a", 1.0, 0, 0, "reference", 0}, {"b", 1.0, 0, 0, "absent", 0}});
  in.clocks = &two;
  EXPECT_EQ(Result(RunCheck(in), "clock_sync").status,
            Availability::kUnavailable);
}

TEST_F(TraceCheckTest, TwoRealHostsGetTheirClocks) {
  const auto traces = Open({Data("lttng-synctraces-scp/scp_src"),
                            Data("lttng-synctraces-scp/scp_dest")});
  ASSERT_EQ(traces.size(), 2u);
  CheckInput in;
  in.hosts = HostFactsOf(traces);
  ASSERT_EQ(in.hosts.size(), 2u);
  in.pass_done = true;
  const CheckReport r = RunCheck(in);
  EXPECT_FALSE(r.final);  // the clock sync is not known yet
  EXPECT_NE(Result(r, "clock_sync").status, Availability::kNotApplicable);
  EXPECT_EQ(r.applicable, 5u);
  size_t clocks = 0;
  for (const CheckLine& l : r.lines) clocks += l.analysis == "Clock";
  EXPECT_EQ(clocks, 2u);
}

// Guest traces: pending until mapped (the report is not final), then one
// line each: ok, warning (CR3 claimed twice) or unavailable with the fix.
TEST_F(TraceCheckTest, GuestTracesArePendingThenReportedEach) {
  CheckInput in;
  in.pass_done = true;
  in.guest_traces = {"web-vm", "db-vm", "laptop"};
  CheckReport pending = RunCheck(in);
  EXPECT_FALSE(pending.final);
  EXPECT_EQ(pending.Properties()["check.guest_trace.db-vm"],
            "pending: mapped onto the VMs' CR3s after the pass");

  std::vector<vm::GuestTraceReport> reports(3);
  reports[0].trace = "web-vm";
  reports[0].used = true;
  reports[0].host = "host-g";
  reports[0].vm_pid = 6000;
  reports[0].clock = "fitted";
  reports[1] = reports[0];
  reports[1].trace = "db-vm";
  reports[1].conflicts = 1;
  reports[1].problems = {"CR3 0x5e0000 claimed by pid 12 and pid 40"};
  reports[2].trace = "laptop";
  reports[2].reason = "its switches match no VM";
  in.guest_reports = &reports;
  CheckReport done = RunCheck(in);
  EXPECT_TRUE(done.final);
  const auto p = done.Properties();
  EXPECT_EQ(p.at("check.guest_trace.web-vm").rfind("ok: VM 6000 on host-g", 0),
            0u)
      << p.at("check.guest_trace.web-vm");
  EXPECT_EQ(p.at("check.guest_trace.db-vm").rfind("warning: VM 6000", 0), 0u);
  EXPECT_NE(p.at("check.guest_trace.db-vm").find("claimed by pid 12"),
            std::string::npos);
  EXPECT_EQ(p.at("check.guest_trace.laptop")
                .rfind("unavailable: not used: its switches match no VM. "
                       "Fix: add the guest trace",
                       0),
            0u)
      << p.at("check.guest_trace.laptop");
  EXPECT_NE(done.Summary().find("; 2 of 3 guest traces used"),
            std::string::npos)
      << done.Summary();
  size_t lines = 0;
  for (const CheckLine& l : done.lines) lines += l.analysis == "Guest trace";
  EXPECT_EQ(lines, 3u);
}

}  // namespace
}  // namespace vmtrace::check
