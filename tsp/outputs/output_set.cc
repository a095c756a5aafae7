#include "tsp/outputs/output_set.h"

#include <algorithm>

namespace vmtrace::tsp {

void OutputSet::SetClock(std::shared_ptr<const ViewClock> clock) {
  clock_ = std::move(clock);
}

void OutputSet::Add(std::unique_ptr<TimeGraphProvider> p) {
  if (clock_) p = WithViewClock(std::move(p), clock_);
  time_graphs_.push_back(std::move(p));
}
void OutputSet::Add(std::unique_ptr<XyProvider> p) {
  if (clock_) p = WithViewClock(std::move(p), clock_);
  xys_.push_back(std::move(p));
}
// Tables are not wrapped: their lines name no host's times, except the
// events table's, which converts its own (EventsTable::SetViewTime).
void OutputSet::Add(std::unique_ptr<TableProvider> p) {
  tables_.push_back(std::move(p));
}
void OutputSet::Add(std::unique_ptr<DataTreeProvider> p) {
  if (clock_) p = WithViewClock(std::move(p), clock_);
  data_trees_.push_back(std::move(p));
}

template <typename P>
const P* OutputSet::InClock(const P* p) const {
  if (p == nullptr || !clock_) return p;
  std::lock_guard<std::mutex> lock(derived_mu_);
  std::shared_ptr<const void>& w = derived_[p];
  if (!w) w = std::shared_ptr<const P>(WithViewClock(p, clock_));
  return static_cast<const P*>(w.get());
}
void OutputSet::Add(std::shared_ptr<ConfigurableOutputs> c) {
  configurables_.push_back(std::move(c));
}

std::vector<OutputDescriptor> OutputSet::List() const {
  std::vector<OutputDescriptor> out;
  for (const auto& p : time_graphs_) out.push_back(p->descriptor());
  for (const auto& p : xys_) out.push_back(p->descriptor());
  for (const auto& p : tables_) out.push_back(p->descriptor());
  for (const auto& p : data_trees_) out.push_back(p->descriptor());
  for (const auto& c : configurables_) {
    for (auto& d : c->Derived()) out.push_back(std::move(d));
  }
  // Stable: derived outputs may share a name; they keep their order.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.name < b.name;
  });
  return out;
}

std::optional<OutputSet::Found> OutputSet::Find(const std::string& id) const {
  Found f;
  for (const auto& p : time_graphs_) {
    if (p->descriptor().id == id) f.time_graph = p.get();
  }
  for (const auto& p : xys_) {
    if (p->descriptor().id == id) f.xy = p.get();
  }
  for (const auto& p : tables_) {
    if (p->descriptor().id == id) f.table = p.get();
  }
  for (const auto& p : data_trees_) {
    if (p->descriptor().id == id) f.data_tree = p.get();
  }
  for (const auto& c : configurables_) {  // derived outputs
    if (!f.time_graph) f.time_graph = InClock(c->TimeGraph(id));
    if (!f.xy) f.xy = InClock(c->Xy(id));
    if (!f.table) f.table = c->Table(id);
    if (!f.data_tree) f.data_tree = InClock(c->DataTree(id));
  }
  // The descriptor as listed (a derived output's is its configurable's).
  bool found = false;
  for (auto& d : List()) {
    if (d.id == id) {
      f.descriptor = std::move(d);
      found = true;
    }
  }
  if (!found) return std::nullopt;
  return f;
}

ConfigurableOutputs* OutputSet::Configurable(
    const std::string& output_id) const {
  for (const auto& c : configurables_) {
    if (c->parent_id() == output_id) return c.get();
  }
  return nullptr;
}

void OutputSet::AddProperties(PropertySource source) {
  property_sources_.push_back(std::move(source));
}

std::map<std::string, std::string> OutputSet::Properties() const {
  std::map<std::string, std::string> all;
  for (const auto& source : property_sources_) {
    for (auto& [k, v] : source()) all[k] = std::move(v);
  }
  return all;
}

}  // namespace vmtrace::tsp
