// Shared by the output route files: the reference server's order of checks
// for data endpoints, and the JSON of descriptors and trees. Outputs are
// found through the experiment's OutputSet by id: no route names one.
#ifndef VMTRACE_TSP_ROUTES_OUTPUT_ROUTING_H_
#define VMTRACE_TSP_ROUTES_OUTPUT_ROUTING_H_

#include <memory>
#include <string>
#include <vector>

#include "tsp/http/api.h"
#include "tsp/http/query.h"
#include "tsp/outputs/providers.h"
#include "tsp/routes/routes.h"
#include "tsp/service/trace_service.h"

namespace vmtrace::tsp {

Json DescriptorJson(const OutputDescriptor& d);

struct Resolved {
  std::shared_ptr<Experiment> exp;
  OutputDescriptor output;
  Json params;
  const TimeGraphProvider* time_graph = nullptr;
  const XyProvider* xy = nullptr;
  const TableProvider* table = nullptr;
  const DataTreeProvider* data_tree = nullptr;
};

// Body (400), then experiment (404 "No such trace"), then output of the
// wanted type, if any (405 "Analysis cannot run"). On failure returns
// nullopt and sets *error.
std::optional<Resolved> Resolve(TraceService* svc, const ApiRequest& r,
                                const char* want_type, ApiResponse* error);

// A tree model as TSP JSON. Which endpoint a tree answers: time-graph entries
// carry start/end, XY entries isDefault, data-tree entries neither.
enum class TreeKind { kTimeGraph, kXy, kData };
Json TreeJson(const TreeModel& m, TreeKind kind);

void AddTimeGraphRoutes(TraceService* svc, std::vector<Route>* routes);
void AddXyTableRoutes(TraceService* svc, std::vector<Route>* routes);
void AddOutputConfigRoutes(TraceService* svc, std::vector<Route>* routes);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_ROUTES_OUTPUT_ROUTING_H_
