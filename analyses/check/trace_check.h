// The trace check: which analyses can run on an experiment's traces, which
// cannot and why, with the recording that would fix each gap; the events
// the tracer reported lost; the hosts' clocks.
//
// Pure functions: HostFactsOf reads the traces' metadata only (the event
// classes they declare, through events::ResolveClass, so the check sees
// what the analyses' dispatcher sees); RunCheck turns those facts, the lost
// events counted by the pass (index::DiscardedEventsOf) and the clock sync
// (sync::SyncModule, when the experiment has several hosts) into a report.
// What each analysis needs is requirements.h.
//
// An analysis's status is the best over the hosts (its module runs when one
// host can feed it); each host's missing groups are listed as gaps. A
// required group missing makes the analysis "unavailable" on that host, an
// optional one "partial". The clock sync needs every host.
#ifndef VMTRACE_ANALYSES_CHECK_TRACE_CHECK_H_
#define VMTRACE_ANALYSES_CHECK_TRACE_CHECK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "analyses/check/requirements.h"
#include "analyses/ctf/reader.h"
#include "analyses/events/typed_event.h"
#include "analyses/guest/guest_report.h"
#include "analyses/sync/clock_sync.h"

namespace vmtrace::check {

enum class Availability { kAvailable, kPartial, kUnavailable, kNotApplicable };
// "available", "partial", "unavailable", "not applicable".
const char* AvailabilityName(Availability a);

// One CTF trace's clock, from its metadata.
struct ClockFacts {
  std::string trace_path;
  std::string name;  // "" if the metadata declares no clock
  int64_t offset_ns = 0;
  uint64_t freq = 1000000000;
};

// What the traces of one host (events::HostName) declare.
struct HostFacts {
  std::string host;
  bool perf = false;  // recorded with perf (env tracer_name = "perf")
  std::set<events::Kind> kinds;  // kinds some event class resolves to
  // Every class of that kind satisfies the property (and one exists).
  bool kvm_pid = false;     // KVM entry/exit classes carry the emitting pid
  bool tcp_fields = false;  // packet classes carry the TCP key fields
  bool guest_cr3 = false;   // addons_vcpu_enter_guest carries cr3tmp
  std::vector<ClockFacts> clocks;  // one per CTF trace of the host
};

// One HostFacts per host, in the order hosts first appear in `traces`.
std::vector<HostFacts> HostFactsOf(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces);

// True if `facts` satisfies `group`.
bool Satisfied(const HostFacts& facts, const EventGroup& group);
// The recording that provides `group` on a host recorded with that tracer:
// the scripts/record.sh command, the tracer's own option, and what the
// host needs beyond it.
std::string FixFor(const EventGroup& group, bool perf);

// Events a tracer reported lost in one stream.
struct LostEvents {
  std::string host;
  std::string trace_path;
  int64_t cpu = -1;  // -1: not known, then `stream` says which
  uint32_t stream = 0;
  uint64_t count = 0;
};

struct CheckInput {
  std::vector<HostFacts> hosts;
  // The pass has read every event: the lost-event counts are final.
  bool pass_done = false;
  std::vector<LostEvents> lost;
  // The experiment's clock sync once computed (several hosts); null before
  // or without one.
  const sync::ClockSync* clocks = nullptr;
  // The guest traces of the experiment (traces recorded inside a VM, never
  // fed to the analyses), by name, and what became of them once they are
  // mapped onto the VMs (null before: they are "pending").
  std::vector<std::string> guest_traces;
  const std::vector<vm::GuestTraceReport>* guest_reports = nullptr;
};

// One line of the "Trace check" table.
struct CheckLine {
  std::string analysis;  // an analysis's name, "Lost events", "Clock"
  std::string host;
  std::string status;  // AvailabilityName, or "warning" / "ok" / "pending"
  std::string reason;
  std::string fix;  // the recording command, "" if nothing to fix
};

struct AnalysisResult {
  const AnalysisSpec* spec = nullptr;
  Availability status = Availability::kAvailable;
  std::vector<std::string> reasons;  // "<host>: <group> missing: <lost>"
  std::vector<std::string> fixes;    // parallel to reasons
};

struct CheckReport {
  std::vector<AnalysisResult> analyses;  // Analyses() order
  std::vector<CheckLine> lines;          // analyses, gaps, lost events, clocks
  size_t applicable = 0;  // analyses that apply (clock sync: several hosts)
  size_t available = 0;   // of those, available or partial
  size_t partial = 0;
  size_t gaps = 0;  // missing groups, over hosts
  uint64_t lost_events = 0;
  size_t guest_traces = 0;
  size_t guest_traces_used = 0;
  // "none reported by the packet headers", "pending: ...", or "<n> events
  // lost: <host> CPU <c>: <n>, ...".
  std::string lost_summary;
  bool final = false;  // nothing left to learn from the pass
  // "3 of 4 analyses available (1 partial); 2 gaps[; 1200 events lost]
  // [; 1 of 2 guest traces used]".
  std::string Summary() const;
  // The experiment's `properties` keys: "check.summary",
  // "check.<analysis id>" ("available", "partial: ...", "unavailable: ...
  // Fix: ..."), "check.lost_events", "check.clock.<host>",
  // "check.guest_trace.<name>" ("pending", "ok: <summary>", "warning:
  // <summary>; <problems>", "unavailable: <why>. Fix: ...").
  std::map<std::string, std::string> Properties() const;
};

CheckReport RunCheck(const CheckInput& in);

}  // namespace vmtrace::check

#endif  // VMTRACE_ANALYSES_CHECK_TRACE_CHECK_H_
