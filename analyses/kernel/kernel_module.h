// KernelModule: the kernel model as an analysis of the single pass, with
// its own LevelDB state history (<experiment dir>/kernel).
#ifndef VMTRACE_ANALYSES_KERNEL_KERNEL_MODULE_H_
#define VMTRACE_ANALYSES_KERNEL_KERNEL_MODULE_H_

#include <memory>
#include <string>
#include <vector>

#include "analyses/index/analysis_module.h"
#include "analyses/kernel/kernel_model.h"
#include "storage/leveldb_state_history.h"

namespace vmtrace::kernel {

class KernelModule : public index::AnalysisModule {
 public:
  static constexpr char kId[] = "kernel";

  // Opens (or creates, or rebuilds) the store in `dir`. `fingerprint`
  // identifies the trace files (index::FingerprintTraces).
  static StatusOr<std::unique_ptr<KernelModule>> Open(
      const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
      const std::string& dir, const std::string& fingerprint);

  std::string id() const override { return kId; }
  bool needs_pass() const override { return needs_pass_; }
  void OnEvent(const events::TypedEvent& ev) override { model_->OnEvent(ev); }
  void Publish(int64_t now) override;
  Status Finish(int64_t end_time) override;
  std::vector<std::pair<std::string, std::string>> Stats() const override;

  // The history readers query; complete() once the pass finished.
  const storage::StateHistory& history() const { return *store_; }
  // Host names, deduplicated, in first-seen order.
  std::vector<std::string> hosts() const;

 private:
  std::unique_ptr<storage::LevelDbStateHistory> store_;
  std::unique_ptr<KernelModel> model_;
  bool needs_pass_ = false;
};

}  // namespace vmtrace::kernel

#endif  // VMTRACE_ANALYSES_KERNEL_KERNEL_MODULE_H_
