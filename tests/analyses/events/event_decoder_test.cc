// EventDecoder (analyses/events/event_decoder.h): one resolution per event
// class whatever the tracer's spelling, typed records that stay valid when
// copied, and the current-thread tracker every analysis reads.
#include "analyses/events/event_decoder.h"

#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <vector>

#include "analyses/events/kernel_events.h"
#include "analyses/events/kvm_events.h"

namespace vmtrace::events {
namespace {

// A class with a tid context (unless `with_tid` is false) and `payload`.
ctf::EventClass Class(const std::string& name,
                      const std::vector<std::string>& payload,
                      bool with_tid = true) {
  ctf::EventClass c;
  c.name_ = c.raw_name_ = name;
  if (with_tid) c.fields_.push_back({"tid", ctf::Scope::kEventContext});
  for (const auto& f : payload) c.fields_.push_back({f, ctf::Scope::kPayload});
  return c;
}

ctf::Value Int(int64_t v) {
  ctf::Value x;
  x.kind = ctf::Value::kSigned;
  x.i = v;
  return x;
}

ctf::Value Str(std::string_view s) {
  ctf::Value x;
  x.kind = ctf::Value::kString;
  x.s = s;
  return x;
}

ctf::Event EventOf(const ctf::EventClass& c, const std::vector<ctf::Value>& v,
                   int64_t ts, int64_t cpu) {
  ctf::Event e;
  e.cls = &c;
  e.timestamp = ts;
  e.cpu = cpu;
  e.values = v.data();
  e.value_count = v.size();
  return e;
}

TEST(EventDecoderTest, KvmNamesOfEveryTracerResolveToOneKind) {
  EXPECT_EQ(KvmSuffix("kvm_x86_exit"), "exit");
  EXPECT_EQ(KvmSuffix("kvm_exit"), "exit");
  EXPECT_EQ(KvmSuffix("sched_switch"), "");
  for (const char* n : {"kvm_exit", "kvm_x86_exit"}) {
    ClassLayout l = ResolveClass(Class(n, {"exit_reason", "vcpu_id"}));
    EXPECT_EQ(l.kind, Kind::kKvmExit) << n;
  }
  EXPECT_EQ(ResolveClass(Class("kvm_x86_apic_accept_irq", {"vec"})).kind,
            Kind::kKvmAcceptIrq);
  EXPECT_EQ(ResolveClass(Class("addons_vcpu_enter_guest", {"cr3tmp"})).kind,
            Kind::kEnterGuest);
  EXPECT_EQ(ResolveClass(Class("net_dev_queue", {"network_header"})).kind,
            Kind::kNetSend);
  EXPECT_EQ(ResolveClass(Class("sched_wakeup_new", {"tid"})).kind,
            Kind::kSchedWakeupNew);
  EXPECT_EQ(ResolveClass(Class("block_rq_insert", {})).kind, Kind::kOther);
  // A switch without both thread ids says nothing.
  EXPECT_EQ(ResolveClass(Class("sched_switch", {"prev_tid"})).kind,
            Kind::kOther);
}

TEST(EventDecoderTest, SyscallNamesComeFromTheClassName) {
  const struct {
    const char* cls;
    const char* name;
  } cases[] = {{"syscall_entry_openat", "openat"},
               {"compat_syscall_entry_read", "read"},
               {"sys_enter_write", "write"},
               {"sys_enter", ""},
               {"sys_open", "open"}};
  EventDecoder d({});
  // Classes live as long as their trace: distinct objects here too.
  std::vector<ctf::EventClass> classes;
  classes.reserve(std::size(cases));
  for (const auto& c : cases) {
    classes.push_back(Class(c.cls, {}));
    std::vector<ctf::Value> v = {Int(5)};
    TypedEvent rec;
    d.Decode(EventOf(classes.back(), v, 1, 0), &rec);
    EXPECT_EQ(rec.kind, Kind::kSyscallEntry) << c.cls;
    EXPECT_EQ(rec.syscall.name.view(), c.name) << c.cls;
  }
  EXPECT_EQ(ResolveClass(Class("exit_syscall", {})).kind, Kind::kSyscallExit);
  EXPECT_EQ(ResolveClass(Class("sys_exit_write", {})).kind, Kind::kSyscallExit);
}

TEST(EventDecoderTest, PerfSpellingsAndLongStringsDecodeIntoTheRecord) {
  // perf names thread ids "pid" and has no tid context.
  ctf::EventClass sw = Class("sched_switch",
                             {"prev_comm", "prev_pid", "prev_prio",
                              "prev_state", "next_comm", "next_pid"},
                             false);
  const std::string long_comm(Text::kInline + 10, 'x');
  std::vector<ctf::Value> v = {Str("bash"), Int(42),        Int(120),
                               Int(1),      Str(long_comm), Int(43)};
  EventDecoder d({});
  TypedEvent rec;
  d.Decode(EventOf(sw, v, 100, 2), &rec);
  ASSERT_EQ(rec.kind, Kind::kSchedSwitch);
  const TypedEvent copy = rec;  // records are values
  EXPECT_EQ(copy.ts, 100);
  EXPECT_EQ(copy.cpu, 2);
  EXPECT_EQ(copy.sched_switch.prev_tid, 42);
  EXPECT_EQ(copy.sched_switch.prev_prio, 120);
  EXPECT_EQ(copy.sched_switch.prev_state, 1);
  EXPECT_EQ(copy.sched_switch.next_tid, 43);
  EXPECT_FALSE(Has(copy.sched_switch.next_prio));
  EXPECT_EQ(copy.sched_switch.prev_comm.view(), "bash");
  EXPECT_EQ(copy.sched_switch.next_comm.view(), long_comm);
  EXPECT_FALSE(Has(copy.ctx_tid));
}

TEST(EventDecoderTest, PrevStateRuleMasksTheLowByte) {
  EXPECT_TRUE(SwitchedOutRunnable(0));
  EXPECT_TRUE(SwitchedOutRunnable(0x100));  // TASK_REPORT_MAX preemption
  EXPECT_TRUE(SwitchedOutRunnable(0x1000));
  EXPECT_FALSE(SwitchedOutRunnable(1));
  EXPECT_FALSE(SwitchedOutRunnable(0x402));
}

TEST(EventDecoderTest, TrackerFollowsSwitchesPerCpuAndLearnsFromContexts) {
  ctf::EventClass sw = Class("sched_switch", {"prev_tid", "next_tid"});
  ctf::EventClass irq = Class("irq_handler_entry", {"irq"});
  ctf::EventClass exit_nc = Class("kvm_exit", {"exit_reason"}, false);
  ctf::EventClass kvm = Class("kvm_entry", {"vcpu_id"});
  EventDecoder d({});
  TypedEvent r;

  // CPU 1: nothing known yet; a KVM event's context does not teach it.
  std::vector<ctf::Value> v1 = {Int(77), Int(0)};
  d.Decode(EventOf(kvm, v1, 1, 1), &r);
  EXPECT_EQ(r.cur_tid, -1);
  EXPECT_FALSE(r.cur_from_context);
  // A kernel event's tid context does.
  std::vector<ctf::Value> v2 = {Int(55), Int(9)};
  d.Decode(EventOf(irq, v2, 2, 1), &r);
  EXPECT_EQ(r.cur_tid, 55);
  EXPECT_TRUE(r.cur_from_context);
  d.Decode(EventOf(irq, v2, 3, 1), &r);
  EXPECT_FALSE(r.cur_from_context);  // learnt once

  // A switch on CPU 0: the record says who ran before, the next event sees
  // next_tid; CPU 1 is unaffected.
  std::vector<ctf::Value> v3 = {Int(5), Int(10), Int(20)};
  d.Decode(EventOf(sw, v3, 4, 0), &r);
  EXPECT_EQ(r.cur_tid, 5);  // from the switch's own context
  std::vector<ctf::Value> v4 = {Int(12)};
  d.Decode(EventOf(exit_nc, v4, 5, 0), &r);
  EXPECT_EQ(r.cur_tid, 20);
  EXPECT_EQ(r.kvm_exit.exit_reason, 12);
  d.Decode(EventOf(exit_nc, v4, 6, 1), &r);
  EXPECT_EQ(r.cur_tid, 55);
}

}  // namespace
}  // namespace vmtrace::events
