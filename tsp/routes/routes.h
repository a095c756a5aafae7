// Every route we serve: the server itself, traces and experiments, outputs
// (found by id through the experiment's OutputSet, never named here) and
// global configurations. Handlers map service Statuses to TSP errors.
#ifndef VMTRACE_TSP_ROUTES_ROUTES_H_
#define VMTRACE_TSP_ROUTES_ROUTES_H_

#include <vector>

#include "tsp/http/api.h"
#include "tsp/service/trace_service.h"

namespace vmtrace::tsp {

// `service` must outlive the routes.
std::vector<Route> BuildRoutes(TraceService* service, const ServerInfo& info);

void AddTraceRoutes(TraceService* service, const ServerInfo& info,
                    std::vector<Route>* routes);
void AddOutputRoutes(TraceService* service, std::vector<Route>* routes);
void AddConfigRoutes(TraceService* service, std::vector<Route>* routes);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_ROUTES_ROUTES_H_
