// OutputSet: every output of one open experiment, as its families made
// them (tsp/outputs/output_family.h), and the one lookup the routes use:
// output id -> descriptor and provider, derived outputs included.
#ifndef VMTRACE_TSP_OUTPUTS_OUTPUT_SET_H_
#define VMTRACE_TSP_OUTPUTS_OUTPUT_SET_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tsp/outputs/configurable_outputs.h"
#include "tsp/outputs/providers.h"
#include "tsp/outputs/view_clock.h"

namespace vmtrace::tsp {

class OutputSet {
 public:
  // Every provider added after this call, derived ones included, answers
  // in `clock`'s view clock (view_clock.h). Call before the first Add.
  void SetClock(std::shared_ptr<const ViewClock> clock);

  // Filled while the experiment opens, read-only afterwards (configurable
  // outputs change their derived outputs behind their own lock).
  void Add(std::unique_ptr<TimeGraphProvider> p);
  void Add(std::unique_ptr<XyProvider> p);
  void Add(std::unique_ptr<TableProvider> p);
  void Add(std::unique_ptr<DataTreeProvider> p);
  void Add(std::shared_ptr<ConfigurableOutputs> c);

  // A source of keys an output adds to its experiment's `properties`
  // (GET /experiments). Called on every such request: it must be cheap and
  // thread-safe. Later sources win on a shared key.
  using PropertySource = std::function<std::map<std::string, std::string>()>;
  void AddProperties(PropertySource source);
  std::map<std::string, std::string> Properties() const;

  // Every output, derived ones included, sorted by name.
  std::vector<OutputDescriptor> List() const;

  // One output and its provider (exactly one of the four is set for the
  // output's kind; none for a kind no provider serves).
  struct Found {
    OutputDescriptor descriptor;
    const TimeGraphProvider* time_graph = nullptr;
    const XyProvider* xy = nullptr;
    const TableProvider* table = nullptr;
    const DataTreeProvider* data_tree = nullptr;
  };
  std::optional<Found> Find(const std::string& id) const;

  // The configurable output whose parent is `output_id`; null if none.
  ConfigurableOutputs* Configurable(const std::string& output_id) const;

  const std::vector<std::unique_ptr<TimeGraphProvider>>& time_graphs() const {
    return time_graphs_;
  }
  const std::vector<std::unique_ptr<XyProvider>>& xys() const { return xys_; }
  const std::vector<std::unique_ptr<TableProvider>>& tables() const {
    return tables_;
  }

 private:
  template <typename P>
  const P* InClock(const P* p) const;

  std::vector<std::unique_ptr<TimeGraphProvider>> time_graphs_;
  std::vector<std::unique_ptr<XyProvider>> xys_;
  std::vector<std::unique_ptr<TableProvider>> tables_;
  std::vector<std::unique_ptr<DataTreeProvider>> data_trees_;
  std::vector<std::shared_ptr<ConfigurableOutputs>> configurables_;
  std::vector<PropertySource> property_sources_;
  std::shared_ptr<const ViewClock> clock_;  // null: as the providers answer
  // Derived providers in the view clock, by the configurable's pointer
  // (valid until the experiment closes), made on first use.
  mutable std::mutex derived_mu_;
  mutable std::map<const void*, std::shared_ptr<const void>> derived_;
};

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_OUTPUT_SET_H_
