#include "analyses/guest/guest_map.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/guest/host_view.h"
#include "analyses/vm/vm_model.h"
#include "storage/memory_state_history.h"

namespace vmtrace::guest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Generated {
  fs::path out;
  std::string host_dir;
  std::vector<std::string> guest_dirs;
  std::vector<json> truths;  // *.guest-truth.json
};

// Generates a scenario once per test binary run.
const Generated& Scenario(const std::string& name) {
  static std::map<std::string, Generated> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  Generated g;
  g.out = fs::temp_directory_path() /
          ("vmtrace-guest-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(g.out);
  const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                          VMTRACE_GEN_SCENARIOS + "/" + name + ".json --out " +
                          g.out.string() + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<fs::path> entries(fs::directory_iterator(g.out), {});
  std::sort(entries.begin(), entries.end());
  for (const fs::path& p : entries) {
    const std::string n = p.filename().string();
    if (n.size() > 17 && n.substr(n.size() - 17) == ".guest-truth.json") {
      g.truths.push_back(json::parse(std::ifstream(p)));
    }
  }
  for (const json& t : g.truths) {
    g.guest_dirs.push_back((g.out / t["guest"].get<std::string>()).string());
    g.host_dir = (g.out / t["host"].get<std::string>()).string();
  }
  return cache.emplace(name, std::move(g)).first->second;
}

std::vector<GuestTrace> ReadGuests(const Generated& g) {
  std::vector<GuestTrace> out;
  for (const std::string& d : g.guest_dirs) {
    auto t = ReadGuestTrace(d);
    EXPECT_TRUE(t.ok()) << t.status().message();
    if (t.ok()) out.push_back(std::move(t).value());
  }
  return out;
}

HostView FromStore(const std::string& host_dir) {
  auto trace = ctf::Trace::Open(host_dir).value();
  storage::MemoryStateHistory h;
  vm::VmModel model({trace}, &h);
  auto reader = ctf::EventReader::Open({trace}).value();
  ctf::Event ev;
  int64_t last = 0;
  while (reader->Next(&ev)) {
    model.OnEvent(ev);
    last = ev.timestamp;
  }
  EXPECT_TRUE(model.Finish(last).ok());
  auto view = HostViewFromStore(h);
  EXPECT_TRUE(view.ok());
  return std::move(view).value();
}

const vm::GuestTraceReport* ReportOf(const GuestMapping& m,
                                     const std::string& trace) {
  for (const auto& r : m.reports) {
    if (r.trace == trace) return &r;
  }
  return nullptr;
}

// Every CR3 the host saw entering a guest of the scenario is named as the
// truth says: the holder's pid, comm and container at that instant.
// Returns the number of CR3 observations checked.
size_t ExpectEqualsTruth(const Generated& g, const HostView& samples,
                         const GuestMapping& m) {
  size_t checked = 0, wrong = 0;
  for (const json& t : g.truths) {
    if (m.names.Vm(t["host"], t["vm_pid"].get<int64_t>()) == nullptr) {
      ADD_FAILURE() << "no names for " << t["guest"];
      return 0;
    }
  }
  for (const HostVcpu& v : samples.vcpus) {
    for (const Cr3Sample& s : v.cr3) {
      const uint64_t canon = vm::CanonicalCr3(s.cr3);
      const json* holder = nullptr;
      const json* level = nullptr;
      for (const json& t : g.truths) {
        if (t["host"] != v.host || t["vm_pid"] != v.vm_pid) continue;
        for (const json& p : t["processes"]) {
          if (std::stoull(p["cr3"].get<std::string>(), nullptr, 16) == canon &&
              p["begin"].get<int64_t>() <= s.ts &&
              s.ts < p["end"].get<int64_t>()) {
            holder = &p;
            level = &t;
          }
        }
      }
      if (holder == nullptr) continue;  // a VM without a guest trace
      const vm::VmNaming* vmn = m.names.Vm(v.host, v.vm_pid);
      if ((*level)["level"] == 2) {
        auto n = vmn->nested.find(std::stoull(
            (*level)["l1_hypervisor_cr3"].get<std::string>(), nullptr, 16));
        vmn = n == vmn->nested.end() ? nullptr : &n->second;
      }
      const vm::GuestProcess* p = vmn ? vmn->Process(s.cr3, s.ts) : nullptr;
      ++checked;
      std::string want_container =
          (*holder)["container"].is_null()
              ? ""
              : std::to_string((*holder)["pid_ns"].get<uint64_t>());
      bool ok = p != nullptr && p->pid == (*holder)["pid"] &&
                p->name == (*holder)["name"] && p->container == want_container;
      if (ok && !want_container.empty()) {
        ok = vmn->containers.at(p->container).name == (*holder)["container"];
      }
      if (!ok && ++wrong <= 10) {
        ADD_FAILURE() << "vCPU " << v.vcpu << " CR3 0x" << std::hex << s.cr3
                      << std::dec << " at " << s.ts << ": truth "
                      << holder->dump() << ", got "
                      << (p ? p->name + " (" + std::to_string(p->pid) + ") [" +
                                  p->container + "]"
                            : std::string("nothing"));
      }
    }
  }
  EXPECT_EQ(wrong, 0u) << "of " << checked;
  return checked;
}

TEST(GuestMap, ContainersScenarioEqualsTruthFromTheHostTrace) {
  const Generated& g = Scenario("containers");
  ASSERT_EQ(g.truths.size(), 2u);
  auto view = HostViewFromTraces({g.host_dir});
  ASSERT_TRUE(view.ok()) << view.status().message();
  GuestMapping m = MapGuestTraces(*view, ReadGuests(g));
  ASSERT_EQ(m.reports.size(), 2u);
  for (const json& t : g.truths) {
    const vm::GuestTraceReport* r = ReportOf(m, t["guest"]);
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(r->used) << r->Summary();
    EXPECT_EQ(r->vm_pid, t["vm_pid"].get<int64_t>());
    EXPECT_EQ(r->level, t["level"].get<int>()) << r->Summary();
    EXPECT_EQ(r->conflicts, 0u) << r->Summary();
    EXPECT_EQ(r->matched, r->switches) << r->Summary();
    if (t["level"] == 2) {
      EXPECT_EQ(
          r->l1_cr3,
          std::stoull(t["l1_hypervisor_cr3"].get<std::string>(), nullptr, 16));
      EXPECT_EQ(r->clock, "fitted");  // no kvm_write_tsc_offset for L2
    } else {
      EXPECT_EQ(r->clock, "kvm_write_tsc_offset");
      EXPECT_EQ(r->offset_ns, t["tsc_offset_ns"].get<int64_t>());
    }
  }
  // The VM shows its name; exec, exit and reuse, KPTI all checked below.
  EXPECT_EQ(m.names.Vm("host-g", 6000)->name, "web-vm");
  EXPECT_GT(ExpectEqualsTruth(g, *view, m), 1000u);
}

TEST(GuestMap, ContainersScenarioEqualsTruthFromTheVmStore) {
  const Generated& g = Scenario("containers");
  // The store keeps no TSC offset: every clock is fitted.
  HostView store = FromStore(g.host_dir);
  EXPECT_TRUE(store.tsc_offsets.empty());
  GuestMapping m = MapGuestTraces(store, ReadGuests(g));
  for (const auto& r : m.reports) {
    EXPECT_TRUE(r.used) << r.Summary();
    EXPECT_EQ(r.clock, "fitted");
    EXPECT_EQ(r.matched, r.switches) << r.Summary();
  }
  auto events = HostViewFromTraces({g.host_dir});
  ASSERT_TRUE(events.ok());
  EXPECT_GT(ExpectEqualsTruth(g, *events, m), 1000u);
}

TEST(GuestMap, AHostTraceIsNotAGuestTrace) {
  const Generated& g = Scenario("containers");
  auto view = HostViewFromTraces({g.host_dir});
  ASSERT_TRUE(view.ok());
  auto host_as_guest = ReadGuestTrace(g.host_dir);
  ASSERT_TRUE(host_as_guest.ok());
  GuestMapping m = MapGuestTraces(*view, {*host_as_guest});
  ASSERT_EQ(m.reports.size(), 1u);
  EXPECT_FALSE(m.reports[0].used);
  EXPECT_NE(m.reports[0].reason.find("KVM events"), std::string::npos);
  EXPECT_TRUE(m.names.vms.empty());
}

TEST(GuestMap, ATraceOfAnotherMachineMatchesNoVm) {
  const Generated& g = Scenario("containers");
  auto view = HostViewFromTraces({g.host_dir});
  ASSERT_TRUE(view.ok());
  std::vector<GuestTrace> guests = ReadGuests(g);
  // The same switches 3 s later: out of reach of the TSC offset and of the
  // fit (clocks within 1 s).
  GuestTrace other = guests[0];
  other.name = "elsewhere";
  for (auto& cpu : other.cpus) {
    for (auto& s : cpu) s.ts += 3'000'000'000;
  }
  GuestMapping m = MapGuestTraces(*view, {other});
  ASSERT_EQ(m.reports.size(), 1u);
  EXPECT_FALSE(m.reports[0].used);
  EXPECT_NE(m.reports[0].reason.find("match no VM"), std::string::npos)
      << m.reports[0].reason;
  EXPECT_NE(m.reports[0].Summary().find("elsewhere: not used"),
            std::string::npos);
  EXPECT_TRUE(m.names.vms.empty());
}

// A CR3 that goes back to a process after another one held it: reported as
// a conflict, the holders kept in time order.
TEST(GuestMap, ACr3ClaimedByTwoProcessesIsReported) {
  HostView host;
  HostVcpu v{"h", 42, 0, {}};
  GuestTrace guest;
  guest.name = "g";
  guest.cpus.resize(1);
  guest.threads[10] = {10, "a", 0, -1, -1};
  guest.threads[20] = {20, "b", 0, -1, -1};
  guest.threads[30] = {30, "c", 0, -1, -1};
  // c (CR3 0x8000) alternates with a, then b, then a again on CR3 0x4000.
  const int64_t t0 = 1'000'000'000;
  const int64_t tids[] = {10, 30, 20, 30, 10, 30};
  for (int i = 0; i < 6; ++i) {
    const int64_t ts = t0 + i * 100'000;
    v.cr3.push_back({ts, tids[i] == 30 ? 0x8000u : 0x4000u | 0x1000u});
    guest.cpus[0].push_back({ts + 300, tids[i], guest.threads[tids[i]].comm});
  }
  host.vcpus.push_back(v);
  host.tsc_offsets[{"h", 42}] = 0;
  GuestMapping m = MapGuestTraces(host, {guest});
  ASSERT_EQ(m.reports.size(), 1u);
  const auto& r = m.reports[0];
  EXPECT_TRUE(r.used) << r.Summary();
  EXPECT_EQ(r.conflicts, 1u);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_NE(r.problems[0].find("claimed by pid 20 (b) and pid 10 (a)"),
            std::string::npos)
      << r.problems[0];
  const vm::VmNaming* n = m.names.Vm("h", 42);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->Process(0x4000, t0 + 50'000)->name, "a");
  EXPECT_EQ(n->Process(0x5000, t0 + 250'000)->name, "b");  // KPTI's twin
  EXPECT_EQ(n->Process(0x4000, t0 + 450'000)->name, "a");
}

}  // namespace
}  // namespace vmtrace::guest
