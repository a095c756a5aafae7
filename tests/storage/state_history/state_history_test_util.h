// Helpers shared by the state-history test files: gtest printing and
// equality of intervals, and a fresh temporary folder per test.
#ifndef VMTRACE_TESTS_STORAGE_STATE_HISTORY_TEST_UTIL_H_
#define VMTRACE_TESTS_STORAGE_STATE_HISTORY_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <ostream>
#include <string>

#include "storage/state_history.h"

namespace vmtrace::storage {

// Printed by gtest on mismatches.
inline void PrintTo(const StateInterval& iv, std::ostream* os) {
  *os << "{q" << iv.quark << " [" << iv.start << "," << iv.end << "] "
      << (iv.value.kind == StateValue::kNull  ? std::string("null")
          : iv.value.kind == StateValue::kInt ? std::to_string(iv.value.i)
                                              : "'" + iv.value.s + "'")
      << "}";
}
inline bool operator==(const StateInterval& a, const StateInterval& b) {
  return a.quark == b.quark && a.start == b.start && a.end == b.end &&
         a.value == b.value;
}

namespace testing_util {

inline std::string TempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("vmtrace-sh-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

}  // namespace testing_util
}  // namespace vmtrace::storage

#endif  // VMTRACE_TESTS_STORAGE_STATE_HISTORY_TEST_UTIL_H_
