// Parsing of TSP request parameters, with the reference server's exact
// validation messages, the time sampling of `requested_timerange`, and the
// request limits of tsp/limits.h.
//
// Every integer is read from the JSON token itself (nlohmann keeps integer
// literals as int64/uint64), never through a double. Errors are
// InvalidArgument with the TSP title ("Missing query parameters: <key>",
// "Invalid query parameters: <key> (<why>)" for a limit).
#ifndef VMTRACE_TSP_HTTP_QUERY_H_
#define VMTRACE_TSP_HTTP_QUERY_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace vmtrace::tsp {

using Json = nlohmann::json;

// Parses a request body and returns its "parameters" object ({} when the body
// is {} or parameters is null). InvalidArgument "Missing query parameters"
// for an empty body, "Invalid query parameters" for malformed JSON or JSON
// nested deeper than kMaxJsonDepth. Every request body goes through here
// (or ParseBody).
StatusOr<Json> ParseParameters(const std::string& body);
// The whole body as an object (configuration endpoints are not wrapped).
StatusOr<Json> ParseBody(const std::string& body);

// True if arrays/objects in `text` nest deeper than `max_depth`. Linear,
// no recursion; strings are skipped. Checked before parsing, because the
// JSON library copies, compares and prints values recursively: a body
// nested 90,000 deep would overflow the stack.
bool NestedDeeperThan(std::string_view text, int max_depth);

Status Missing(const std::string& key);
Status Invalid(const std::string& key);
// "Invalid query parameters: <key> (<why>)": a limit or a bad value.
Status Invalid(const std::string& key, const std::string& why);

// True and *out set if `v` is an integer literal that fits in int64.
bool AsInt64(const Json& v, int64_t* out);

struct TimeRange {
  int64_t start = 0;
  int64_t end = 0;
  std::optional<int64_t> nb_times;
  // The exact instants of a `requested_times` list, sorted and distinct
  // (start/end are its first and last); empty for `requested_timerange`.
  std::vector<int64_t> times;
};

// requested_timerange {start, end, nbTimes?}; else the legacy
// requested_times (a list of at least two times, at most
// kMaxRequestedTimes distinct ones), kept as exact instants.
// nullopt (and OK) when neither key is present.
StatusOr<std::optional<TimeRange>> GetTimeRange(const Json& params);

// The times a range asks for. requested_timerange: the reference sampling
// (tsp.md c.6): nbTimes capped at 65536, res = (end-start)/(n-1), start,
// start+max(res,1), ... while < end, then end. requested_times: exactly
// those instants, sorted and distinct. InvalidArgument if end < start.
StatusOr<std::vector<int64_t>> SampleTimes(const TimeRange& range);

// A list of integer ids (requested_items, requested_table_column_ids):
// duplicates dropped, first occurrence order kept; more than
// kMaxRequestedItems distinct ids is InvalidArgument naming `key`.
StatusOr<std::vector<int64_t>> GetItems(const Json& params,
                                        const std::string& key, bool required);

// OK if `rows` x `times` is at most `cap` (kMaxStateRowsTimesSamples,
// kMaxXySeriesTimesSamples); else InvalidArgument naming requested_items.
Status CheckRowsTimesSamples(size_t rows, size_t times, uint64_t cap);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_HTTP_QUERY_H_
