#include "tsp/routes/routes.h"

namespace vmtrace::tsp {

std::vector<Route> BuildRoutes(TraceService* service, const ServerInfo& info) {
  std::vector<Route> routes;
  AddTraceRoutes(service, info, &routes);
  AddOutputRoutes(service, &routes);
  AddConfigRoutes(service, &routes);
  return routes;
}

}  // namespace vmtrace::tsp
