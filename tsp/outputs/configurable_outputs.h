// ConfigurableOutputs: an output whose users derive more outputs from it by
// configuration (TSP POST /experiments/{exp}/outputs/{outputId}), e.g. one
// critical path per worker. The routes reach it through OutputSet by the
// parent output's id and never know which output it is. Thread-safe.
#ifndef VMTRACE_TSP_OUTPUTS_CONFIGURABLE_OUTPUTS_H_
#define VMTRACE_TSP_OUTPUTS_CONFIGURABLE_OUTPUTS_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

class ConfigurableOutputs {
 public:
  virtual ~ConfigurableOutputs() = default;
  // The output configurations are posted to (its descriptor is listed with
  // the family's other providers).
  virtual std::string parent_id() const = 0;
  // The ConfigurationSourceType JSONs the parent accepts (each has "id").
  virtual std::vector<nlohmann::json> ConfigTypes() const = 0;
  // Validates a configuration {name, description, sourceTypeId, parameters}
  // and creates its derived output(s); returns the descriptor to answer.
  // InvalidArgument names the bad parameter.
  virtual StatusOr<OutputDescriptor> Create(const nlohmann::json& config) = 0;
  // Removes a derived output whose parentId is parent_id() (and what was
  // derived with it). NotFound if there is none.
  virtual Status Delete(const std::string& derived_id) = 0;
  // Descriptors of every derived output, in a stable order.
  virtual std::vector<OutputDescriptor> Derived() = 0;
  // The provider of a derived output; null if `id` names none of that kind.
  // Providers stay valid until the experiment closes (even once deleted).
  virtual const TimeGraphProvider* TimeGraph(const std::string& id) = 0;
  virtual const XyProvider* Xy(const std::string& id) {
    (void)id;
    return nullptr;
  }
  virtual const TableProvider* Table(const std::string& id) = 0;
  virtual const DataTreeProvider* DataTree(const std::string& id) {
    (void)id;
    return nullptr;
  }
};

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_CONFIGURABLE_OUTPUTS_H_
