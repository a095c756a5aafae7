// VmModule: the VM model as an analysis of the single pass, with its own
// LevelDB state history (<experiment dir>/vm) laid out as vm_layout.h says.
// Outputs read history() (complete() once the pass is over).
#ifndef VMTRACE_ANALYSES_VM_VM_MODULE_H_
#define VMTRACE_ANALYSES_VM_VM_MODULE_H_

#include <memory>
#include <string>
#include <vector>

#include "analyses/index/analysis_module.h"
#include "analyses/vm/vm_model.h"
#include "storage/leveldb_state_history.h"

namespace vmtrace::vm {

class VmModule : public index::AnalysisModule {
 public:
  static constexpr char kId[] = "vm";

  // Opens (or creates, or rebuilds) the store in `dir`. `fingerprint`
  // identifies the trace files (index::FingerprintTraces); the options'
  // fingerprint is added to it, so other vector maps rebuild the store.
  static StatusOr<std::unique_ptr<VmModule>> Open(
      const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
      const std::string& dir, const std::string& fingerprint,
      VmOptions options = {});

  std::string id() const override { return kId; }
  bool needs_pass() const override { return needs_pass_; }
  void OnEvent(const events::TypedEvent& ev) override { model_->OnEvent(ev); }
  void Publish(int64_t now) override;
  Status Finish(int64_t end_time) override;
  std::vector<std::pair<std::string, std::string>> Stats() const override;

  const storage::StateHistory& history() const { return *store_; }
  // The store's directory and fingerprint (stores derived from the history,
  // e.g. stats/event_stats.h, live beside it and carry its fingerprint).
  const std::string& store_dir() const { return dir_; }
  const std::string& store_fingerprint() const { return fingerprint_; }
  // True if some trace declares addons_vcpu_enter_guest (vm-semantics §2:
  // without it there are no guest processes, and the outputs say why).
  bool has_enter_guest() const { return has_enter_guest_; }

 private:
  std::unique_ptr<storage::LevelDbStateHistory> store_;
  std::unique_ptr<VmModel> model_;
  std::string dir_, fingerprint_;
  bool needs_pass_ = false;
  bool has_enter_guest_ = false;
};

}  // namespace vmtrace::vm

#endif  // VMTRACE_ANALYSES_VM_VM_MODULE_H_
