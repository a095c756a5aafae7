// Status and StatusOr: how every module reports failure without exceptions.
//
// A Status is either OK or carries a Code and a human-readable message. The
// codes are protocol-neutral; only the HTTP layer (tsp/) maps them to HTTP
// status codes. StatusOr<T> holds either a value or a non-OK Status; calling
// value() on an error is a programming bug and aborts.
#ifndef VMTRACE_BASE_STATUS_H_
#define VMTRACE_BASE_STATUS_H_

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace vmtrace {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // malformed request or parameter (HTTP 400)
  kNotFound,            // unknown id or missing path (HTTP 404)
  kAlreadyExists,       // same name, different object (HTTP 409)
  kFailedPrecondition,  // e.g. deleting a trace still in use (HTTP 409)
  kUnimplemented,       // e.g. a path that is not a trace we can read (501)
  kDataLoss,            // corrupt or truncated trace data
  kIoError,             // the file system or the store failed
  kUnavailable,         // busy for now; retrying later may succeed (503)
  kPermissionDenied,    // refused by configuration, e.g. trace roots (403)
  kInternal,            // a bug
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: no trace at /x" (or "OK").
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFound(std::string m) {
  return Status(StatusCode::kNotFound, std::move(m));
}
inline Status AlreadyExists(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m));
}
inline Status FailedPrecondition(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status Unimplemented(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status DataLoss(std::string m) {
  return Status(StatusCode::kDataLoss, std::move(m));
}
inline Status IoError(std::string m) {
  return Status(StatusCode::kIoError, std::move(m));
}
inline Status Unavailable(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status PermissionDenied(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}
inline Status Internal(std::string m) {
  return Status(StatusCode::kInternal, std::move(m));
}

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Internal("StatusOr built from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    Check();
    return *value_;
  }
  const T& value() const& {
    Check();
    return *value_;
  }
  T&& value() && {
    Check();
    return std::move(*value_);
  }
  T* operator->() {
    Check();
    return &*value_;
  }
  const T* operator->() const {
    Check();
    return &*value_;
  }
  T& operator*() & {
    Check();
    return *value_;
  }
  const T& operator*() const& {
    Check();
    return *value_;
  }

 private:
  void Check() const {
    if (!value_.has_value()) std::abort();
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace vmtrace

#define VMTRACE_RETURN_IF_ERROR(expr) \
  do {                                \
    ::vmtrace::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

#define VMTRACE_CONCAT_INNER(a, b) a##b
#define VMTRACE_CONCAT(a, b) VMTRACE_CONCAT_INNER(a, b)
#define VMTRACE_ASSIGN_OR_RETURN(lhs, expr) \
  VMTRACE_ASSIGN_OR_RETURN_IMPL(VMTRACE_CONCAT(_so_, __LINE__), lhs, expr)
#define VMTRACE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#endif  // VMTRACE_BASE_STATUS_H_
