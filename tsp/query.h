// Parsing of TSP request parameters, with the reference server's exact
// validation messages, and the time sampling of `requested_timerange`.
//
// Every integer is read from the JSON token itself (nlohmann keeps integer
// literals as int64/uint64), never through a double. Errors are
// InvalidArgument with the TSP title ("Missing query parameters: <key>").
#ifndef VMTRACE_TSP_QUERY_H_
#define VMTRACE_TSP_QUERY_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace vmtrace::tsp {

using Json = nlohmann::json;

// Parses a request body and returns its "parameters" object ({} when the body
// is {} or parameters is null). InvalidArgument "Missing query parameters"
// for an empty body, "Invalid query parameters" for malformed JSON.
StatusOr<Json> ParseParameters(const std::string& body);
// The whole body as an object (configuration endpoints are not wrapped).
StatusOr<Json> ParseBody(const std::string& body);

Status Missing(const std::string& key);
Status Invalid(const std::string& key);

// True and *out set if `v` is an integer literal that fits in int64.
bool AsInt64(const Json& v, int64_t* out);

struct TimeRange {
  int64_t start = 0;
  int64_t end = 0;
  std::optional<int64_t> nb_times;
};

// requested_timerange {start, end, nbTimes?}; falls back to requested_times
// (a list of at least two times: its min and max) when allowed.
// nullopt (and OK) when neither key is present.
StatusOr<std::optional<TimeRange>> GetTimeRange(const Json& params);

// The reference sampling (tsp.md c.6): nbTimes capped at 65536,
// res = (end-start)/(n-1), start, start+max(res,1), ... while < end, then end.
// InvalidArgument if end < start.
StatusOr<std::vector<int64_t>> SampleTimes(const TimeRange& range);

// requested_items (or requested_element ids): a list of integers.
StatusOr<std::vector<int64_t>> GetItems(const Json& params,
                                        const std::string& key, bool required);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_QUERY_H_
