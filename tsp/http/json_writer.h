// JsonWriter: appends JSON text to a string without building a DOM.
//
// For the few replies that can hold 100,000+ elements (time-graph states),
// where nlohmann's DOM costs ~10 allocations per element. Integers are
// written as bare literals (int64 times never pass through a double);
// strings are escaped per RFC 8259. The caller is responsible for the
// structure (commas are handled by Sep()).
#ifndef VMTRACE_TSP_HTTP_JSON_WRITER_H_
#define VMTRACE_TSP_HTTP_JSON_WRITER_H_

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace vmtrace::tsp {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& Raw(std::string_view s) {
    out_->append(s);
    return *this;
  }
  JsonWriter& Int(int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_->append(buf, r.ptr);
    return *this;
  }
  JsonWriter& Str(std::string_view s) {
    out_->push_back('"');
    for (char c : s) {
      switch (c) {
        case '"':
          out_->append("\\\"");
          break;
        case '\\':
          out_->append("\\\\");
          break;
        case '\n':
          out_->append("\\n");
          break;
        case '\r':
          out_->append("\\r");
          break;
        case '\t':
          out_->append("\\t");
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", c);
            out_->append(buf);
          } else {
            out_->push_back(c);
          }
      }
    }
    out_->push_back('"');
    return *this;
  }
  // "key":
  JsonWriter& Key(std::string_view k) {
    Str(k);
    out_->push_back(':');
    return *this;
  }

 private:
  std::string* out_;
};

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_HTTP_JSON_WRITER_H_
