// KVM event classes, whatever the tracer's spelling: `kvm_X` (lttng-modules
// <= 2.6 and Nemati's 2.7 fork, perf's `kvm:X` once the reader stripped the
// prefix) and `kvm_x86_X` (mainline lttng-modules >= 2.7) for every KVM
// event (vm-semantics §2), plus the addons' `addons_vcpu_enter_guest`.
#ifndef VMTRACE_ANALYSES_EVENTS_KVM_EVENTS_H_
#define VMTRACE_ANALYSES_EVENTS_KVM_EVENTS_H_

#include <string_view>

#include "analyses/ctf/reader.h"
#include "analyses/events/class_layout.h"
#include "analyses/events/typed_event.h"

namespace vmtrace::events {

// "kvm_x86_entry" and "kvm_entry" both give "entry"; anything else "".
std::string_view KvmSuffix(std::string_view name);

// Fills `l` if `cls` is a KVM event of typed_event.h; false otherwise.
bool ResolveKvmClass(const ctf::EventClass& cls, ClassLayout* l);

// Decodes the payload of an event whose class ResolveKvmClass accepted.
void DecodeKvmEvent(const ctf::Event& ev, const ClassLayout& l,
                    TypedEvent* out);

}  // namespace vmtrace::events

#endif  // VMTRACE_ANALYSES_EVENTS_KVM_EVENTS_H_
