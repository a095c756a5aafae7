#include "base/user_regex.h"

#include <re2/re2.h>

namespace vmtrace {

StatusOr<UserRegex> UserRegex::Compile(std::string_view pattern,
                                       bool case_insensitive) {
  if (pattern.size() > kMaxLength) {
    return InvalidArgument("pattern longer than " + std::to_string(kMaxLength) +
                           " characters");
  }
  RE2::Options options;
  options.set_case_sensitive(!case_insensitive);
  // Errors go to the client, not to the server's stderr.
  options.set_log_errors(false);
  // Only "does it match" is asked: no submatch bookkeeping.
  options.set_never_capture(true);
  auto re = std::make_shared<const RE2>(
      re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) return InvalidArgument("invalid pattern: " + re->error());
  return UserRegex(std::move(re));
}

UserRegex::UserRegex(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}

bool UserRegex::PartialMatch(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

const std::string& UserRegex::pattern() const { return re_->pattern(); }

}  // namespace vmtrace
