// Minimal leveled logging to stderr, safe to call from any thread.
// The level is process-wide and set once at start-up (--log-level).
#ifndef VMTRACE_BASE_LOG_H_
#define VMTRACE_BASE_LOG_H_

#include <string_view>

namespace vmtrace {

enum class LogLevel {
  kDebug = 0,
  kInfo = 1,
  kWarning = 2,
  kError = 3,
  kOff = 4
};

// Parses "debug", "info", "warning"/"warn", "error", "off". Returns false on
// an unknown name and leaves *level untouched.
bool ParseLogLevel(std::string_view name, LogLevel* level);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// printf-style; a newline is appended.
void Log(LogLevel level, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));

}  // namespace vmtrace

#define VMTRACE_LOG(level, ...)                                \
  do {                                                         \
    if (::vmtrace::LogEnabled(::vmtrace::LogLevel::level))     \
      ::vmtrace::Log(::vmtrace::LogLevel::level, __VA_ARGS__); \
  } while (0)

#endif  // VMTRACE_BASE_LOG_H_
