// StringPool: the decoder's storage for strings too long to sit inline in a
// record (Text::kInline). Interned, so a path exec'd a million times is kept
// once; entries never move or die before the pool, so records may point at
// them from any thread once the record itself was handed over.
#ifndef VMTRACE_ANALYSES_EVENTS_STRING_POOL_H_
#define VMTRACE_ANALYSES_EVENTS_STRING_POOL_H_

#include <string>
#include <string_view>
#include <unordered_set>

#include "analyses/events/typed_event.h"

namespace vmtrace::events {

class StringPool {
 public:
  // Sets `out` to `s`: inline if short, else a view of the pooled copy.
  // Single writer (the decoder's thread).
  void Assign(std::string_view s, Text* out) {
    if (out->SetInline(s)) return;
    out->SetExternal(*strings_.emplace(s).first);
  }
  size_t size() const { return strings_.size(); }

 private:
  // Node-based: an element's characters stay where they are on rehash.
  std::unordered_set<std::string> strings_;
};

}  // namespace vmtrace::events

#endif  // VMTRACE_ANALYSES_EVENTS_STRING_POOL_H_
