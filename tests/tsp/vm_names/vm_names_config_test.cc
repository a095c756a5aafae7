// The "VM names" configuration (tsp/outputs/vm/vm_names_config.h): its
// parameters parsed into guest names, bad ones named in the 400's title,
// CR3s canonical, and the labels the outputs draw from them
// (tsp/outputs/vm/guest_labels.h).
#include "tsp/outputs/vm/vm_names_config.h"

#include <gtest/gtest.h>

#include <string>

#include "tsp/outputs/vm/guest_labels.h"

namespace vmtrace::tsp {
namespace {

using Json = nlohmann::json;

std::string Error(const Json& params) {
  auto r = ParseVmNames(params);
  EXPECT_FALSE(r.ok()) << params.dump();
  return r.ok() ? "" : r.status().message();
}

TEST(VmNamesConfigTest, ParsesOneVmWithContainersProcessesAndNested) {
  auto r = ParseVmNames(Json::parse(R"({
    "host": "host-n", "pid": 5000, "name": "shop",
    "containers": {"web": "Web front", "db": ""},
    "processes": [
      {"cr3": "0x6000", "name": "nginx", "pid": 812, "container": "web"},
      {"cr3": "0x1a2000", "name": "old", "pid": 9, "end": 1000},
      {"cr3": "0x1a2000", "name": "new", "pid": 10, "begin": 1000},
      {"cr3": 40960, "name": "batch", "container": "jobs"}
    ],
    "nested": [{"hypervisor_cr3": "0x5000", "name": "l2vm",
                "processes": [{"cr3": "0x8000", "name": "l2-app",
                               "container": "inner"}]}]
  })"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const vm::VmNaming* n = r->Vm("host-n", 5000);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->name, "shop");
  ASSERT_NE(n->Process(0x6000), nullptr);
  EXPECT_EQ(n->Process(0x6000)->name, "nginx");
  EXPECT_EQ(n->Process(0x6000)->pid, 812);
  EXPECT_EQ(n->Process(0x6000)->container, "web");
  EXPECT_EQ(n->containers.at("web").name, "Web front");
  EXPECT_EQ(n->containers.at("web").source, "configuration");
  EXPECT_EQ(n->containers.at("db").name, "");
  // A container only named by a process exists, shown by its id.
  ASSERT_TRUE(n->containers.count("jobs"));
  EXPECT_EQ(ContainerLabel(*n, "jobs"), "jobs");
  EXPECT_EQ(ContainerLabel(*n, "web"), "Web front");
  // An integer CR3 is the same as its hex string.
  ASSERT_NE(n->Process(0xa000), nullptr);
  EXPECT_EQ(n->Process(0xa000)->name, "batch");
  // A reused CR3: time ordered, the holder at a time, the latest by default.
  EXPECT_EQ(n->Process(0x1a2000, 999)->name, "old");
  EXPECT_EQ(n->Process(0x1a2000, 1000)->name, "new");
  EXPECT_EQ(n->Process(0x1a2000)->name, "new");
  ASSERT_TRUE(n->nested.count(0x4000)) << "0x5000 is canonically 0x4000";
  const vm::VmNaming& l2 = n->nested.at(0x4000);
  EXPECT_EQ(l2.name, "l2vm");
  EXPECT_EQ(l2.Process(0x8000)->name, "l2-app");
  EXPECT_TRUE(l2.containers.count("inner"));
}

TEST(VmNamesConfigTest, Cr3sAreCanonicalPcidAndKptiBitsMasked) {
  auto r = ParseVmNames(Json::parse(R"({
    "host": "h", "pid": 1,
    "processes": [{"cr3": "0X1A2005", "name": "pcid"}]})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const vm::VmNaming* n = r->Vm("h", 1);
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->processes.size(), 1u);
  EXPECT_EQ(n->processes.begin()->first, 0x1a2000u);
  // KPTI's user page table (bit 12) and any PCID name the same process.
  for (uint64_t cr3 : {0x1a2000ull, 0x1a3000ull, 0x1a2001ull, 0x1a3fffull}) {
    ASSERT_NE(n->Process(cr3), nullptr) << std::hex << cr3;
    EXPECT_EQ(n->Process(cr3)->name, "pcid");
  }
  EXPECT_EQ(n->Process(0x1a4000), nullptr);
  // So two entries for KPTI's two tables at once are one CR3 named twice.
  EXPECT_EQ(Error(Json::parse(R"({"host": "h", "pid": 1, "processes": [
                {"cr3": "0x1a2000", "name": "a"},
                {"cr3": "0x1a3000", "name": "b"}]})")),
            "Invalid query parameters: processes[1].cr3 (CR3 0x1a2000 is "
            "named twice over the same time)");
}

TEST(VmNamesConfigTest, BadParametersAreNamed) {
  const Json ok = {{"host", "h"}, {"pid", 1}};
  auto with = [&](const char* key, Json value) {
    Json p = ok;
    p[key] = std::move(value);
    return Error(p);
  };
  EXPECT_EQ(Error(Json::array()), "Invalid query parameters: parameters");
  EXPECT_EQ(Error(Json{{"pid", 1}}), "Missing query parameters: host");
  EXPECT_EQ(Error(Json{{"host", "h"}}), "Missing query parameters: pid");
  EXPECT_EQ(with("host", ""), "Invalid query parameters: host");
  EXPECT_EQ(with("pid", "1"), "Invalid query parameters: pid");
  EXPECT_EQ(with("pid", -1), "Invalid query parameters: pid");
  EXPECT_EQ(with("name", 3), "Invalid query parameters: name");
  EXPECT_EQ(with("colour", "red"), "Invalid query parameters: colour");
  EXPECT_EQ(with("processes", Json::object()),
            "Invalid query parameters: processes");
  EXPECT_EQ(with("processes", Json::array({Json{{"name", "x"}}})),
            "Missing query parameters: processes[0].cr3");
  for (const Json& bad : {Json("1a2000"), Json("0x"), Json("0xg1"),
                          Json("0x12345678901234567"), Json(-4096)}) {
    EXPECT_EQ(with("processes", Json::array({Json{{"cr3", bad}}})),
              "Invalid query parameters: processes[0].cr3")
        << bad.dump();
  }
  EXPECT_EQ(
      with("processes", Json::array({Json{{"cr3", "0x1000"}},
                                     Json{{"cr3", "0x2000"}, {"pid", "7"}}})),
      "Invalid query parameters: processes[1].pid");
  EXPECT_EQ(with("processes",
                 Json::array({Json{{"cr3", "0x2000"}, {"container", ""}}})),
            "Invalid query parameters: processes[0].container");
  EXPECT_EQ(
      with("processes",
           Json::array({Json{{"cr3", "0x2000"}, {"begin", 5}, {"end", 5}}})),
      "Invalid query parameters: processes[0].end (not after begin)");
  EXPECT_EQ(
      with("processes", Json::array({Json{{"cr3", "0x2000"}, {"comm", "x"}}})),
      "Invalid query parameters: processes[0].comm");
  EXPECT_EQ(with("containers", Json::array({"web"})),
            "Invalid query parameters: containers");
  EXPECT_EQ(with("containers", Json{{"web", 3}}),
            "Invalid query parameters: containers.web");
  EXPECT_EQ(with("containers", Json{{"", "x"}}),
            "Invalid query parameters: containers (an empty container id)");
  EXPECT_EQ(with("nested", Json::array({Json{{"name", "l2"}}})),
            "Missing query parameters: nested[0].hypervisor_cr3");
  EXPECT_EQ(
      with("nested", Json::array({Json{
                         {"hypervisor_cr3", "0x5000"},
                         {"processes", Json::array({Json{{"cr3", "zz"}}})}}})),
      "Invalid query parameters: nested[0].processes[0].cr3");
  EXPECT_EQ(with("nested", Json::array({Json{{"hypervisor_cr3", "0x5000"},
                                             {"nested", Json::array()}}})),
            "Invalid query parameters: nested[0].nested");
  // Overlapping ranges of one CR3 are refused, consecutive ones are not.
  EXPECT_EQ(
      with("processes", Json::array({Json{{"cr3", "0x2000"}, {"end", 10}},
                                     Json{{"cr3", "0x2000"}, {"begin", 9}}})),
      "Invalid query parameters: processes[1].cr3 (CR3 0x2000 is "
      "named twice over the same time)");
  Json consecutive = ok;
  consecutive["processes"] =
      Json::array({Json{{"cr3", "0x2000"}, {"begin", 10}},
                   Json{{"cr3", "0x2000"}, {"end", 10}}});
  EXPECT_TRUE(ParseVmNames(consecutive).ok());
}

TEST(VmNamesConfigTest, ConfigsMergeInOrderAndSkipOtherTypes) {
  std::vector<storage::ConfigRecord> configs = {
      {kVmNamesTypeId, "1", "a", "",
       R"({"host":"h","pid":1,"name":"first",
           "processes":[{"cr3":"0x2000","name":"x"}]})"},
      {"vmtrace.vm.vectors", "2", "v", "", R"({"timer":[1]})"},
      {kVmNamesTypeId, "3", "b", "", R"({"host":"h","pid":1,"name":"second"})"},
      {kVmNamesTypeId, "4", "c", "", R"({"host":"h","pid":2,"name":"other"})"},
      {kVmNamesTypeId, "5", "damaged", "", R"({"host":)"}};
  vm::GuestNames n = GuestNamesFromConfigs(configs);
  ASSERT_EQ(n.vms.size(), 2u);
  EXPECT_EQ(n.Vm("h", 1)->name, "second");
  EXPECT_EQ(n.Vm("h", 1)->Process(0x2000)->name, "x");
  EXPECT_EQ(n.Vm("h", 2)->name, "other");
}

TEST(VmNamesConfigTest, TypeHasASchema) {
  Json t = VmNamesConfigType();
  EXPECT_EQ(t["id"], "vmtrace.vm.names");
  EXPECT_EQ(t["schema"]["type"], "object");
  EXPECT_EQ(t["schema"]["required"], Json::array({"host", "pid"}));
  for (const char* key :
       {"host", "pid", "name", "containers", "processes", "nested"}) {
    EXPECT_TRUE(t["schema"]["properties"].contains(key)) << key;
  }
}

TEST(GuestLabelsTest, ProcessLabelsAndTooltips) {
  vm::GuestProcess p;
  EXPECT_EQ(ProcessLabel(p), "");
  p.pid = 812;
  EXPECT_EQ(ProcessLabel(p), "pid 812");
  p.name = "nginx";
  EXPECT_EQ(ProcessLabel(p), "nginx (812)");
  p.pid = -1;
  EXPECT_EQ(ProcessLabel(p), "nginx");
  uint64_t v = 0;
  EXPECT_TRUE(ParseCr3Text("0x1a2000", &v));
  EXPECT_EQ(v, 0x1a2000u);
  EXPECT_FALSE(ParseCr3Text("1a2000", &v));
  EXPECT_EQ(Cr3Label(0x1a2000), "0x1a2000");

  auto r = ParseVmNames(Json::parse(R"({"host": "h", "pid": 1,
    "containers": {"c1": "web"},
    "processes": [
      {"cr3": "0x2000", "name": "sh", "pid": 5, "end": 100},
      {"cr3": "0x2000", "name": "nginx", "pid": 5, "begin": 100,
       "container": "c1"}]})"));
  ASSERT_TRUE(r.ok());
  const vm::VmNaming* n = r->Vm("h", 1);
  EXPECT_EQ(LatestProcessLabel(n, 0x2000), "nginx (5)");
  EXPECT_EQ(LatestProcessLabel(n, 0x4000), "");
  EXPECT_EQ(LatestProcessLabel(nullptr, 0x2000), "");
  EXPECT_EQ(LatestContainer(n, 0x2000), "c1");
  std::map<std::string, std::string> before, after, unnamed;
  AddProcessTooltip(n, 0x2000, 50, &before);
  EXPECT_EQ(before,
            (std::map<std::string, std::string>{{"Process", "sh (5)"}}));
  AddProcessTooltip(n, 0x3000, 150, &after);  // KPTI's other table
  EXPECT_EQ(after, (std::map<std::string, std::string>{
                       {"Process", "nginx (5)"},
                       {"Container", "web"},
                       {"Container id", "c1"},
                       {"Container source", "configuration"}}));
  AddProcessTooltip(n, 0x4000, 150, &unnamed);
  EXPECT_TRUE(unnamed.empty());
}

}  // namespace
}  // namespace vmtrace::tsp
