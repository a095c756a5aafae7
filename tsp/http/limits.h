// What one TSP request may ask. Each cap is refused with a 400 TSP error
// body naming the parameter ("Invalid query parameters: <key> (...)"), never
// by a crash, a hang or an unbounded reply. README "Limits" lists them with
// the reasons for their values; openapi/tsp.yaml documents them per route.
//
// Every value keeps what the viewers send legal (tsp.md d.4-d.7: a few
// thousand samples, the rows of a tree, 200-line table pages) and the
// documented benchmarks (docs/benchmarks.md: 1,133 rows x 65,536 samples).
#ifndef VMTRACE_TSP_HTTP_LIMITS_H_
#define VMTRACE_TSP_HTTP_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "base/user_regex.h"

namespace vmtrace::tsp {

// Nesting of arrays and objects in any request body ({"parameters":{...}}
// is depth 2). TSP bodies nest 5 deep at most.
inline constexpr int kMaxJsonDepth = 64;
// Bytes of one request body (413 past it, before it is parsed). The largest
// legal body, 100,000 item ids, is ~2 MB; a parsed JSON DOM takes ~8x its
// text, so 64 MB of small integers held 0.5 GB before any other cap.
inline constexpr size_t kMaxBodyBytes = size_t(8) << 20;

// Distinct ids in `requested_items` (duplicates are dropped, order kept).
inline constexpr size_t kMaxRequestedItems = 100'000;

// Distinct instants in a `requested_times` list (the reference's nbTimes
// cap).
inline constexpr size_t kMaxRequestedTimes = 65'536;

// Time-graph states: distinct requested_items x sampled times. 2^27 is
// 2,048 rows at the 65,536-sample cap, or 100,000 rows at 1,342 samples.
inline constexpr uint64_t kMaxStateRowsTimesSamples = uint64_t(1) << 27;

// XY: distinct requested_items (series) x sampled times; every value is in
// the reply, with the x values repeated per series. 2^24 is 256 series at
// the 65,536-sample cap, or 4,000 series on a 4,000-pixel chart.
inline constexpr uint64_t kMaxXySeriesTimesSamples = uint64_t(1) << 24;

// `requested_table_count`: lines in one table page.
inline constexpr int64_t kMaxTableCount = 10'000;

// Events (or table rows) a NEXT/PREVIOUS search tests before it stops and
// says where to continue.
inline constexpr uint64_t kMaxSearchScan = 1'000'000;

// Patterns in `table_search_expressions` or in `filter_expressions_map`
// (all tags together), each at most UserRegex::kMaxLength bytes.
inline constexpr size_t kMaxPatterns = 64;
inline constexpr size_t kMaxPatternLength = UserRegex::kMaxLength;

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_HTTP_LIMITS_H_
