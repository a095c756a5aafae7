// Fuzzes the TSP parameter parser with request bodies: every function of
// tsp/query.h that a route calls on user input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tsp/http/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmtrace::tsp;
  const std::string body(reinterpret_cast<const char*>(data), size);
  (void)ParseBody(body);
  auto params = ParseParameters(body);
  if (!params.ok()) return 0;
  auto range = GetTimeRange(*params);
  if (range.ok() && range->has_value()) (void)SampleTimes(**range);
  for (const char* key : {"requested_items", "requested_element"}) {
    (void)GetItems(*params, key, false);
  }
  int64_t v = 0;
  if (params->is_object()) {
    for (const auto& [k, value] : params->items()) (void)AsInt64(value, &v);
  }
  return 0;
}
