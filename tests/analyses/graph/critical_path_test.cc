// Critical path tests: for the bundled generator scenarios, the
// path of every guest process (L1 and L2) computed from host-only events
// (execution graph + VM model, one pass) against the truth's
// `critical_path` (docs/generator.md).
//
// The truth is computed from the simulation's *actual* timelines; host-only
// events cannot see everything (the truth's `unobservable` list), so the
// comparison is over time: at each instant of the common range, the same
// worker, cause and layer. What is asserted per scenario:
// - a floor on the share of time that agrees (measured, see kFloor), and
//   for every process at least one exactly equal segment;
// - the known deviations are listed below; every disagreement is printed
//   (scenario / process / truth segment / ours) so a regression is visible.
// Known deviations (host-only blind spots, documented in the generator):
// D1 the path starts when the VM model first sees the CR3 (first
//    addons_vcpu_enter_guest); the truth starts at the simulation start,
//    the process being READY_IN_GUEST. The comparison starts at ours, so
//    the first truth segment is never exact.
// D6 a process that kicks (exit 30, e.g. a server sending its response)
//    and blocks on a network wait right after its next entry looks like
//    the lazy-TLB idle run after a kick: ours starts the wait at the kick,
//    the truth 2-4 us later (two-hosts-net nginx, and php's path through
//    nginx).
// What host-only events cannot tell is decided by the rules of
// critical_path.h (same-vCPU wake-ups, timers the guest did not switch on,
// timers taken by the L1 hypervisor, waits open at the trace end); on the
// bundled scenarios they give the truth.
// Several hosts (two-hosts-net): the clocks are the generated offsets here
// (the fitted ones are tested in tests/analyses/sync); the request /
// response hops cross hosts through matched TCP packets.
// Measured per process (default seed), time agreeing / exact segments:
//   one-vm-mixed   web 100% 530/531, db 100% 528/529, cron 100% 117/118;
//   overcommit     compute 100% 252/253, writer 100% 361/362, batch 100%
//                  251/252, agg 100% 240/241;
//   nested-vm      l1-logger 100% 103/104, l1-db 100% 358/359, l2-app 100%
//                  316/317, l2-helper 100% 523/524;
//   two-hosts-net  curl 100% 920/921, nginx 99.8% 889/992 (D6), php 99.9%
//                  875/976 (D6 through nginx);
//   demo (1.5 s)   web 100%, db 98.7%, l2-worker 99.9%, l2-logger 99.8%,
//                  encoder 100%, uploader 100%: 99.72% (a timer taken
//                  for an IPI held by the L1 hypervisor, and the like).
#include "analyses/graph/critical_path.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/events/event_decoder.h"
#include "analyses/graph/graph_model.h"
#include "analyses/sync/sync_module.h"
#include "analyses/vm/vm_model.h"
#include "storage/memory_state_history.h"

namespace vmtrace::graph {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Seg {
  std::string worker;
  int64_t start, end;
  std::string cause, layer;
};

std::ostream& operator<<(std::ostream& os, const Seg& s) {
  return os << "[" << s.worker << " " << s.start << " " << s.end << " "
            << s.cause << " " << s.layer << "]";
}

struct PassRun {
  std::unique_ptr<storage::MemoryStateHistory> h;
  std::unique_ptr<GraphModel> graph;
  std::unique_ptr<sync::SyncModule> sync;  // several hosts only
};

PassRun RunPass(const std::vector<std::string>& dirs,
                vm::VmOptions options = {}) {
  std::vector<std::shared_ptr<const ctf::Trace>> traces;
  for (const auto& d : dirs) traces.push_back(ctf::Trace::Open(d).value());
  PassRun r;
  r.h = std::make_unique<storage::MemoryStateHistory>();
  r.graph = std::make_unique<GraphModel>(traces, options);
  vm::VmModel model(traces, r.h.get(), std::move(options));
  if (traces.size() > 1) r.sync = sync::SyncModule::Open(traces, "", "");
  auto reader = ctf::EventReader::Open(traces).value();
  ctf::Event ev;
  events::EventDecoder decoder(traces);
  events::TypedEvent rec;
  int64_t last = 0;
  while (reader->Next(&ev)) {
    decoder.Decode(ev, &rec);
    model.OnEvent(rec);
    r.graph->OnEvent(rec);
    if (r.sync) r.sync->OnEvent(rec);
    last = ev.timestamp;
  }
  EXPECT_TRUE(model.Finish(last).ok());
  r.graph->Finish(last);
  if (r.sync) {
    EXPECT_TRUE(r.sync->Finish(last).ok());
  }
  return r;
}

// The scenario's generated clock offsets as a ClockSync whose reference is
// the scenario's first host.
sync::ClockSync TruthClocks(const std::string& scenario_file) {
  json sc = json::parse(std::ifstream(scenario_file));
  std::vector<sync::HostClock> hosts;
  const int64_t ref = sc["hosts"][0].value("clock_offset_ns", int64_t{0});
  for (const json& h : sc["hosts"]) {
    sync::HostClock c;
    c.host = h["name"];
    c.offset_ns = double(ref - h.value("clock_offset_ns", int64_t{0}));
    c.quality = hosts.empty() ? "reference" : "accurate";
    hosts.push_back(c);
  }
  return sync::ClockSync(std::move(hosts));
}

// Share of [a, b) where both paths say the same thing, and the truth
// segments (clipped to [a, b)) that differ somewhere.
struct Compare {
  int64_t agree = 0, total = 0;
  int exact = 0, truth_segments = 0;
  std::vector<std::pair<Seg, Seg>> diffs;  // truth, ours at its start
};

const Seg* At(const std::vector<Seg>& p, int64_t t) {
  auto it = std::upper_bound(p.begin(), p.end(), t,
                             [](int64_t x, const Seg& s) { return x < s.end; });
  return it != p.end() && it->start <= t ? &*it : nullptr;
}

Compare ComparePaths(const std::vector<Seg>& truth,
                     const std::vector<Seg>& ours, int64_t a, int64_t b) {
  Compare c;
  for (const Seg& t : truth) {
    int64_t s = std::max(t.start, a), e = std::min(t.end, b);
    if (s >= e) continue;
    ++c.truth_segments;
    bool same_everywhere = true;
    for (int64_t x = s; x < e;) {
      const Seg* o = At(ours, x);
      int64_t next = o ? std::min(o->end, e) : e;
      if (o == nullptr) {
        // No segment: until the next one starts.
        auto it = std::upper_bound(
            ours.begin(), ours.end(), x,
            [](int64_t v, const Seg& sg) { return v < sg.start; });
        next = it == ours.end() ? e : std::min(it->start, e);
      }
      bool same = o && o->worker == t.worker && o->cause == t.cause &&
                  o->layer == t.layer;
      if (same)
        c.agree += next - x;
      else
        same_everywhere = false;
      c.total += next - x;
      x = next;
    }
    const Seg* o = At(ours, s);
    if (same_everywhere && o && o->start == t.start && o->end == t.end) {
      ++c.exact;
    }
    if (!same_everywhere) {
      c.diffs.push_back({t, o ? *o : Seg{"-", s, s, "-", "-"}});
    }
  }
  return c;
}

// Time per (worker, cause, layer) over [a, b): what the Breakdown table
// sums.
std::map<std::string, int64_t> Totals(const std::vector<Seg>& p, int64_t a,
                                      int64_t b) {
  std::map<std::string, int64_t> out;
  for (const Seg& s : p) {
    const int64_t d = std::min(s.end, b) - std::max(s.start, a);
    if (d > 0) out[s.worker + " " + s.cause + " " + s.layer] += d;
  }
  return out;
}

struct Floor {
  const char* scenario;
  double agree;  // minimum share of agreeing time over all processes
  // Per process, truth segments allowed to differ (-1: any number). 1 is
  // the first segment, which starts before the host first sees the
  // process (D1).
  int inexact;
  int seed = 0;  // 0: the scenario's own
};

class CriticalPathTest : public testing::TestWithParam<Floor> {};

TEST_P(CriticalPathTest, MatchesTruth) {
  const std::string name = GetParam().scenario;
  const fs::path out = fs::temp_directory_path() /
                       ("vmtrace-cp-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(out);
  const int seed = GetParam().seed;
  const std::string cmd =
      std::string(VMTRACE_GEN_BIN) + " --scenario " + VMTRACE_GEN_SCENARIOS +
      "/" + name + ".json --out " + out.string() +
      (seed ? " --seed " + std::to_string(seed) : "") + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<std::string> dirs;
  std::vector<fs::path> truths;
  for (const auto& e : fs::directory_iterator(out)) {
    if (e.is_directory()) dirs.push_back(e.path().string());
    if (e.path().extension() == ".json") truths.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  std::sort(truths.begin(), truths.end());
  PassRun run = RunPass(dirs);
  const ExecGraph& g = run.graph->graph();
  std::vector<json> ts;
  for (const auto& f : truths) ts.push_back(json::parse(std::ifstream(f)));
  // Several hosts: the generated clock offsets, exactly (the fitted ones are
  // checked in tests/analyses/sync); host time + offset = first host time.
  const sync::ClockSync clocks =
      TruthClocks(std::string(VMTRACE_GEN_SCENARIOS) + "/" + name + ".json");
  // Truth worker names -> our workers.
  std::map<WorkerId, std::string> name_of;
  struct Proc {
    WorkerId w;
    const json* p;
    const json* t;  // its host's truth
  };
  std::vector<Proc> procs;
  auto cr3 = [](const json& j) {
    return std::stoull(j.get<std::string>(), nullptr, 16);
  };
  for (const json& t : ts) {
    const std::string host = t["host"];
    const int hi = g.HostIndex(host);
    ASSERT_GE(hi, 0);
    for (const json& vmj : t["vms"]) {
      const int64_t pid = vmj["pid"];
      for (const json& p : vmj["processes"]) {
        WorkerId w{WorkerId::kGuest, uint32_t(hi), pid, 0, cr3(p["cr3"])};
        name_of[w] = p["worker"];
        if (p.contains("critical_path")) procs.push_back({w, &p, &t});
      }
      for (const json& n : vmj["nested"]) {
        for (const json& p : n["processes"]) {
          WorkerId w{WorkerId::kL2, uint32_t(hi), pid, cr3(n["hypervisor_cr3"]),
                     cr3(p["cr3"])};
          name_of[w] = p["worker"];
          if (p.contains("critical_path")) procs.push_back({w, &p, &t});
        }
      }
    }
  }
  ASSERT_FALSE(procs.empty());
  int64_t agree = 0, total = 0;
  int64_t fit_agree = 0, fit_total = 0;  // with the fitted clocks
  auto segs = [&](const CriticalPath& cp) {
    std::vector<Seg> out;
    for (const PathSegment& s : cp.segments) {
      auto it = name_of.find(s.worker);
      out.push_back({s.worker.kind == WorkerId::kNetwork ? "network"
                     : it == name_of.end() ? WorkerLabel(g, s.worker)
                                           : it->second,
                     s.start, s.end, CauseName(s.cause), LayerName(s.layer)});
    }
    return out;
  };
  for (const Proc& pr : procs) {
    const json& p = *pr.p;
    const json& t = *pr.t;
    const int64_t end = t["end"];
    const std::string pname = p["worker"];
    std::vector<Seg> truth;
    for (const json& c : p["critical_path"]) {
      truth.push_back({c[0], c[1], c[2], c[3], c[4]});
    }
    auto cp =
        ComputeCriticalPath(g, run.h.get(), pr.w, t["begin"], end, {&clocks});
    ASSERT_TRUE(cp.ok()) << pname << ": " << cp.status().ToString();
    std::vector<Seg> ours = segs(*cp);
    ASSERT_FALSE(ours.empty()) << pname;
    if (run.sync) {
      // The same with the clocks the sync analysis fitted: the hops' ends
      // move by the fit's error (< 1 us), nothing else.
      ASSERT_NE(run.sync->clock_sync(), nullptr);
      auto fit = ComputeCriticalPath(g, run.h.get(), pr.w, t["begin"], end,
                                     {run.sync->clock_sync()});
      ASSERT_TRUE(fit.ok());
      std::vector<Seg> fs = segs(*fit);
      Compare fc = ComparePaths(
          truth, fs, std::max(fs.front().start, truth.front().start), end);
      fit_agree += fc.agree;
      fit_total += fc.total;
    }
    // Contiguous and non-overlapping.
    for (size_t i = 1; i < ours.size(); ++i) {
      EXPECT_EQ(ours[i - 1].end, ours[i].start) << pname << " segment " << i;
    }
    EXPECT_EQ(ours.back().end, end) << pname;
    const int64_t a = std::max(ours.front().start, truth.front().start);
    Compare c = ComparePaths(truth, ours, a, end);
    agree += c.agree;
    total += c.total;
    EXPECT_GT(c.exact, 0) << name << " " << pname;
    if (GetParam().inexact >= 0) {
      EXPECT_LE(c.truth_segments - c.exact, GetParam().inexact)
          << name << " " << pname;
      // The breakdown (time per cause and layer, per worker) equals the
      // truth's totals over the same range.
      EXPECT_EQ(Totals(ours, a, end), Totals(truth, a, end))
          << name << " " << pname;
    }
    std::printf("%s %s: %.1f%% of time agrees, %d/%d truth segments exact\n",
                name.c_str(), pname.c_str(),
                c.total ? 100.0 * double(c.agree) / double(c.total) : 100.0,
                c.exact, c.truth_segments);
    const int64_t b0 = t["begin"];
    for (size_t i = 0; i < c.diffs.size() && i < 12; ++i) {
      Seg tr = c.diffs[i].first, o = c.diffs[i].second;
      tr.start -= b0, tr.end -= b0, o.start -= b0, o.end -= b0;
      std::cout << "  differs: truth " << tr << " ours " << o << "\n";
    }
  }
  const double share = total ? double(agree) / double(total) : 1.0;
  std::printf("%s: %.2f%% of path time agrees with the truth\n", name.c_str(),
              100.0 * share);
  EXPECT_GE(share, GetParam().agree) << name;
  if (fit_total > 0) {
    const double fit_share = double(fit_agree) / double(fit_total);
    std::printf("%s: %.3f%% with the fitted clocks\n", name.c_str(),
                100.0 * fit_share);
    // Each hop end moves by the fit's error (< 1 us, 0.38 us for the
    // default seed); ~270 hop ends in 60 ms. Measured 99.67% / 99.80%.
    EXPECT_GE(fit_share, 0.995) << name;
  }
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(
    Bundled, CriticalPathTest,
    // Measured (default seed): 100.00%, 100.00%,
    // 100.00%, 99.90%.
    testing::Values(
        Floor{"one-vm-mixed", 0.99999, 1},
        Floor{"overcommit-two-vms", 0.99999, 1}, Floor{"nested-vm", 0.99999, 1},
        Floor{"two-hosts-net", 0.998, -1}, Floor{"demo", 0.995, -1},
        // Other seeds: the rules are not
        // tuned to one run. Measured
        // (seeds 11-14): one-vm-mixed
        // 98.73-100%, overcommit 100%,
        // nested 98.33-100%, two hosts
        // 99.89-99.90%.
        Floor{"one-vm-mixed", 0.985, -1, 11},
        Floor{"one-vm-mixed", 0.985, -1, 12},
        Floor{"one-vm-mixed", 0.985, -1, 13},
        Floor{"one-vm-mixed", 0.985, -1, 14},
        Floor{"overcommit-two-vms", 0.999, -1, 11},
        Floor{"nested-vm", 0.98, -1, 11}, Floor{"nested-vm", 0.98, -1, 12},
        Floor{"nested-vm", 0.98, -1, 13}, Floor{"nested-vm", 0.98, -1, 14},
        Floor{"two-hosts-net", 0.998, -1, 11}),
    [](const auto& info) {
      std::string n = info.param.scenario;
      if (info.param.seed) {
        n += "_seed" + std::to_string(info.param.seed);
      }
      for (char& c : n) {
        if (c == '-') c = '_';
      }
      return n;
    });

// Host threads: the QEMU vCPU thread's path covers the range contiguously,
// runs at L0, and a blocked interval ended by a task-context wake-up goes
// through the waker (the vCPU thread that sent the IPI wakes the other).
TEST(CriticalPathHostThread, VcpuThreadPath) {
  const fs::path out = fs::temp_directory_path() /
                       ("vmtrace-cp-host-" + std::to_string(getpid()));
  fs::remove_all(out);
  const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                          VMTRACE_GEN_SCENARIOS + "/one-vm-mixed.json --out " +
                          out.string() + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  PassRun run = RunPass({(out / "host-a").string()});
  const ExecGraph& g = run.graph->graph();
  json t = json::parse(std::ifstream(out / "host-a.truth.json"));
  const int64_t begin = t["begin"], end = t["end"];
  WorkerId w{WorkerId::kHostThread, 0, 2002, 0, 0};  // CPU 1/KVM
  auto cp = ComputeCriticalPath(g, nullptr, w, begin, end);
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  ASSERT_FALSE(cp->segments.empty());
  bool via_other = false;
  for (size_t i = 0; i < cp->segments.size(); ++i) {
    const PathSegment& s = cp->segments[i];
    EXPECT_EQ(s.layer, Layer::kL0);
    if (i > 0) {
      EXPECT_EQ(cp->segments[i - 1].end, s.start);
    }
    if (s.worker.id == 2001) via_other = true;
  }
  EXPECT_EQ(cp->segments.back().end, end);
  EXPECT_TRUE(via_other) << "vCPU 0's thread woke vCPU 1's (IPI)";
  EXPECT_FALSE(cp->arrows.empty());
  // A guest worker without a VM store is an error, not a crash.
  WorkerId guest{WorkerId::kGuest, 0, 2000, 0, 0x11a000};
  EXPECT_FALSE(ComputeCriticalPath(g, nullptr, guest, begin, end).ok());
  EXPECT_GT(g.MemoryBytes(), 0u);
  fs::remove_all(out);
}

// The timer and IPI vectors are the VM vector configuration's: with the
// guest's timer (or IPIs) said to be vector 999, the 236 (253) injections
// explain nothing as timers (IPIs) any more, on the VM model's rows, in
// the graph and on the path alike.
TEST(CriticalPathVectors, VectorsFollowTheConfiguration) {
  const fs::path out = fs::temp_directory_path() /
                       ("vmtrace-cp-vectors-" + std::to_string(getpid()));
  fs::remove_all(out);
  const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                          VMTRACE_GEN_SCENARIOS + "/one-vm-mixed.json --out " +
                          out.string() + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  json t = json::parse(std::ifstream(out / "host-a.truth.json"));
  const int64_t begin = t["begin"], end = t["end"];
  const WorkerId cron{WorkerId::kGuest, 0, 2000, 0, 0x33c000};
  const WorkerId db{WorkerId::kGuest, 0, 2000, 0, 0x22b000};
  auto ns_of = [&](const vm::VmOptions& o, const WorkerId& w, Cause c) {
    PassRun run = RunPass({(out / "host-a").string()}, o);
    auto cp = ComputeCriticalPath(run.graph->graph(), run.h.get(), w, begin,
                                  end, {nullptr, &o});
    EXPECT_TRUE(cp.ok());
    int64_t ns = 0;
    for (const PathSegment& s : cp->segments) {
      if (s.cause == c) ns += s.end - s.start;
    }
    return ns;
  };
  vm::VmOptions other;
  other.vectors["host-a/2000"].timer = {999};
  EXPECT_GT(ns_of({}, cron, Cause::kTimer), 0) << "cron sleeps on timers";
  EXPECT_EQ(ns_of(other, cron, Cause::kTimer), 0);
  EXPECT_GT(ns_of({}, db, Cause::kIpi), 0) << "db is woken by IPIs";
  fs::remove_all(out);

  // A guest whose IPIs use vector 250: unknown to the defaults; configured,
  // the graph binds its IPIs and db's path is the truth's again.
  json sc = json::parse(
      std::ifstream(std::string(VMTRACE_GEN_SCENARIOS) + "/one-vm-mixed.json"));
  sc["hosts"][0]["vms"][0]["vectors"] = {{"ipi", 250}};
  fs::create_directories(out);
  std::ofstream(out / "ipi250.json") << sc.dump();
  const std::string cmd2 = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                           (out / "ipi250.json").string() + " --out " +
                           (out / "gen").string() + " > /dev/null";
  ASSERT_EQ(std::system(cmd2.c_str()), 0) << cmd2;
  json t2 = json::parse(std::ifstream(out / "gen" / "host-a.truth.json"));
  vm::VmOptions ipi250;
  ipi250.vectors["host-a/2000"].task = {250};
  PassRun run = RunPass({(out / "gen" / "host-a").string()}, ipi250);
  const int64_t end2 = t2["end"];
  auto cp = ComputeCriticalPath(run.graph->graph(), run.h.get(), db,
                                t2["begin"], end2, {nullptr, &ipi250});
  ASSERT_TRUE(cp.ok());
  std::vector<Seg> ours, truth;
  int64_t ipi = 0;
  for (const PathSegment& s : cp->segments) {
    if (s.cause == Cause::kIpi) ipi += s.end - s.start;
    const std::string w = s.worker.cr3 == 0x22b000   ? "host-a/vm1/db"
                          : s.worker.cr3 == 0x11a000 ? "host-a/vm1/web"
                          : s.worker.cr3 == 0x33c000 ? "host-a/vm1/cron"
                                                     : "?";
    ours.push_back({w, s.start, s.end, CauseName(s.cause), LayerName(s.layer)});
  }
  for (const json& p : t2["vms"][0]["processes"]) {
    if (p["name"] != "db") continue;
    for (const json& c : p["critical_path"]) {
      truth.push_back({c[0], c[1], c[2], c[3], c[4]});
    }
  }
  EXPECT_GT(ipi, 0);
  Compare c = ComparePaths(truth, ours, ours.front().start, end2);
  EXPECT_GE(double(c.agree), 0.9999 * double(c.total));
  fs::remove_all(out);
}

}  // namespace
}  // namespace vmtrace::graph
