// The check's requirement table against the code it describes: every event
// name it tells users to record resolves, through the analyses' own event
// dispatcher (events::ResolveClass), to the kinds it checks for; every name
// is one scripts/record.sh records; and every kind the analysis modules
// dispatch on is checked by some group.
#include "analyses/check/requirements.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "analyses/events/event_decoder.h"

namespace vmtrace::check {
namespace {

using events::Kind;
namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Split(std::string_view list) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : list) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// A class named `name` (perf's "subsystem:" prefix stripped, as the reader
// does) with every payload field a resolver looks for, and the contexts.
ctf::EventClass ClassNamed(std::string name) {
  ctf::EventClass c;
  c.raw_name_ = name;
  if (auto colon = name.find(':'); colon != std::string::npos) {
    name = name.substr(colon + 1);
  }
  if (name == "lttng_statedump_*") name = "lttng_statedump_process_state";
  c.name_ = name;
  c.fields_ = {{"pid", ctf::Scope::kStreamEventContext},
               {"tid", ctf::Scope::kStreamEventContext}};
  for (const char* f :
       {"prev_tid", "next_tid", "tid", "vcpu_id", "exit_reason", "irq", "vec",
        "apicid", "vcpuID", "cr3tmp", "sptmp", "seq", "ack_seq", "flags"}) {
    c.fields_.push_back({f, ctf::Scope::kPayload});
  }
  return c;
}

// Every LTTng and perf name scripts/record.sh records (its LTTNG_* and
// PERF_* lists), and the whole script for its options.
struct RecordSh {
  std::set<std::string> lttng, perf;
  std::string text;
};

RecordSh ReadRecordSh() {
  RecordSh r;
  r.text = Read(fs::path(VMTRACE_SOURCE_DIR) / "scripts/record.sh");
  const std::regex assign(R"re(^(LTTNG|PERF)_[A-Z]+="([^"]*)")re",
                          std::regex::multiline);
  for (std::sregex_iterator it(r.text.begin(), r.text.end(), assign), end;
       it != end; ++it) {
    for (const std::string& n : Split((*it)[2].str())) {
      ((*it)[1] == "LTTNG" ? r.lttng : r.perf).insert(n);
    }
  }
  return r;
}

TEST(RequirementsTest, RecordedNamesResolveToTheCheckedKinds) {
  for (const EventGroup* g : EventGroups()) {
    for (std::string_view list : {g->lttng, g->perf}) {
      if (list.substr(0, 2) == "--") continue;  // an option, not events
      for (const std::string& n : Split(list)) {
        const ctf::EventClass cls = ClassNamed(n);
        const Kind k = events::ResolveClass(cls).kind;
        EXPECT_NE(std::find(g->kinds.begin(), g->kinds.end(), k),
                  g->kinds.end())
            << g->id << ": " << n << " resolves to " << events::KindName(k);
      }
    }
  }
}

TEST(RequirementsTest, FixesAreWhatRecordShRecords) {
  const RecordSh r = ReadRecordSh();
  ASSERT_FALSE(r.lttng.empty());
  ASSERT_FALSE(r.perf.empty());
  for (const EventGroup* g : EventGroups()) {
    if (g->lttng.substr(0, 2) == "--") {
      // Options (system calls, contexts) are passed as written.
      for (const std::string& opt : Split(g->lttng)) {
        std::istringstream words(opt);
        for (std::string w; words >> w;) {
          EXPECT_NE(r.text.find(w), std::string::npos) << g->id << ": " << w;
        }
      }
    } else {
      for (const std::string& n : Split(g->lttng)) {
        EXPECT_TRUE(r.lttng.count(n)) << g->id << ": " << n;
      }
    }
    for (const std::string& n : Split(g->perf)) {
      EXPECT_TRUE(r.perf.count(n)) << g->id << ": " << n;
    }
  }
}

TEST(RequirementsTest, EveryKindTheModulesDispatchOnIsChecked) {
  // Every enumerator of events::Kind by its C++ name (the count is checked
  // so that a new kind cannot be missed here).
  const std::map<std::string, Kind> kinds = {
      {"kOther", Kind::kOther},
      {"kSchedSwitch", Kind::kSchedSwitch},
      {"kSchedWakeup", Kind::kSchedWakeup},
      {"kSchedWakeupNew", Kind::kSchedWakeupNew},
      {"kSchedTtwu", Kind::kSchedTtwu},
      {"kProcessFork", Kind::kProcessFork},
      {"kProcessExit", Kind::kProcessExit},
      {"kProcessFree", Kind::kProcessFree},
      {"kProcessExec", Kind::kProcessExec},
      {"kStatedumpProcess", Kind::kStatedumpProcess},
      {"kIrqEntry", Kind::kIrqEntry},
      {"kIrqExit", Kind::kIrqExit},
      {"kSoftIrqRaise", Kind::kSoftIrqRaise},
      {"kSoftIrqEntry", Kind::kSoftIrqEntry},
      {"kSoftIrqExit", Kind::kSoftIrqExit},
      {"kHrtimerEntry", Kind::kHrtimerEntry},
      {"kHrtimerExit", Kind::kHrtimerExit},
      {"kBlockComplete", Kind::kBlockComplete},
      {"kSyscallEntry", Kind::kSyscallEntry},
      {"kSyscallExit", Kind::kSyscallExit},
      {"kKvmEntry", Kind::kKvmEntry},
      {"kKvmExit", Kind::kKvmExit},
      {"kKvmInjVirq", Kind::kKvmInjVirq},
      {"kKvmAcceptIrq", Kind::kKvmAcceptIrq},
      {"kEnterGuest", Kind::kEnterGuest},
      {"kNetSend", Kind::kNetSend},
      {"kNetRecv", Kind::kNetRecv},
  };
  ASSERT_EQ(kinds.size(), size_t(Kind::kNetRecv) + 1);
  std::set<Kind> checked;
  for (const EventGroup* g : EventGroups()) {
    checked.insert(g->kinds.begin(), g->kinds.end());
  }
  // sched_ttwu comes from an LTTng addon that records who woke a thread;
  // sched_waking/sched_wakeup (checked) give the same to every analysis.
  checked.insert(Kind::kSchedTtwu);
  const std::regex use(R"(Kind::(k[A-Za-z]+))");
  size_t seen = 0;
  for (const char* dir : {"kernel", "vm", "graph", "sync"}) {
    for (const auto& e : fs::directory_iterator(fs::path(VMTRACE_SOURCE_DIR) /
                                                "analyses" / dir)) {
      const std::string text = Read(e.path());
      for (std::sregex_iterator it(text.begin(), text.end(), use), end;
           it != end; ++it) {
        const auto k = kinds.find((*it)[1].str());
        ASSERT_NE(k, kinds.end()) << (*it)[1] << " in " << e.path();
        if (k->second == Kind::kOther) continue;
        ++seen;
        EXPECT_TRUE(checked.count(k->second))
            << (*it)[1] << " (" << e.path().filename()
            << ") is dispatched on but no check group covers it";
      }
    }
  }
  EXPECT_GT(seen, 20u);
}

TEST(RequirementsTest, AnalysesNeedKnownGroups) {
  const auto& groups = EventGroups();
  for (const AnalysisSpec& a : Analyses()) {
    EXPECT_FALSE(a.needs.empty()) << a.id;
    bool required = false;
    for (const Need& n : a.needs) {
      EXPECT_NE(std::find(groups.begin(), groups.end(), n.group), groups.end())
          << a.id;
      EXPECT_FALSE(n.lost.empty()) << a.id << " " << n.group->id;
      required |= n.required;
    }
    EXPECT_TRUE(required) << a.id;
  }
}

}  // namespace
}  // namespace vmtrace::check
