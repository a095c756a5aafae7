#include "tsp/query.h"

#include <algorithm>
#include <limits>

namespace vmtrace::tsp {

Status Missing(const std::string& key) {
  return InvalidArgument("Missing query parameters: " + key);
}
Status Invalid(const std::string& key) {
  return InvalidArgument("Invalid query parameters: " + key);
}

StatusOr<Json> ParseBody(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("Missing query parameters");
  }
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return InvalidArgument("Invalid query parameters: body is not valid JSON");
  }
  if (!j.is_object()) {
    return InvalidArgument("Invalid query parameters: body is not an object");
  }
  return j;
}

StatusOr<Json> ParseParameters(const std::string& body) {
  VMTRACE_ASSIGN_OR_RETURN(Json j, ParseBody(body));
  auto it = j.find("parameters");
  if (it == j.end() || it->is_null()) return Json::object();
  if (!it->is_object()) return Invalid("parameters");
  return *it;
}

bool AsInt64(const Json& v, int64_t* out) {
  if (v.is_number_integer() && v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<int64_t>::max())) return false;
    *out = int64_t(u);
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  return false;
}

StatusOr<std::optional<TimeRange>> GetTimeRange(const Json& params) {
  auto it = params.find("requested_timerange");
  if (it != params.end() && !it->is_null()) {
    if (!it->is_object()) return Invalid("requested_timerange");
    TimeRange r;
    auto s = it->find("start");
    auto e = it->find("end");
    if (s == it->end() || e == it->end() || !AsInt64(*s, &r.start) ||
        !AsInt64(*e, &r.end)) {
      return Invalid("requested_timerange");
    }
    auto n = it->find("nbTimes");
    int64_t nb;
    if (n != it->end() && AsInt64(*n, &nb)) r.nb_times = nb;
    return std::optional<TimeRange>(r);
  }
  auto times = params.find("requested_times");
  if (times != params.end() && !times->is_null()) {
    if (!times->is_array() || times->size() < 2) {
      return Invalid("requested_times");
    }
    TimeRange r{std::numeric_limits<int64_t>::max(),
                std::numeric_limits<int64_t>::min(), std::nullopt};
    for (const auto& t : *times) {
      int64_t v;
      if (!AsInt64(t, &v)) return Invalid("requested_times");
      r.start = std::min(r.start, v);
      r.end = std::max(r.end, v);
    }
    r.nb_times = int64_t(times->size());
    return std::optional<TimeRange>(r);
  }
  return std::optional<TimeRange>();
}

StatusOr<std::vector<int64_t>> SampleTimes(const TimeRange& range) {
  if (range.end < range.start) {
    return InvalidArgument(
        "Incorrect query interval. Start time must be smaller than end time");
  }
  std::vector<int64_t> times;
  int64_t n = range.nb_times.value_or(0);
  n = std::min<int64_t>(n, 65536);
  if (n <= 1) return std::vector<int64_t>{range.start, range.end};
  // The span may exceed int64 (e.g. [-2^63, 2^63-1]): compute in unsigned.
  uint64_t span = uint64_t(range.end) - uint64_t(range.start);
  uint64_t res = span / uint64_t(n - 1);
  uint64_t inc = std::max<uint64_t>(res, 1);
  times.reserve(size_t(n) + 2);
  for (uint64_t off = 0; off < span; off += inc) {
    times.push_back(int64_t(uint64_t(range.start) + off));
    if (span - off < inc) break;
  }
  times.push_back(range.end);
  return times;
}

StatusOr<std::vector<int64_t>> GetItems(const Json& params,
                                        const std::string& key, bool required) {
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) {
    if (required) return Missing(key);
    return std::vector<int64_t>{};
  }
  if (!it->is_array()) return Invalid(key);
  std::vector<int64_t> out;
  out.reserve(it->size());
  for (const auto& v : *it) {
    int64_t x;
    if (!AsInt64(v, &x)) return Invalid(key);
    out.push_back(x);
  }
  return out;
}

}  // namespace vmtrace::tsp
