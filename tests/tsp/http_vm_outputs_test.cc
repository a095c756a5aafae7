// VM outputs on a real trace without the lttng-modules addons
// (perf-kvm-tinyguest-2cpu: its metadata declares the KVM events, it has
// no addons_vcpu_enter_guest). vm-semantics §2: the process view is an
// empty tree whose statusMessage says why.
#include <gtest/gtest.h>

#include <string>

#include "http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

TEST_F(HttpTest, VirtualProcessesWithoutAddonsSaysWhy) {
  Json exp = OpenIndexed("perf-kvm-tinyguest-2cpu", "perf-kvm");
  const std::string uuid = exp["UUID"];
  const std::string tg = Outputs(uuid) + "/timeGraph/";
  Json empty = Json{{"parameters", Json::object()}};

  Json procs = Body(Post(tg + "vmtrace.vm.virtual_processes/tree", empty));
  EXPECT_EQ(procs["status"], "COMPLETED");
  for (const Json& e : procs["model"]["entries"]) {
    EXPECT_FALSE(e.value("hasData", false)) << e.dump();
  }
  const std::string msg = procs["statusMessage"];
  EXPECT_NE(msg.find("addons_vcpu_enter_guest"), std::string::npos) << msg;
}

}  // namespace
}  // namespace vmtrace::tsp::testing
