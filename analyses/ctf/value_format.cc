// Text rendering of decoded values, close to babeltrace2's sink.text.pretty
// so that users comparing the two outputs recognise every field.
#include <charconv>
#include <cstdio>

#include "analyses/ctf/decode_program.h"
#include "analyses/ctf/reader.h"

namespace vmtrace::ctf {

void AppendInteger(std::string* out, uint64_t raw, bool is_signed, bool hex) {
  char buf[24];
  if (hex) {
    auto r = std::to_chars(buf, buf + sizeof buf, raw, 16);
    out->append("0x");
    for (char* p = buf; p < r.ptr; ++p) {
      out->push_back(*p >= 'a' && *p <= 'f' ? char(*p - 'a' + 'A') : *p);
    }
    return;
  }
  auto r = is_signed ? std::to_chars(buf, buf + sizeof buf, int64_t(raw))
                     : std::to_chars(buf, buf + sizeof buf, raw);
  out->append(buf, r.ptr);
}

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (uint8_t(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(uint8_t(c)));
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

int64_t Value::AsInt() const {
  return kind == kSigned || kind == kUnsigned ? i : 0;
}

void Value::AppendTo(std::string* out) const {
  switch (kind) {
    case kNone:
      out->append("<none>");
      return;
    case kSigned:
    case kUnsigned:
      if (!enum_label.empty()) {
        out->append("( ");
        AppendQuoted(out, enum_label);
        out->append(" : container = ");
        AppendInteger(out, u, kind == kSigned, hex);
        out->append(" )");
        return;
      }
      AppendInteger(out, u, kind == kSigned, hex);
      return;
    case kDouble: {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      out->append(buf, r.ptr);
      return;
    }
    case kString:
      AppendQuoted(out, s);
      return;
    case kArray:
      out->append(s);
      return;
  }
}

int EventClass::FieldIndex(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return int(i);
  }
  return -1;
}

std::string Event::FormatPayload() const {
  std::string out;
  if (!cls) return out;
  const auto& fields = cls->fields();
  bool first = true;
  for (size_t i = 0; i < value_count && i < fields.size(); ++i) {
    if (fields[i].scope != Scope::kPayload) continue;
    if (!first) out.append(", ");
    first = false;
    out.append(fields[i].name);
    out.append(" = ");
    values[i].AppendTo(&out);
  }
  return out;
}

}  // namespace vmtrace::ctf
