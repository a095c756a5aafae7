#include "tsp/http/query.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "tsp/http/limits.h"

namespace vmtrace::tsp {

Status Missing(const std::string& key) {
  return InvalidArgument("Missing query parameters: " + key);
}
Status Invalid(const std::string& key) {
  return InvalidArgument("Invalid query parameters: " + key);
}
Status Invalid(const std::string& key, const std::string& why) {
  return InvalidArgument("Invalid query parameters: " + key + " (" + why + ")");
}

bool NestedDeeperThan(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return true;
        break;
      case ']':
      case '}':
        // Unbalanced text is the parser's to refuse; never go negative.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

StatusOr<Json> ParseBody(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("Missing query parameters");
  }
  // Before parsing: nlohmann parses iteratively, but copies, compares and
  // dumps values recursively, so a deep DOM crashes whoever touches it.
  if (NestedDeeperThan(body, kMaxJsonDepth)) {
    return Invalid("body", "arrays and objects nested deeper than " +
                               std::to_string(kMaxJsonDepth) + " levels");
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
  return std::move(*it);
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
    // The reference hands these instants to the providers as they are:
    // a script asking for the states at exact times gets those times.
    TimeRange r;
    r.times.reserve(times->size());
    for (const auto& t : *times) {
      int64_t v;
      if (!AsInt64(t, &v)) return Invalid("requested_times");
      r.times.push_back(v);
    }
    std::sort(r.times.begin(), r.times.end());
    r.times.erase(std::unique(r.times.begin(), r.times.end()), r.times.end());
    if (r.times.size() > kMaxRequestedTimes) {
      return Invalid(
          "requested_times",
          "at most " + std::to_string(kMaxRequestedTimes) + " distinct times");
    }
    r.start = r.times.front();
    r.end = r.times.back();
    r.nb_times = int64_t(r.times.size());
    return std::optional<TimeRange>(std::move(r));
  }
  return std::optional<TimeRange>();
}

StatusOr<std::vector<int64_t>> SampleTimes(const TimeRange& range) {
  if (range.end < range.start) {
    return InvalidArgument(
        "Incorrect query interval. Start time must be smaller than end time");
  }
  if (!range.times.empty()) return range.times;
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
  // Duplicates would repeat rows, series or columns in the reply (10,000
  // copies of one id made a 502 MB reply): each id is answered once.
  std::vector<int64_t> out;
  std::unordered_set<int64_t> seen;
  for (const auto& v : *it) {
    int64_t x;
    if (!AsInt64(v, &x)) return Invalid(key);
    if (!seen.insert(x).second) continue;
    if (out.size() == kMaxRequestedItems) {
      return Invalid(key, "at most " + std::to_string(kMaxRequestedItems) +
                              " distinct ids");
    }
    out.push_back(x);
  }
  return out;
}

Status CheckRowsTimesSamples(size_t rows, size_t times, uint64_t cap) {
  // rows <= kMaxRequestedItems and times <= 2^17: the product fits.
  if (uint64_t(rows) * uint64_t(times) <= cap) return Status::Ok();
  return Invalid("requested_items",
                 std::to_string(rows) + " items x " + std::to_string(times) +
                     " times is more than " + std::to_string(cap) +
                     "; ask fewer items or a smaller nbTimes");
}

}  // namespace vmtrace::tsp
