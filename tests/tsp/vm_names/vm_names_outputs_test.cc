// Guest names in the VM outputs, at the service level (no HTTP): the
// nested-vm scenario (host-n, VM 5000 whose hypervisor process CR3
// 0x5000 runs nested VM 0x5000 with L2 processes 0x8000 and 0x9000; L1
// processes 0x6000 and 0x7000). Names from a guest trace
// (GuestNamesSource::SetTraced, as the guest-trace mapping sets them) and
// from the vmtrace.vm.names configuration: the configuration's win, and a
// change shows in the next tree though the history is complete (the tree
// cache is keyed by the names).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "tsp/outputs/vm/vm_names_config.h"
#include "tsp/outputs/vm/vm_providers.h"
#include "tsp/service/trace_service.h"

namespace vmtrace::tsp {
namespace {

namespace fs = std::filesystem;

class VmNamesOutputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() /
           ("vmtrace-names-outputs-" + std::to_string(getpid()));
    fs::remove_all(tmp_);
    const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                            VMTRACE_GEN_SCENARIOS + "/nested-vm.json --out " +
                            (tmp_ / "trace").string() + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    ServiceOptions so;
    so.data_dir = (tmp_ / "data").string();
    svc_ = TraceService::Open(so).value();
    auto t =
        svc_->AddTrace((tmp_ / "trace" / "host-n").string(), "host-n", nullptr);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    auto e = svc_->AddExperiment("names", {t->record.uuid}, nullptr);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    uuid_ = e->record.uuid;
    exp_ = Open();
  }
  void TearDown() override {
    exp_.reset();
    svc_.reset();
    fs::remove_all(tmp_);
  }

  std::shared_ptr<Experiment> Open() {
    auto exp = svc_->OpenExperiment(uuid_);
    EXPECT_TRUE(exp.ok()) << exp.status().ToString();
    (*exp)->index->WaitUntilDone();
    return *exp;
  }

  const TimeGraphProvider* Graph(const std::string& id) {
    for (const auto& g : exp_->time_graphs) {
      if (g->descriptor().id == id) return g.get();
    }
    ADD_FAILURE() << "no output " << id;
    return nullptr;
  }

  TreeModel Tree(const std::string& id) {
    auto m = Graph(id)->Tree(0, INT64_MAX / 2);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_FALSE(m->running);
    return *m;
  }

  static const TreeEntry* Entry(const TreeModel& m, const std::string& label) {
    for (const auto& e : m.entries) {
      if (!e.labels.empty() && e.labels[0] == label) return &e;
    }
    return nullptr;
  }
  static std::string ParentLabel(const TreeModel& m, const TreeEntry* e) {
    if (e == nullptr) return "<none>";
    for (const auto& p : m.entries) {
      if (p.id == e->parent_id) return p.labels[0];
    }
    return "<root>";
  }

  // The tooltip of row `id` at the first time in [from, to) (ns from the
  // trace's start, 100 us steps) where it has a state; empty if none.
  std::map<std::string, std::string> TipIn(const TimeGraphProvider* g,
                                           int64_t id, int64_t from,
                                           int64_t to) {
    const int64_t start = exp_->index->Snapshot().start;
    for (int64_t t = start + from; t < start + to; t += 100000) {
      auto tip = g->Tooltip(id, t);
      EXPECT_TRUE(tip.ok());
      if (tip.ok() && tip->count("State")) return *tip;
    }
    ADD_FAILURE() << "row " << id << " has no state in [" << from << ", " << to
                  << ")";
    return {};
  }

  void PutNames(const std::string& json) {
    ASSERT_TRUE(
        svc_->PutConfig({kVmNamesTypeId, "names-1", "names", "", json}).ok());
  }

  fs::path tmp_;
  std::unique_ptr<TraceService> svc_;
  std::string uuid_;
  std::shared_ptr<Experiment> exp_;
};

// `start`: the trace's start (names' times are the host's clock).
vm::GuestNames Traced(int64_t start) {
  vm::GuestNames n;
  vm::VmNaming& v = n.vms[{"host-n", 5000}];
  v.name = "traced-vm";
  v.processes[0x6000] = {{INT64_MIN, INT64_MAX, "traced-logger", 41, "c1"}};
  v.processes[0x4000] = {{INT64_MIN, INT64_MAX, "qemu-l2", 300, ""}};
  v.containers["c1"] = {"web", "pid_ns 4026532281"};
  vm::VmNaming& l2 = v.nested[0x4000];
  l2.name = "traced-l2";
  l2.processes[0x8000] = {{INT64_MIN, start + 30000000, "l2-app", 7, ""},
                          {start + 30000000, INT64_MAX, "l2-app2", 8, "inner"}};
  return n;
}

TEST_F(VmNamesOutputsTest, DefaultLabelsWithoutNames) {
  TreeModel cpus = Tree(kVirtualCpusId);
  EXPECT_NE(Entry(cpus, "VM 5000"), nullptr);
  EXPECT_NE(Entry(cpus, "Nested VM 0x5000"), nullptr);
  TreeModel procs = Tree(kVirtualProcessesId);
  EXPECT_EQ(ParentLabel(procs, Entry(procs, "CR3 0x6000")), "VM 5000");
  EXPECT_EQ(ParentLabel(procs, Entry(procs, "CR3 0x8000")), "Nested VM 0x5000");
}

TEST_F(VmNamesOutputsTest, GuestTraceNamesShowUnderVmContainerProcess) {
  exp_->names->SetTraced(Traced(exp_->index->Snapshot().start));
  TreeModel cpus = Tree(kVirtualCpusId);
  const TreeEntry* vm = Entry(cpus, "traced-vm");
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->labels[1], "5000") << "the QEMU pid beside the name";
  EXPECT_EQ(Entry(cpus, "VM 5000"), nullptr);
  EXPECT_NE(Entry(cpus, "traced-l2"), nullptr);

  TreeModel procs = Tree(kVirtualProcessesId);
  // VM -> container -> process; a process without one under the VM.
  const TreeEntry* web = Entry(procs, "web");
  ASSERT_NE(web, nullptr);
  EXPECT_FALSE(web->has_data);
  EXPECT_EQ(ParentLabel(procs, web), "traced-vm");
  const TreeEntry* logger = Entry(procs, "traced-logger (41)");
  ASSERT_NE(logger, nullptr);
  EXPECT_EQ(logger->parent_id, web->id);
  EXPECT_EQ(ParentLabel(procs, Entry(procs, "qemu-l2 (300)")), "traced-vm");
  // A reused CR3 is labelled by its latest holder, in its container under
  // the nested VM.
  const TreeEntry* app = Entry(procs, "l2-app2 (8)");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(ParentLabel(procs, app), "inner");
  EXPECT_EQ(ParentLabel(procs, Entry(procs, "inner")), "traced-l2");
  // Container rows have ids apart from the quarks and fit JSON numbers.
  for (const auto& e : procs.entries) {
    EXPECT_LT(e.id, int64_t{1} << 53);
  }

  // Tooltips: the CR3, the holder at the hovered time, its container and
  // where the container came from.
  const TimeGraphProvider* g = Graph(kVirtualProcessesId);
  auto early = TipIn(g, app->id, 0, 30000000);
  EXPECT_EQ(early["CR3"], "0x8000");
  EXPECT_EQ(early["Process"], "l2-app (7)");
  EXPECT_FALSE(early.count("Container"));
  auto late = TipIn(g, app->id, 30000000, 60000000);
  EXPECT_EQ(late["Process"], "l2-app2 (8)");
  EXPECT_EQ(late["Container"], "inner");
  EXPECT_FALSE(late.count("Container source")) << "not declared";
  auto tip = TipIn(g, logger->id, 0, 60000000);
  EXPECT_EQ(tip["CR3"], "0x6000");
  EXPECT_EQ(tip["Process"], "traced-logger (41)");
  EXPECT_EQ(tip["Container"], "web");
  EXPECT_EQ(tip["Container id"], "c1");
  EXPECT_EQ(tip["Container source"], "pid_ns 4026532281");
}

TEST_F(VmNamesOutputsTest, HandGivenNamesOverrideGuestTraceNames) {
  exp_->names->SetTraced(Traced(exp_->index->Snapshot().start));
  ASSERT_NE(Entry(Tree(kVirtualProcessesId), "traced-logger (41)"), nullptr);
  PutNames(R"({"host": "host-n", "pid": 5000, "name": "shop",
               "containers": {"c1": "front"},
               "processes": [{"cr3": "0x6000", "name": "nginx", "pid": 812,
                              "container": "c1"}]})");
  // The experiment stays open (names rebuild nothing): the same object.
  auto again = svc_->OpenExperiment(uuid_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), exp_.get());

  TreeModel cpus = Tree(kVirtualCpusId);
  EXPECT_NE(Entry(cpus, "shop"), nullptr);
  EXPECT_EQ(Entry(cpus, "traced-vm"), nullptr);
  TreeModel procs = Tree(kVirtualProcessesId);
  EXPECT_EQ(Entry(procs, "traced-logger (41)"), nullptr);
  const TreeEntry* nginx = Entry(procs, "nginx (812)");
  ASSERT_NE(nginx, nullptr);
  EXPECT_EQ(ParentLabel(procs, nginx), "front");
  EXPECT_EQ(ParentLabel(procs, Entry(procs, "front")), "shop");
  // What the configuration does not name keeps the guest trace's name.
  EXPECT_NE(Entry(procs, "qemu-l2 (300)"), nullptr);
  EXPECT_NE(Entry(procs, "traced-l2"), nullptr);

  // Deleting the configuration: the guest trace's names again.
  ASSERT_TRUE(svc_->DeleteConfig(kVmNamesTypeId, "names-1").ok());
  procs = Tree(kVirtualProcessesId);
  EXPECT_NE(Entry(procs, "traced-logger (41)"), nullptr);
  EXPECT_EQ(Entry(procs, "nginx (812)"), nullptr);
  EXPECT_NE(Entry(Tree(kVirtualCpusId), "traced-vm"), nullptr);
}

TEST_F(VmNamesOutputsTest, HandNamesAreAppliedWhenAnExperimentOpens) {
  PutNames(R"({"host": "host-n", "pid": 5000, "name": "shop"})");
  EXPECT_NE(Entry(Tree(kVirtualCpusId), "shop"), nullptr);
  // A restart: the stored configuration names the reopened experiment.
  exp_.reset();
  svc_.reset();
  ServiceOptions so;
  so.data_dir = (tmp_ / "data").string();
  svc_ = TraceService::Open(so).value();
  exp_ = Open();
  EXPECT_NE(Entry(Tree(kVirtualCpusId), "shop"), nullptr);
  // A vector map still closes (and rebuilds) it; names are set again.
  exp_.reset();  // as a request does when its reply is sent
  ASSERT_TRUE(svc_->PutConfig({"vmtrace.vm.vectors", "v", "v", "",
                               R"({"timer": [236]})"})
                  .ok());
  exp_ = Open();
  EXPECT_NE(Entry(Tree(kVirtualCpusId), "shop"), nullptr);
}

}  // namespace
}  // namespace vmtrace::tsp
