// The kernel output family (kernel_providers.h).
#include "tsp/outputs/kernel/kernel_providers.h"

namespace vmtrace::tsp {
namespace {

class KernelFamily : public OutputFamily {
 public:
  std::vector<std::string> modules() const override {
    return {kernel::KernelModule::kId};
  }
  Status Make(const OutputContext& ctx, OutputSet* out) const override {
    const auto* k = FindModule<kernel::KernelModule>(*ctx.index);
    out->Add(MakeThreadStatusProvider(k));
    out->Add(MakeResourcesProvider(k));
    out->Add(MakeCpuUsageProvider(k));
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<OutputFamily> KernelOutputs() {
  return std::make_unique<KernelFamily>();
}

}  // namespace vmtrace::tsp
