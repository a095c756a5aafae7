// An HTTP test fixture with the generator's two-hosts-net scenario
// generated once per test into gen_ (host-c/ and host-s/, host-s's clock =
// host-c's + 2.5 ms), removed afterwards.
#ifndef VMTRACE_TESTS_TSP_SYNC_TWO_HOSTS_FIXTURE_H_
#define VMTRACE_TESTS_TSP_SYNC_TWO_HOSTS_FIXTURE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "http_fixture.h"

namespace vmtrace::tsp::testing {

class TwoHostsTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    gen_ = fs::temp_directory_path() /
           ("vmtrace-two-hosts-" + std::to_string(getpid()));
    fs::remove_all(gen_);
    const std::string cmd = std::string(VMTRACE_GEN_BIN) + " --scenario " +
                            VMTRACE_GEN_SCENARIOS +
                            "/two-hosts-net.json --no-truth --out " +
                            gen_.string() + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void TearDown() override {
    HttpTest::TearDown();
    fs::remove_all(gen_);
  }

  fs::path gen_;
};

}  // namespace vmtrace::tsp::testing

#endif  // VMTRACE_TESTS_TSP_SYNC_TWO_HOSTS_FIXTURE_H_
