#include "analyses/vm/guest_names.h"

#include <gtest/gtest.h>

namespace vmtrace::vm {
namespace {

TEST(GuestNamesTest, KptiAndPcidBitsNameOneProcess) {
  EXPECT_EQ(CanonicalCr3(0x1a2000), 0x1a2000u);
  EXPECT_EQ(CanonicalCr3(0x1a3000), 0x1a2000u);  // KPTI user page table
  EXPECT_EQ(CanonicalCr3(0x1a2005), 0x1a2000u);  // PCID 5
  VmNaming n;
  n.processes[0x1a2000] = {{0, 100, "nginx", 41, ""}, {100, 200, "sh", 77, ""}};
  ASSERT_NE(n.Process(0x1a3001, 50), nullptr);
  EXPECT_EQ(n.Process(0x1a3001, 50)->name, "nginx");
  EXPECT_EQ(n.Process(0x1a2000, 150)->pid, 77);
  EXPECT_EQ(n.Process(0x1a2000)->name, "sh");  // latest when no time
  EXPECT_EQ(n.Process(0x1a2000, 250), nullptr);
  EXPECT_EQ(n.Process(0x5000, 50), nullptr);
}

TEST(GuestNamesTest, HandGivenNamesOverrideGuestTraceNames) {
  GuestNames traced, hand;
  VmNaming& t = traced.vms[{"host1", 1234}];
  t.name = "qemu-1234";
  t.processes[0x2000] = {{0, 10, "a.out", 5, "c1"}};
  t.containers["c1"] = {"", "pid_ns 4026532281"};
  VmNaming& h = hand.vms[{"host1", 1234}];
  h.name = "web-vm";
  h.containers["c1"] = {"frontend", ""};
  traced.Merge(hand);
  const VmNaming* m = traced.Vm("host1", 1234);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->name, "web-vm");
  EXPECT_EQ(m->Process(0x2000, 3)->name, "a.out");
  EXPECT_EQ(m->containers.at("c1").name, "frontend");
  EXPECT_EQ(m->containers.at("c1").source, "pid_ns 4026532281");
  EXPECT_EQ(traced.Vm("host1", 99), nullptr);
}

}  // namespace
}  // namespace vmtrace::vm
