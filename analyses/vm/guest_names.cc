// Lookups and merging of guest names (guest_names.h).
#include "analyses/vm/guest_names.h"

namespace vmtrace::vm {

uint64_t CanonicalCr3(uint64_t cr3) { return cr3 & ~uint64_t{0x1fff}; }

const GuestProcess* VmNaming::Process(uint64_t cr3, int64_t ts) const {
  auto it = processes.find(CanonicalCr3(cr3));
  if (it == processes.end() || it->second.empty()) return nullptr;
  const std::vector<GuestProcess>& holders = it->second;
  if (ts == INT64_MIN) return &holders.back();
  // Holders are few per CR3 (one per exec / reuse): a linear scan from
  // the latest is enough.
  for (auto h = holders.rbegin(); h != holders.rend(); ++h) {
    if (h->begin <= ts && ts < h->end) return &*h;
  }
  return nullptr;
}

const VmNaming* GuestNames::Vm(const std::string& host, int64_t pid) const {
  auto it = vms.find({host, pid});
  return it == vms.end() ? nullptr : &it->second;
}

namespace {

void MergeNaming(const VmNaming& from, VmNaming* into) {
  if (!from.name.empty()) into->name = from.name;
  for (const auto& [cr3, holders] : from.processes) {
    // A hand-given name for a CR3 replaces what the guest trace said about
    // it over the whole trace: the user knows best.
    into->processes[cr3] = holders;
  }
  for (const auto& [id, c] : from.containers) {
    GuestContainer& mine = into->containers[id];
    if (!c.name.empty()) mine.name = c.name;
    if (!c.source.empty()) mine.source = c.source;
  }
  for (const auto& [l1, nested] : from.nested) {
    MergeNaming(nested, &into->nested[l1]);
  }
}

}  // namespace

void GuestNames::Merge(const GuestNames& other) {
  for (const auto& [key, naming] : other.vms) MergeNaming(naming, &vms[key]);
}

GuestNamesSource::GuestNamesSource()
    : merged_(std::make_shared<const GuestNames>()) {}

void GuestNamesSource::SetTraced(GuestNames names) {
  std::lock_guard<std::mutex> lock(mu_);
  traced_ = std::move(names);
  RebuildLocked();
}

void GuestNamesSource::SetHand(GuestNames names) {
  std::lock_guard<std::mutex> lock(mu_);
  hand_ = std::move(names);
  RebuildLocked();
}

std::shared_ptr<const GuestNames> GuestNamesSource::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return merged_;
}

// Replies in flight keep the snapshot they started with; a new one is
// built per change (changes are rare: a configuration post, one mapping).
void GuestNamesSource::RebuildLocked() {
  auto merged = std::make_shared<GuestNames>(traced_);
  merged->Merge(hand_);
  merged_ = std::move(merged);
}

}  // namespace vmtrace::vm
