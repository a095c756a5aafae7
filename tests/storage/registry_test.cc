#include "storage/registry.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace vmtrace::storage {
namespace {

std::string TempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("vmtrace-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

TEST(RegistryTest, RecordsSurviveReopen) {
  std::string dir = TempDir("registry");
  {
    auto reg = Registry::Open(dir);
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    ASSERT_TRUE((*reg)->PutTrace({"u2", "zeta", "/t/z"}).ok());
    ASSERT_TRUE((*reg)->PutTrace({"u1", "alpha", "/t/a"}).ok());
    ASSERT_TRUE((*reg)->PutExperiment({"e1", "exp", {"u1", "u2"}}).ok());
  }
  auto reg = Registry::Open(dir);
  ASSERT_TRUE(reg.ok());
  auto traces = (*reg)->ListTraces();
  ASSERT_EQ(traces.size(), 2u);
  EXPECT_EQ(traces[0].name, "alpha");  // sorted by name
  EXPECT_EQ(traces[1].path, "/t/z");
  auto e = (*reg)->GetExperiment("e1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->trace_uuids, (std::vector<std::string>{"u1", "u2"}));
  EXPECT_FALSE((*reg)->GetTrace("nope").has_value());

  ASSERT_TRUE((*reg)->DeleteTrace("u1").ok());
  ASSERT_TRUE((*reg)->DeleteExperiment("e1").ok());
  EXPECT_EQ((*reg)->ListTraces().size(), 1u);
  EXPECT_TRUE((*reg)->ListExperiments().empty());
  std::filesystem::remove_all(dir);
}

TEST(RegistryTest, SecondOpenOfALockedRegistryFails) {
  std::string dir = TempDir("registry-lock");
  auto a = Registry::Open(dir);
  ASSERT_TRUE(a.ok());
  auto b = Registry::Open(dir);
  EXPECT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kIoError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::storage
