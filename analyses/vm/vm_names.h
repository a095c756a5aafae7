// Display names beyond the layout's state names.
#ifndef VMTRACE_ANALYSES_VM_VM_NAMES_H_
#define VMTRACE_ANALYSES_VM_VM_NAMES_H_

#include <cstdint>
#include <iterator>
#include <string_view>

namespace vmtrace::vm {

// Intel VMX basic exit reason name ("HLT" for 12, "VMRESUME" for 24);
// empty for a reason with no name (callers then show the number).
std::string_view ExitReasonName(int64_t reason);

}  // namespace vmtrace::vm

#endif  // VMTRACE_ANALYSES_VM_VM_NAMES_H_
