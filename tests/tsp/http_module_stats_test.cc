// The analyses' figures in an experiment's `properties` are keyed
// "<module id>.<figure>" once (e.g. `vm.pid_guessed`, not `vm.vm.*`).
#include "tests/tsp/http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

using HttpModuleStatsTest = HttpTest;

TEST_F(HttpModuleStatsTest, KeysCarryTheModulePrefixOnce) {
  // The upstream stub has no pid context: the VM's pid is guessed once.
  Json exp = OpenIndexed("synthetic/xmlstub-ctf/OneQemuKvm-host", "stub");
  ASSERT_TRUE(exp.is_object());
  const Json& props = exp["properties"];
  EXPECT_EQ(props.value("vm.pid_guessed", ""), "1") << props.dump();
  for (const auto& [k, v] : props.items()) {
    for (const char* m : {"vm.", "kernel.", "graph.", "sync."}) {
      EXPECT_NE(k.rfind(std::string(m) + m, 0), 0u) << k;
    }
  }
  EXPECT_TRUE(props.contains("graph.memory_bytes")) << props.dump();
}

}  // namespace
}  // namespace vmtrace::tsp::testing
