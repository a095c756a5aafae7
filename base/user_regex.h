// UserRegex: a regular expression typed by a user (table search, time-graph
// filters), matched in linear time.
//
// Backed by RE2: matching is linear in the text whatever the pattern, and
// neither compiling nor matching recurses on the pattern's nesting, so a
// hostile or unlucky pattern (`^(\d+)+z$`, 50,000 nested groups) can neither
// hang nor crash the server. The syntax is RE2's (Perl/ECMAScript-like:
// classes, \d \w \s \b, repetitions, alternation, groups); back-references
// and look-arounds are refused as invalid. Patterns are UTF-8.
//
// Copies share the compiled program; a UserRegex is immutable and safe to
// use from several threads.
#ifndef VMTRACE_BASE_USER_REGEX_H_
#define VMTRACE_BASE_USER_REGEX_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace re2 {
class RE2;
}

namespace vmtrace {

class UserRegex {
 public:
  // Longest pattern accepted, in bytes.
  static constexpr size_t kMaxLength = 1000;

  // InvalidArgument "pattern longer than 1000 characters" or "invalid
  // pattern: <RE2's reason>" (the caller names the parameter).
  static StatusOr<UserRegex> Compile(std::string_view pattern,
                                     bool case_insensitive = false);

  // True if the pattern matches somewhere in `text` (std::regex_search's
  // semantics; anchor with ^ and $ for a whole match).
  bool PartialMatch(std::string_view text) const;

  const std::string& pattern() const;

 private:
  explicit UserRegex(std::shared_ptr<const re2::RE2> re);
  std::shared_ptr<const re2::RE2> re_;
};

}  // namespace vmtrace

#endif  // VMTRACE_BASE_USER_REGEX_H_
