// The host side of the guest-trace mapping (guest_map.h): each vCPU's CR3
// over time, from the VM store the pass wrote (what the server uses: no
// second read of the host trace) or from the host traces' events (tests,
// tools; also gives kvm_write_tsc_offset, which the store does not keep).
#ifndef VMTRACE_ANALYSES_GUEST_HOST_VIEW_H_
#define VMTRACE_ANALYSES_GUEST_HOST_VIEW_H_

#include <string>
#include <vector>

#include "analyses/guest/guest_map.h"
#include "base/status.h"
#include "storage/state_history.h"

namespace vmtrace::guest {

// From <host>/VMs/<pid>/vCPUs/<id>/CR3 of a complete VM store
// (analyses/vm/vm_layout.h).
StatusOr<HostView> HostViewFromStore(const storage::StateHistory& vm_store);

// From addons_vcpu_enter_guest and kvm_*write_tsc_offset events of the
// given host trace directories.
StatusOr<HostView> HostViewFromTraces(const std::vector<std::string>& dirs);

}  // namespace vmtrace::guest

#endif  // VMTRACE_ANALYSES_GUEST_HOST_VIEW_H_
