// What each analysis needs from a trace, in the event dispatcher's
// vocabulary (events::Kind, as events::ResolveClass maps every tracer's
// names onto it), with the recording that provides it.
//
// This is the one list the trace check (trace_check.h) evaluates. The LTTng
// and perf names of each group are the ones scripts/record.sh records;
// tests/analyses/check/requirements_test.cc checks that every name resolves
// to one of the group's kinds through events::ResolveClass, that
// record.sh records it, and that every kind the analyses' modules dispatch
// on (analyses/{kernel,vm,graph,sync}) belongs to some group.
#ifndef VMTRACE_ANALYSES_CHECK_REQUIREMENTS_H_
#define VMTRACE_ANALYSES_CHECK_REQUIREMENTS_H_

#include <string_view>
#include <vector>

#include "analyses/events/typed_event.h"

namespace vmtrace::check {

// Beyond the events being declared: a property of their classes.
enum class Extra {
  kNone,
  kKvmPid,     // the KVM entry/exit classes carry the emitting pid
  kTcpFields,  // the packet classes carry seq/ack_seq/flags (or the header)
  kGuestCr3,   // addons_vcpu_enter_guest carries the CR3 (cr3tmp)
};

// A group of events (or a property of them) one recording option provides.
struct EventGroup {
  std::string_view id;  // shown to users: "sched_switch", "kvm entry/exit"
  std::vector<events::Kind> kinds;  // all of them must be declared
  Extra extra = Extra::kNone;
  // What scripts/record.sh passes to the tracer: LTTng kernel event names
  // (comma-separated, or the option for non-event needs), perf
  // tracepoints ("" if perf cannot record it).
  std::string_view lttng;
  std::string_view perf;
  // What the host needs beyond the command (a probe module, an addon);
  // "" if nothing. Per tracer.
  std::string_view lttng_needs;
  std::string_view perf_needs;
};

struct Need {
  const EventGroup* group;
  bool required;          // missing: the analysis cannot run
  std::string_view lost;  // what the analysis loses without it
};

struct AnalysisSpec {
  std::string_view id;     // property key part: "vm"
  std::string_view name;   // "VM analyses"
  std::string_view shows;  // the outputs it feeds
  std::vector<Need> needs;
  bool multi_host = false;  // only meaningful with two hosts or more
};

// Every event group, and the analyses in the order the check reports them.
const std::vector<const EventGroup*>& EventGroups();
const std::vector<AnalysisSpec>& Analyses();

}  // namespace vmtrace::check

#endif  // VMTRACE_ANALYSES_CHECK_REQUIREMENTS_H_
