#include "tsp/http/api.h"

namespace vmtrace::tsp {

ApiResponse JsonResponse(const nlohmann::json& body, int status) {
  ApiResponse r;
  r.status = status;
  // Invalid UTF-8 from trace strings is replaced rather than thrown on.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

ApiResponse ErrorResponse(int status, const std::string& title,
                          const std::string& detail) {
  nlohmann::json j{{"title", title}, {"detail", nullptr}};
  if (!detail.empty()) j["detail"] = detail;
  return JsonResponse(j, status);
}

ApiResponse FromStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return ErrorResponse(500, "Internal error", "OK status as an error");
    case StatusCode::kInvalidArgument:
      return ErrorResponse(400, s.message());
    case StatusCode::kNotFound:
      return ErrorResponse(404, s.message());
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return ErrorResponse(409, s.message());
    case StatusCode::kUnimplemented:
      return ErrorResponse(501, "Trace type not supported", s.message());
    case StatusCode::kDataLoss:
      return ErrorResponse(406, "The trace cannot be read", s.message());
    case StatusCode::kUnavailable: {
      // A transient state (e.g. an experiment still closing): clients may
      // retry after a second.
      ApiResponse r = ErrorResponse(503, "Service unavailable", s.message());
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    case StatusCode::kPermissionDenied:
      return ErrorResponse(403, "Forbidden", s.message());
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      return ErrorResponse(500, "Internal server error", s.message());
  }
  return ErrorResponse(500, "Internal server error", s.message());
}

ApiResponse ExperimentError(const Status& s) {
  if (s.code() == StatusCode::kNotFound) {
    return ErrorResponse(404, "No such trace");
  }
  return FromStatus(s);
}

ApiResponse Envelope(nlohmann::json model, bool running,
                     const std::string& message) {
  nlohmann::json j{
      {"model", std::move(model)},
      {"status", running ? "RUNNING" : "COMPLETED"},
      {"statusMessage",
       message.empty() ? (running ? "Running" : "Completed") : message}};
  return JsonResponse(j);
}

}  // namespace vmtrace::tsp
