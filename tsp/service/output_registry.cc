#include "tsp/service/output_registry.h"

#include <algorithm>

#include "tsp/outputs/check/check_outputs.h"
#include "tsp/outputs/critical_path/critical_path_outputs.h"
#include "tsp/outputs/events/events_outputs.h"
#include "tsp/outputs/kernel/kernel_providers.h"
#include "tsp/outputs/vm/vm_providers.h"

namespace vmtrace::tsp {
namespace {

bool HasModule(const index::ExperimentIndex& index, const std::string& id) {
  const auto& mods = index.modules();
  return std::any_of(mods.begin(), mods.end(),
                     [&id](const auto& m) { return m->id() == id; });
}

}  // namespace

const std::vector<std::unique_ptr<OutputFamily>>& RegisteredOutputs() {
  static const auto* families = [] {
    auto* f = new std::vector<std::unique_ptr<OutputFamily>>;
    // One line per output family.
    f->push_back(EventsOutputs());
    f->push_back(KernelOutputs());
    f->push_back(VmOutputs());
    f->push_back(CriticalPathOutputFamily());
    f->push_back(CheckOutputs());
    return f;
  }();
  return *families;
}

Status MakeOutputs(const OutputContext& ctx, OutputSet* out) {
  for (const auto& family : RegisteredOutputs()) {
    const auto needs = family->modules();
    if (!std::all_of(needs.begin(), needs.end(), [&ctx](const auto& id) {
          return HasModule(*ctx.index, id);
        })) {
      continue;
    }
    VMTRACE_RETURN_IF_ERROR(family->Make(ctx, out));
  }
  return Status::Ok();
}

}  // namespace vmtrace::tsp
