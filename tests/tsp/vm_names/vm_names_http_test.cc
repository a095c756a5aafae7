// The vmtrace.vm.names configuration over HTTP on the generated nested-vm
// trace (host-n, VM 5000; L1 processes 0x6000 l1-logger and 0x7000
// l1-db, hypervisor process 0x5000 running nested VM 0x5000 with L2
// processes 0x8000 l2-app and 0x9000 l2-helper). Posting names relabels
// Virtual CPUs, Virtual Processes and the critical path (rows, tooltips,
// breakdown with container rows) at once, without re-indexing or touching
// a store; deleting them brings the default labels back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

constexpr char kNames[] = "/config/types/vmtrace.vm.names";
constexpr char kCp[] = "vmtrace.critical-path";

class VmNamesHttpTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    gen_ = fs::temp_directory_path() /
           ("vmtrace-names-http-" + std::to_string(getpid()));
    fs::remove_all(gen_);
    const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                            VMTRACE_GEN_SCENARIOS + "/nested-vm.json --out " +
                            gen_.string() + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Json t = AddTrace((gen_ / "host-n").string(), "host-n");
    Json e = AddExperiment("names-exp", {t["UUID"].get<std::string>()});
    exp_ = e["UUID"];
    WaitIndexed(exp_);
  }
  void TearDown() override {
    HttpTest::TearDown();
    fs::remove_all(gen_);
  }

  std::string Base() { return HttpTest::Outputs(exp_); }

  // label -> entry of a time graph's (or data tree's) tree, once complete.
  struct Tree {
    Json entries = Json::array();
    const Json* Find(const std::string& label) const {
      for (const Json& e : entries) {
        if (e["labels"][0] == label) return &e;
      }
      return nullptr;
    }
    std::string Parent(const std::string& label) const {
      const Json* e = Find(label);
      if (e == nullptr) return "<no " + label + ">";
      for (const Json& p : entries) {
        if (p["id"] == (*e)["parentId"]) return p["labels"][0];
      }
      return "<root>";
    }
  };
  Tree GraphTree(const std::string& id) {
    Json t = PostUntilDone(Base() + "/timeGraph/" + id + "/tree",
                           Json{{"parameters", Json::object()}});
    EXPECT_EQ(t["status"], "COMPLETED") << t.dump();
    return {t["model"]["entries"]};
  }
  Json Tooltip(const std::string& id, int64_t item, int64_t time) {
    return Body(Post(
        Base() + "/timeGraph/" + id + "/tooltip",
        Json{{"parameters",
              {{"requested_times", {time}},
               {"requested_items", {item}},
               {"requested_element", {{"elementType", "state"}}}}}}))["model"];
  }
  // A tooltip of `item` at a time where it has a state (100 us steps).
  Json TooltipWithState(const std::string& id, int64_t item) {
    const int64_t start = Body(Get("/experiments/" + exp_))["start"];
    for (int64_t t = start; t < start + 60000000; t += 100000) {
      Json tip = Tooltip(id, item, t);
      if (tip.contains("Cause") || tip.contains("State")) return tip;
    }
    ADD_FAILURE() << "no state on " << item;
    return Json::object();
  }
  // (category, name) -> ns of a path's breakdown table.
  std::map<std::pair<std::string, std::string>, int64_t> Breakdown(
      const std::string& path_id) {
    const std::string table = "vmtrace.critical-path.breakdown$" +
                              path_id.substr(path_id.find('$') + 1);
    Json lines = Body(Post(Base() + "/table/" + table + "/lines",
                           Json{{"parameters",
                                 {{"requested_table_index", 0},
                                  {"requested_table_count", 100}}}}));
    std::map<std::pair<std::string, std::string>, int64_t> out;
    for (const Json& l : lines["model"]["lines"]) {
      out[{l["cells"][0]["content"], l["cells"][1]["content"]}] +=
          std::stoll(l["cells"][3]["content"].get<std::string>());
    }
    return out;
  }
  std::string CreatePath(const Json& parameters) {
    auto r = Post(Base() + "/" + kCp,
                  Json{{"name", "path"},
                       {"sourceTypeId", "vmtrace.critical-path.worker"},
                       {"parameters", parameters}});
    EXPECT_EQ(r->status, 200) << r->body;
    std::string id = Body(r)["id"];
    GraphTree(id);  // walked
    return id;
  }
  // Every file of the experiment's stores with its size, but the VM event
  // statistics' (built in the background after the pass, whatever the
  // names).
  std::map<std::string, uintmax_t> StoreFiles() {
    std::map<std::string, uintmax_t> out;
    for (const auto& f :
         fs::recursive_directory_iterator(data_dir_ / "experiments" / exp_)) {
      const std::string path = f.path().string();
      if (path.find("/vm-events") != std::string::npos) continue;
      if (f.is_regular_file()) out[path] = f.file_size();
    }
    return out;
  }

  fs::path gen_;
  std::string exp_;
};

const Json kShop = Json::parse(R"({
  "host": "host-n", "pid": 5000, "name": "shop",
  "containers": {"web": "Web front"},
  "processes": [
    {"cr3": "0x6000", "name": "logger", "pid": 41, "container": "web"},
    {"cr3": "0x5000", "name": "qemu-l2", "pid": 300}],
  "nested": [{"hypervisor_cr3": "0x5000", "name": "inner-vm",
              "processes": [{"cr3": "0x8000", "name": "app", "pid": 7,
                             "container": "jobs"}]}]})");

TEST_F(VmNamesHttpTest, NamesRelabelEveryVmOutputWithoutReindexing) {
  const std::string l1 =
      CreatePath({{"host", "host-n"}, {"vm_pid", 5000}, {"cr3", "0x6000"}});
  const std::string l2 = CreatePath({{"host", "host-n"},
                                     {"vm_pid", 5000},
                                     {"hypervisor_cr3", "0x5000"},
                                     {"cr3", "0x9000"}});
  // Default labels.
  Tree cpus = GraphTree("vmtrace.vm.virtual_cpus");
  EXPECT_NE(cpus.Find("VM 5000"), nullptr);
  Tree procs = GraphTree("vmtrace.vm.virtual_processes");
  EXPECT_EQ(procs.Parent("CR3 0x6000"), "VM 5000");
  Tree path = GraphTree(l1);
  EXPECT_EQ(path.Parent("Process 0x6000"), "VM 5000");
  auto breakdown = Breakdown(l1);
  EXPECT_TRUE(breakdown.count({"worker", "host-n/5000/0x6000"}));
  const auto before = StoreFiles();
  const Experiment* open = service()->OpenExperiment(exp_)->get();

  Json created = Body(Post(std::string(kNames) + "/configs",
                           Json{{"name", "shop"}, {"parameters", kShop}}));
  ASSERT_EQ(created["sourceTypeId"], "vmtrace.vm.names");
  // Nothing re-indexed: the experiment is still complete, right away.
  Json exp = Body(Get("/experiments/" + exp_));
  EXPECT_EQ(exp["indexingStatus"], "COMPLETED");

  // Virtual CPUs: the VM's and the nested VM's names.
  cpus = GraphTree("vmtrace.vm.virtual_cpus");
  ASSERT_NE(cpus.Find("shop"), nullptr) << cpus.entries.dump();
  EXPECT_EQ((*cpus.Find("shop"))["labels"][1], "5000");
  EXPECT_EQ(cpus.Find("VM 5000"), nullptr);
  EXPECT_NE(cpus.Find("inner-vm"), nullptr);

  // Virtual Processes: VM -> container -> "name (pid)".
  procs = GraphTree("vmtrace.vm.virtual_processes");
  EXPECT_EQ(procs.Parent("Web front"), "shop");
  EXPECT_EQ(procs.Parent("logger (41)"), "Web front");
  EXPECT_EQ(procs.Parent("qemu-l2 (300)"), "shop") << "no container";
  EXPECT_EQ(procs.Parent("inner-vm"), "shop");
  EXPECT_EQ(procs.Parent("jobs"), "inner-vm");
  EXPECT_EQ(procs.Parent("app (7)"), "jobs");
  EXPECT_EQ(procs.Find("CR3 0x6000"), nullptr);
  EXPECT_FALSE((*procs.Find("Web front")).value("hasData", false));
  Json tip = TooltipWithState("vmtrace.vm.virtual_processes",
                              (*procs.Find("qemu-l2 (300)"))["id"]);
  EXPECT_EQ(tip["CR3"], "0x5000");
  EXPECT_EQ(tip["Process"], "qemu-l2 (300)");
  tip = TooltipWithState("vmtrace.vm.virtual_processes",
                         (*procs.Find("app (7)"))["id"]);
  EXPECT_EQ(tip["Container"], "jobs");
  EXPECT_EQ(tip["Container source"], "configuration");

  // The critical path: rows, tooltips, breakdown with container rows.
  path = GraphTree(l1);
  EXPECT_EQ(path.Parent("logger (41)"), "Web front");
  EXPECT_EQ(path.Parent("Web front"), "shop");
  EXPECT_EQ(path.Parent("shop"), "Host host-n");
  tip = TooltipWithState(l1, (*path.Find("logger (41)"))["id"]);
  EXPECT_EQ(tip["Worker"], "host-n/5000/0x6000");
  EXPECT_EQ(tip["VM"], "shop");
  EXPECT_EQ(tip["Process"], "logger (41)");
  EXPECT_EQ(tip["Container"], "Web front");
  breakdown = Breakdown(l1);
  const int64_t logger = breakdown[{"worker", "host-n/shop/logger (41)"}];
  EXPECT_GT(logger, 0) << ::testing::PrintToString(breakdown);
  EXPECT_EQ((breakdown[{"container", "Web front (shop)"}]), logger);
  EXPECT_FALSE(breakdown.count({"worker", "host-n/5000/0x6000"}));
  Tree nested = GraphTree(l2);
  EXPECT_EQ(nested.Parent("inner-vm"), "shop");
  if (nested.Find("app (7)") != nullptr) {  // on l2-helper's path
    EXPECT_EQ(nested.Parent("app (7)"), "jobs");
    EXPECT_EQ(nested.Parent("jobs"), "inner-vm");
  }
  // The breakdown of a selection groups the containers too.
  const std::string sel = "vmtrace.critical-path.breakdown-selection$" +
                          l1.substr(l1.find('$') + 1);
  Json t = Body(Post(Base() + "/data/" + sel + "/tree",
                     Json{{"parameters", Json::object()}}));
  Tree selection{t["model"]["entries"]};
  EXPECT_EQ(selection.Parent("Web front (shop)"), "container");

  // No store was written or reopened: the experiment stayed open.
  EXPECT_EQ(service()->OpenExperiment(exp_)->get(), open);
  const auto after = StoreFiles();
  for (const auto& [f, size] : after) {
    EXPECT_TRUE(before.count(f) && before.at(f) == size) << f;
  }
  EXPECT_EQ(after.size(), before.size());

  // Deleting the names: default labels again.
  auto del = Delete(std::string(kNames) + "/configs/" +
                    created["id"].get<std::string>());
  ASSERT_EQ(del->status, 200);
  EXPECT_NE(GraphTree("vmtrace.vm.virtual_cpus").Find("VM 5000"), nullptr);
  procs = GraphTree("vmtrace.vm.virtual_processes");
  EXPECT_EQ(procs.Parent("CR3 0x6000"), "VM 5000");
  EXPECT_EQ(procs.Find("Web front"), nullptr);
  EXPECT_EQ(GraphTree(l1).Parent("Process 0x6000"), "VM 5000");
  breakdown = Breakdown(l1);
  EXPECT_TRUE(breakdown.count({"worker", "host-n/5000/0x6000"}));
  for (const auto& [k, ns] : breakdown) EXPECT_NE(k.first, "container");
}

TEST_F(VmNamesHttpTest, TypeIsListedAndBadParametersAreNamed) {
  Json types = Body(Get("/config/types"));
  bool listed = false;
  for (const Json& t : types) listed = listed || t["id"] == "vmtrace.vm.names";
  EXPECT_TRUE(listed);
  EXPECT_EQ(Body(Get(kNames))["schema"]["required"],
            Json::array({"host", "pid"}));
  auto bad = [this](const Json& params) {
    Json e = ExpectError(Post(std::string(kNames) + "/configs",
                              Json{{"name", "x"}, {"parameters", params}}),
                         400);
    return e["title"].get<std::string>();
  };
  EXPECT_EQ(bad({{"pid", 5000}}), "Missing query parameters: host");
  EXPECT_EQ(bad({{"host", "host-n"}, {"pid", 5000}, {"colour", 1}}),
            "Invalid query parameters: colour");
  EXPECT_EQ(bad({{"host", "host-n"},
                 {"pid", 5000},
                 {"processes", {{{"cr3", "6000"}}}}}),
            "Invalid query parameters: processes[0].cr3");
  EXPECT_TRUE(Body(Get(std::string(kNames) + "/configs")).empty());
  // PUT validates too.
  Json created = Body(Post(std::string(kNames) + "/configs",
                           Json{{"name", "ok"}, {"parameters", kShop}}));
  ExpectError(
      Put(std::string(kNames) + "/configs/" + created["id"].get<std::string>(),
          Json{{"name", "ok"}, {"parameters", {{"pid", -1}}}}),
      400);
}

// overcommit-two-vms: VM 3000's processes are preempted by VM 4000's vCPU
// threads; the breakdown names the preempting VM.
TEST_F(VmNamesHttpTest, TheBreakdownNamesThePreemptingVm) {
  fs::path gen = gen_ / "oc";
  const std::string cmd =
      std::string(VMTRACE_GEN_BIN) + " --scenario " + VMTRACE_GEN_SCENARIOS +
      "/overcommit-two-vms.json --out " + gen.string() + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Json t = AddTrace((gen / "host-oc").string(), "host-oc");
  exp_ = AddExperiment("oc-exp", {t["UUID"].get<std::string>()})["UUID"];
  WaitIndexed(exp_);
  const std::string path =
      CreatePath({{"host", "host-oc"}, {"vm_pid", 3000}, {"cr3", "0xa1000"}});
  auto preempted_by = [&](const std::string& prefix) {
    int64_t ns = 0;
    for (const auto& [key, v] : Breakdown(path)) {
      if (key.first == "preempted by" && key.second.rfind(prefix, 0) == 0) {
        ns += v;
      }
    }
    return ns;
  };
  const int64_t by_vm = preempted_by("VM 4000 (thread ");
  ASSERT_GT(by_vm, 0);
  Body(
      Post(std::string(kNames) + "/configs",
           Json{{"name", "b"},
                {"parameters",
                 {{"host", "host-oc"}, {"pid", 4000}, {"name", "batch-vm"}}}}));
  EXPECT_EQ(preempted_by("batch-vm (thread "), by_vm);
  EXPECT_EQ(preempted_by("VM 4000 (thread "), 0);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
