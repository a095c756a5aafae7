#include "storage/memory_state_history.h"

#include <algorithm>
#include <mutex>

namespace vmtrace::storage {
namespace {

std::string ChildKey(Quark parent, std::string_view name) {
  std::string k(reinterpret_cast<const char*>(&parent), sizeof(parent));
  k.append(name);
  return k;
}

// First interval of `v` (sorted, non-overlapping) whose end is >= t.
std::vector<StateInterval>::const_iterator FirstEndingAtOrAfter(
    const std::vector<StateInterval>& v, int64_t t) {
  return std::lower_bound(
      v.begin(), v.end(), t,
      [](const StateInterval& iv, int64_t x) { return iv.end < x; });
}

}  // namespace

size_t SkipSamples(const std::vector<int64_t>& times, size_t i, int64_t end) {
  // Samples are usually dense relative to intervals: probe linearly a few
  // steps before paying for a binary search.
  for (int k = 0; k < 4 && i < times.size(); ++k, ++i) {
    if (times[i] > end) return i;
  }
  return size_t(std::upper_bound(times.begin() + i, times.end(), end) -
                times.begin());
}

// --- AttributeTree ---

AttributeTree::AttributeTree() { nodes_.push_back(Node{}); }

Quark AttributeTree::GetOrAdd(Quark parent, std::string_view name,
                              bool* added) {
  *added = false;
  if (parent >= nodes_.size()) parent = kRootQuark;
  std::string key = ChildKey(parent, name);
  auto it = by_name_.find(key);
  if (it != by_name_.end()) return it->second;
  Quark q = Quark(nodes_.size());
  nodes_.push_back(Node{std::string(name), parent, {}});
  nodes_[parent].children.push_back(q);
  by_name_.emplace(std::move(key), q);
  *added = true;
  return q;
}

bool AttributeTree::Load(Quark q, Quark parent, std::string name) {
  if (q != nodes_.size() || parent >= q) return false;
  bool added = false;
  return GetOrAdd(parent, name, &added) == q && added;
}

std::optional<Quark> AttributeTree::Find(
    const std::vector<std::string>& path) const {
  Quark q = kRootQuark;
  for (const auto& n : path) {
    auto c = Child(q, n);
    if (!c) return std::nullopt;
    q = *c;
  }
  return q;
}

std::optional<Quark> AttributeTree::Child(Quark parent,
                                          std::string_view name) const {
  auto it = by_name_.find(ChildKey(parent, name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<Quark> AttributeTree::Children(Quark parent) const {
  if (parent >= nodes_.size()) return {};
  return nodes_[parent].children;
}

std::string AttributeTree::Name(Quark q) const {
  return q < nodes_.size() ? nodes_[q].name : std::string();
}

Quark AttributeTree::Parent(Quark q) const {
  return q < nodes_.size() ? nodes_[q].parent : kRootQuark;
}

std::vector<Quark> AttributeTree::Subtree(Quark q) const {
  std::vector<Quark> out;
  if (q >= nodes_.size()) return out;
  std::vector<Quark> stack(nodes_[q].children.rbegin(),
                           nodes_[q].children.rend());
  while (!stack.empty()) {
    Quark c = stack.back();
    stack.pop_back();
    out.push_back(c);
    const auto& ch = nodes_[c].children;
    stack.insert(stack.end(), ch.rbegin(), ch.rend());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --- MemoryStateHistory: reads ---

std::optional<Quark> MemoryStateHistory::Find(
    const std::vector<std::string>& path) const {
  std::shared_lock lock(mu_);
  return tree_.Find(path);
}
std::optional<Quark> MemoryStateHistory::Child(Quark parent,
                                               std::string_view name) const {
  std::shared_lock lock(mu_);
  return tree_.Child(parent, name);
}
std::vector<Quark> MemoryStateHistory::Children(Quark parent) const {
  std::shared_lock lock(mu_);
  return tree_.Children(parent);
}
std::string MemoryStateHistory::Name(Quark q) const {
  std::shared_lock lock(mu_);
  return tree_.Name(q);
}
Quark MemoryStateHistory::Parent(Quark q) const {
  std::shared_lock lock(mu_);
  return tree_.Parent(q);
}
Quark MemoryStateHistory::AttributeCount() const {
  std::shared_lock lock(mu_);
  return tree_.size();
}

int64_t MemoryStateHistory::start_time() const {
  return has_start_.load() ? start_.load() : 0;
}

int64_t MemoryStateHistory::flushed_until() const {
  return has_flushed_.load() ? flushed_.load() : start_time() - 1;
}

StatusOr<std::vector<StateInterval>> MemoryStateHistory::QueryAt(
    int64_t t, Quark root) const {
  std::shared_lock lock(mu_);
  std::vector<StateInterval> out;
  for (Quark q : tree_.Subtree(root)) {
    if (q >= visible_.size()) continue;
    auto it = FirstEndingAtOrAfter(visible_[q], t);
    if (it != visible_[q].end() && it->start <= t) out.push_back(*it);
  }
  return out;
}

StatusOr<std::vector<StateInterval>> MemoryStateHistory::QuerySampled(
    const std::vector<Quark>& quarks, const std::vector<int64_t>& times) const {
  std::shared_lock lock(mu_);
  std::vector<StateInterval> out;
  for (Quark q : quarks) {
    if (q >= visible_.size()) continue;
    const auto& v = visible_[q];
    size_t i = 0;
    auto it = v.begin();
    while (i < times.size()) {
      it = std::lower_bound(
          it, v.end(), times[i],
          [](const StateInterval& iv, int64_t x) { return iv.end < x; });
      if (it == v.end()) break;
      if (it->start <= times[i]) {
        out.push_back(*it);
        i = SkipSamples(times, i, it->end);
      } else {
        // A gap: no interval holds times[i]; resume at this interval.
        i = size_t(std::lower_bound(times.begin() + i, times.end(), it->start) -
                   times.begin());
      }
    }
  }
  return out;
}

StatusOr<std::vector<StateInterval>> MemoryStateHistory::QueryRange(
    Quark q, int64_t t1, int64_t t2) const {
  std::shared_lock lock(mu_);
  std::vector<StateInterval> out;
  if (q >= visible_.size()) return out;
  for (auto it = FirstEndingAtOrAfter(visible_[q], t1);
       it != visible_[q].end() && it->start <= t2; ++it) {
    out.push_back(*it);
  }
  return out;
}

StatusOr<FirstLastIntervals> MemoryStateHistory::FirstLast(Quark q) const {
  std::shared_lock lock(mu_);
  if (q >= visible_.size() || visible_[q].empty()) return FirstLastIntervals();
  return FirstLastIntervals(
      std::make_pair(visible_[q].front(), visible_[q].back()));
}

StatusOr<std::vector<ValueTotals>> MemoryStateHistory::QueryTotals(
    Quark q, const std::vector<int64_t>& times) const {
  // The reference the LevelDB store is tested against: a plain scan per
  // time, the definition of T(t) in state_history.h.
  std::shared_lock lock(mu_);
  std::vector<ValueTotals> out(times.size());
  if (q >= visible_.size()) return out;
  for (size_t k = 0; k < times.size(); ++k) {
    const int64_t t = times[k];
    for (const StateInterval& iv : visible_[q]) {
      if (iv.start >= t) break;
      if (iv.value.kind != StateValue::kInt) continue;
      // [start, min(end + 1, t)): end < t here unless the interval holds t.
      const int64_t hi = iv.end < t ? iv.end + 1 : t;
      AddTotal(&out[k], iv.value.i, hi - iv.start, 1);
    }
  }
  return out;
}

// --- MemoryStateHistory: writes ---

Quark MemoryStateHistory::GetOrAdd(Quark parent, std::string_view name) {
  {
    std::shared_lock lock(mu_);
    if (auto c = tree_.Child(parent, name)) return *c;
  }
  std::unique_lock lock(mu_);
  bool added = false;
  Quark q = tree_.GetOrAdd(parent, name, &added);
  if (open_.size() < tree_.size()) open_.resize(tree_.size());
  return q;
}

void MemoryStateHistory::CloseInterval(Quark q, int64_t end) {
  Open& o = open_[q];
  pending_.push_back({q, o.start, end, std::move(o.value)});
  o.open = false;
  o.value = StateValue();
}

void MemoryStateHistory::Set(int64_t t, Quark q, StateValue value) {
  if (complete_.load()) return;
  if (q >= open_.size()) {
    std::shared_lock lock(mu_);
    if (q >= tree_.size()) return;  // unknown quark: ignore
    open_.resize(tree_.size());
  }
  Open& o = open_[q];
  if (o.open) {
    if (o.value == value) return;
    if (t < o.start) {
      t = o.start;
      ++clamped_sets_;
    }
    if (t == o.start) {
      o.value = std::move(value);  // the old value lasted no time
      return;
    }
    CloseInterval(q, t - 1);
  }
  o.open = true;
  o.start = t;
  o.value = std::move(value);
  if (!has_start_.load() || t < start_.load()) {
    start_.store(t);
    has_start_.store(true);
  }
}

void MemoryStateHistory::EndSubtree(int64_t t, Quark q) {
  if (!Current(q).is_null()) Set(t, q, StateValue());
  for (Quark c : Children(q)) EndSubtree(t, c);
}

const StateValue& MemoryStateHistory::Current(Quark q) const {
  static const StateValue kNullValue;
  return q < open_.size() && open_[q].open ? open_[q].value : kNullValue;
}

Status MemoryStateHistory::Flush(int64_t now) {
  std::unique_lock lock(mu_);
  if (visible_.size() < tree_.size()) visible_.resize(tree_.size());
  for (auto& iv : pending_) visible_[iv.quark].push_back(std::move(iv));
  pending_.clear();
  if (!has_flushed_.load() || now > flushed_.load()) flushed_.store(now);
  has_flushed_.store(true);
  return Status::Ok();
}

Status MemoryStateHistory::Close(int64_t end_time) {
  if (complete_.load()) return FailedPrecondition("history already closed");
  for (Quark q = 0; q < open_.size(); ++q) {
    if (open_[q].open) CloseInterval(q, std::max(end_time, open_[q].start));
  }
  VMTRACE_RETURN_IF_ERROR(Flush(end_time));
  complete_.store(true);
  return Status::Ok();
}

}  // namespace vmtrace::storage
