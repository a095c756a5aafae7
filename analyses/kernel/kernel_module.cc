#include "analyses/kernel/kernel_module.h"

#include <algorithm>

namespace vmtrace::kernel {

StatusOr<std::unique_ptr<KernelModule>> KernelModule::Open(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
    const std::string& dir, const std::string& fingerprint) {
  auto m = std::unique_ptr<KernelModule>(new KernelModule());
  storage::StateStoreOptions o;
  o.dir = dir;
  o.analysis_id = kId;
  o.analysis_version = KernelModel::kVersion;
  o.fingerprint = fingerprint;
  VMTRACE_ASSIGN_OR_RETURN(m->store_, storage::LevelDbStateHistory::Open(o));
  m->needs_pass_ = m->store_->needs_build();
  if (m->needs_pass_) {
    // The model creates the host subtrees up front, so only a store that
    // is being built gets a model (a loaded store is read-only).
    m->model_ = std::make_unique<KernelModel>(traces, m->store_.get());
  }
  return m;
}

void KernelModule::Publish(int64_t now) { (void)store_->Flush(now); }

Status KernelModule::Finish(int64_t end_time) {
  return model_->Finish(end_time);
}

std::vector<std::pair<std::string, std::string>> KernelModule::Stats() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!model_) return out;
  const KernelStats& s = model_->stats();
  auto add = [&out](const char* k, uint64_t v) {
    if (v) out.emplace_back(k, std::to_string(v));
  };
  add("unmatched_irq_exits", s.unmatched_irq_exits);
  add("unmatched_softirq_exits", s.unmatched_softirq_exits);
  add("switch_out_mismatches", s.switch_out_mismatches);
  add("events_without_cpu", s.events_without_cpu);
  return out;
}

std::vector<std::string> KernelModule::hosts() const {
  std::vector<std::string> out;
  for (storage::Quark q : store_->Children(storage::kRootQuark)) {
    out.push_back(store_->Name(q));
  }
  return out;
}

}  // namespace vmtrace::kernel
