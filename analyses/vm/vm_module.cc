#include "analyses/vm/vm_module.h"

namespace vmtrace::vm {

StatusOr<std::unique_ptr<VmModule>> VmModule::Open(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces,
    const std::string& dir, const std::string& fingerprint, VmOptions options) {
  auto m = std::unique_ptr<VmModule>(new VmModule());
  storage::StateStoreOptions o;
  o.dir = dir;
  o.analysis_id = kId;
  o.analysis_version = VmModel::kVersion;
  o.fingerprint = fingerprint + "|vm:" + options.Fingerprint();
  VMTRACE_ASSIGN_OR_RETURN(m->store_, storage::LevelDbStateHistory::Open(o));
  m->dir_ = dir;
  m->fingerprint_ = o.fingerprint;
  m->needs_pass_ = m->store_->needs_build();
  for (const auto& t : traces) {
    for (const ctf::EventClass* c : t->event_classes()) {
      if (c->name() == "addons_vcpu_enter_guest") m->has_enter_guest_ = true;
    }
  }
  if (m->needs_pass_) {
    m->model_ =
        std::make_unique<VmModel>(traces, m->store_.get(), std::move(options));
  }
  return m;
}

// Pending wait labels hold back only their own rows; everything closed so
// far is visible.
void VmModule::Publish(int64_t now) { (void)store_->Flush(now); }

Status VmModule::Finish(int64_t end_time) { return model_->Finish(end_time); }

std::vector<std::pair<std::string, std::string>> VmModule::Stats() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!model_) return out;
  const VmStats& s = model_->stats();
  auto add = [&out](const char* k, uint64_t v) {
    if (v) out.emplace_back(k, std::to_string(v));
  };
  add("events_without_cpu", s.events_without_cpu);
  add("kvm_events_unbound", s.kvm_events_unbound);
  add("pid_guessed", s.vm_pid_guessed);
  add("vcpu_rebound", s.vcpu_rebound);
  return out;
}

}  // namespace vmtrace::vm
