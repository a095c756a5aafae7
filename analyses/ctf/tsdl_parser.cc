// Recursive-descent parser for the subset of TSDL that LTTng, babeltrace2's
// sink.ctf.fs and libbabeltrace's ctf-writer (perf) emit.
#include "analyses/ctf/tsdl_parser.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>

#include "analyses/ctf/tsdl_lexer.h"

namespace vmtrace::ctf {

const std::string* TypeNode::Label(uint64_t raw) const {
  for (const auto& e : entries) {
    bool in = is_signed ? (int64_t(raw) >= e.lo && int64_t(raw) <= e.hi)
                        : (raw >= uint64_t(e.lo) && raw <= uint64_t(e.hi));
    if (in) return &e.label;
  }
  return nullptr;
}

namespace {

#define TSDL_TRY(expr) VMTRACE_RETURN_IF_ERROR(expr)

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  StatusOr<Metadata> Run() {
    while (!AtEnd()) TSDL_TRY(TopLevel());
    return std::move(md_);
  }

 private:
  const Token& Peek(size_t k = 0) const {
    return t_[std::min(p_ + k, t_.size() - 1)];
  }
  bool AtEnd() const { return Peek().kind == Token::kEnd; }
  bool IsPunct(const char* s, size_t k = 0) const {
    return Peek(k).kind == Token::kPunct && Peek(k).text == s;
  }
  bool IsIdent(const char* s, size_t k = 0) const {
    return Peek(k).kind == Token::kIdent && Peek(k).text == s;
  }
  Status Error(const std::string& what) const {
    return DataLoss("TSDL line " + std::to_string(Peek().line) + ": " + what +
                    " (at '" + Peek().text + "')");
  }
  Status Expect(const char* punct) {
    if (!IsPunct(punct)) return Error(std::string("expected '") + punct + "'");
    ++p_;
    return Status::Ok();
  }
  bool Accept(const char* punct) {
    if (!IsPunct(punct)) return false;
    ++p_;
    return true;
  }

  Status TooDeep() const {
    return Error("metadata nests deeper than " + std::to_string(kMaxTypeDepth) +
                 " levels");
  }

  // Completes a node whose children are complete: its depth and alignment
  // are computed once here, so later walks never recurse to find them.
  // Depth counts pointers to other nodes, so nesting built from aliases of
  // aliases is bounded as well as nesting written out in braces.
  Status Seal(TypeNode* n) const {
    uint32_t children = 0;
    uint32_t a = n->align;
    switch (n->kind) {
      case TypeNode::kStruct:
        for (const auto& f : n->fields) {
          children = std::max(children, f.type->depth);
          a = std::max(a, f.type->Alignment());
        }
        break;
      case TypeNode::kVariant:
        // The selected option aligns itself; the variant adds nothing (this
        // is how babeltrace reads LTTng's 32-bit "large" event headers).
        for (const auto& f : n->fields) {
          children = std::max(children, f.type->depth);
        }
        a = 1;
        break;
      case TypeNode::kArray:
      case TypeNode::kSequence:
        children = n->elem->depth;
        a = n->elem->Alignment();
        break;
      case TypeNode::kString:
        a = 8;
        break;
      default:
        break;
    }
    n->depth = children + 1;
    n->value_align = a;
    return n->depth > kMaxTypeDepth ? TooDeep() : Status::Ok();
  }

  // An unsigned 64-bit literal (decimal, 0x hex, 0 octal, C suffixes),
  // returned as its two's complement bits. False if it is not one or does
  // not fit in 64 bits (strtoull would silently saturate).
  static bool ParseInt(const std::string& text, int64_t* out) {
    std::string s = text;
    while (!s.empty() && (s.back() == 'u' || s.back() == 'U' ||
                          s.back() == 'l' || s.back() == 'L')) {
      s.pop_back();
    }
    if (s.empty() || !std::isdigit(uint8_t(s[0]))) return false;
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s.c_str(), &end, 0);
    if (errno == ERANGE || !end || *end != '\0') return false;
    *out = int64_t(v);
    return true;
  }

  // A value that must fit in int64 as a signed number ("-5", "42"). Used
  // where a sign matters (clock offsets), so 2^63 is not read as -2^63.
  static bool ParseSigned(const std::string& v, int64_t* out) {
    bool neg = !v.empty() && v[0] == '-';
    int64_t bits = 0;
    if (!ParseInt(neg ? v.substr(1) : v, &bits)) return false;
    uint64_t mag = uint64_t(bits);
    if (mag > (neg ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX))) {
      return false;
    }
    *out = neg ? int64_t(0 - mag) : int64_t(mag);
    return true;
  }

  // -v on the two's complement bits, defined for every value.
  static int64_t Negate(int64_t v) { return int64_t(0 - uint64_t(v)); }

  // A value on the right of '=': number (maybe negative), string, or a
  // dotted identifier path. Returned as text.
  Status Value(std::string* out) {
    out->clear();
    if (Accept("-")) out->push_back('-');
    const Token& t = Peek();
    if (t.kind == Token::kNumber || t.kind == Token::kString) {
      out->append(t.text);
      ++p_;
      return Status::Ok();
    }
    if (t.kind != Token::kIdent) return Error("expected a value");
    out->append(t.text);
    ++p_;
    while (IsPunct(".") && Peek(1).kind == Token::kIdent) {
      out->push_back('.');
      out->append(Peek(1).text);
      p_ += 2;
    }
    return Status::Ok();
  }

  Status IntValue(int64_t* out) {
    std::string v;
    TSDL_TRY(Value(&v));
    bool neg = !v.empty() && v[0] == '-';
    std::string digits = neg ? v.substr(1) : v;
    if (digits == "true" || digits == "TRUE") digits = "1";
    if (digits == "false" || digits == "FALSE") digits = "0";
    if (!ParseInt(digits, out)) return Error("expected an integer");
    if (neg) *out = Negate(*out);
    return Status::Ok();
  }

  static ByteOrder ParseByteOrder(const std::string& v) {
    if (v == "le" || v == "little_endian") return ByteOrder::kLittle;
    if (v == "be" || v == "network" || v == "big_endian")
      return ByteOrder::kBig;
    return ByteOrder::kDefault;  // native: the trace's byte order
  }

  // Dotted identifier key on the left of '=' or ':='.
  Status Key(std::string* out) {
    if (Peek().kind != Token::kIdent) return Error("expected a name");
    *out = Peek().text;
    ++p_;
    while (IsPunct(".") && Peek(1).kind == Token::kIdent) {
      out->push_back('.');
      out->append(Peek(1).text);
      p_ += 2;
    }
    return Status::Ok();
  }

  Status TopLevel() {
    if (Accept(";")) return Status::Ok();
    if (IsIdent("typealias")) return TypeAlias();
    if (IsIdent("typedef")) return TypeDef();
    if (IsIdent("trace") || IsIdent("env") || IsIdent("clock") ||
        IsIdent("stream") || IsIdent("event") || IsIdent("callsite")) {
      if (IsPunct("{", 1)) return Block();
    }
    TypePtr unused;
    TSDL_TRY(TypeSpec(&unused));
    return Expect(";");
  }

  Status TypeAlias() {
    ++p_;
    TypePtr type;
    TSDL_TRY(TypeSpec(&type));
    TSDL_TRY(Expect(":="));
    std::string name;
    while (Peek().kind == Token::kIdent) {
      if (!name.empty()) name.push_back(' ');
      name += Peek().text;
      ++p_;
    }
    while (Accept("*")) {
    }
    if (name.empty()) return Error("typealias without a name");
    aliases_[name] = type;
    return Expect(";");
  }

  Status TypeDef() {
    ++p_;
    TypePtr type;
    TSDL_TRY(TypeSpec(&type));
    do {
      FieldDecl d;
      TSDL_TRY(Declarator(type, &d));
      aliases_[d.name] = d.type;
    } while (Accept(","));
    return Expect(";");
  }

  Status Block() {
    std::string kind = Peek().text;
    p_ += 2;  // name and '{'
    ClockDecl clock;
    StreamDecl stream;
    EventDecl event;
    while (!Accept("}")) {
      if (AtEnd()) return Error("unterminated " + kind + " block");
      if (Accept(";")) continue;
      if (IsIdent("typealias")) {
        TSDL_TRY(TypeAlias());
        continue;
      }
      if (IsIdent("typedef")) {
        TSDL_TRY(TypeDef());
        continue;
      }
      std::string key;
      TSDL_TRY(Key(&key));
      if (Accept(":=")) {
        TypePtr type;
        TSDL_TRY(TypeSpec(&type));
        if (kind == "trace" && key == "packet.header") md_.packet_header = type;
        if (kind == "stream") {
          if (key == "packet.context") stream.packet_context = type;
          if (key == "event.header") stream.event_header = type;
          if (key == "event.context") stream.event_context = type;
        }
        if (kind == "event") {
          if (key == "context") event.context = type;
          if (key == "fields") event.fields = type;
        }
        TSDL_TRY(Expect(";"));
        continue;
      }
      TSDL_TRY(Expect("="));
      std::string v;
      TSDL_TRY(Value(&v));
      int64_t n = 0;
      bool is_int = ParseInt(v[0] == '-' ? v.substr(1) : v, &n);
      if (is_int && v[0] == '-') n = Negate(n);
      if (kind == "trace" && key == "byte_order") {
        ByteOrder bo = ParseByteOrder(v);
        if (bo != ByteOrder::kDefault) md_.byte_order = bo;
      } else if (kind == "env") {
        md_.env[key] = v;
      } else if (kind == "clock") {
        // A clock value we cannot represent would shift or scale every
        // timestamp of the trace: refuse it rather than drop it.
        if (key == "name") clock.name = v;
        if (key == "freq") {
          if (!is_int || n <= 0) {
            return Error("clock freq is not a positive 64-bit integer");
          }
          clock.freq = uint64_t(n);
        }
        if ((key == "offset_s" || key == "offset") &&
            !ParseSigned(v,
                         key == "offset_s" ? &clock.offset_s : &clock.offset)) {
          return Error("clock " + key + " is not a signed 64-bit integer");
        }
      } else if (kind == "stream") {
        if (key == "id" && is_int) stream.id = uint64_t(n);
      } else if (kind == "event") {
        if (key == "name") event.name = v;
        if (key == "id" && is_int) event.id = uint64_t(n);
        if (key == "stream_id" && is_int) event.stream_id = uint64_t(n);
      }
      TSDL_TRY(Expect(";"));
    }
    if (kind == "clock") md_.clocks.push_back(clock);
    if (kind == "stream") md_.streams.push_back(stream);
    if (kind == "event") md_.events.push_back(event);
    return Expect(";");
  }

  // `name`, then `[N]` / `[path]` suffixes (outermost first, as in C).
  Status Declarator(const TypePtr& base, FieldDecl* out) {
    if (Peek().kind != Token::kIdent) return Error("expected a field name");
    out->name = Peek().text;
    ++p_;
    std::vector<std::string> dims;
    while (Accept("[")) {
      std::string d;
      while (!IsPunct("]")) {
        if (AtEnd()) return Error("unterminated '['");
        d += Peek().text;
        ++p_;
      }
      ++p_;
      dims.push_back(d);
    }
    TypePtr t = base;
    for (size_t i = dims.size(); i-- > 0;) {
      auto n = std::make_shared<TypeNode>();
      int64_t len = 0;
      if (ParseInt(dims[i], &len)) {
        n->kind = TypeNode::kArray;
        n->length = uint64_t(len);
      } else {
        n->kind = TypeNode::kSequence;
        n->length_ref = dims[i];
      }
      n->elem = t;
      TSDL_TRY(Seal(n.get()));
      t = n;
    }
    out->type = t;
    return Status::Ok();
  }

  // Body of a struct or variant: field declarations until '}'.
  Status Fields(std::vector<FieldDecl>* out) {
    while (!Accept("}")) {
      if (AtEnd()) return Error("unterminated struct");
      if (Accept(";")) continue;
      if (IsIdent("typealias")) {
        TSDL_TRY(TypeAlias());
        continue;
      }
      if (IsIdent("typedef")) {
        TSDL_TRY(TypeDef());
        continue;
      }
      TypePtr type;
      TSDL_TRY(TypeSpec(&type));
      if (Accept(";")) continue;  // a bare type definition
      do {
        FieldDecl d;
        TSDL_TRY(Declarator(type, &d));
        out->push_back(std::move(d));
      } while (Accept(","));
      TSDL_TRY(Expect(";"));
    }
    return Status::Ok();
  }

  Status Attributes(TypeNode* n) {
    TSDL_TRY(Expect("{"));
    bool align_set = false;
    uint32_t exp = 0, mant = 0;
    while (!Accept("}")) {
      if (AtEnd()) return Error("unterminated attribute block");
      if (Accept(";")) continue;
      std::string key, v;
      TSDL_TRY(Key(&key));
      TSDL_TRY(Expect("="));
      TSDL_TRY(Value(&v));
      TSDL_TRY(Expect(";"));
      int64_t num = 0;
      bool is_int = ParseInt(v, &num);
      if (key == "size" && is_int) {
        n->size = uint32_t(num);
      } else if (key == "align" && is_int) {
        n->align = uint32_t(num);
        align_set = true;
      } else if (key == "signed") {
        n->is_signed = v == "true" || v == "TRUE" || (is_int && num != 0);
      } else if (key == "base") {
        if (v == "16" || v == "x" || v == "X" || v == "hex" ||
            v == "hexadecimal" || v == "p" || v == "pointer") {
          n->base = 16;
        } else if (v == "8" || v == "o" || v == "oct" || v == "octal") {
          n->base = 8;
        } else if (v == "2" || v == "b" || v == "binary") {
          n->base = 2;
        }
      } else if (key == "encoding") {
        n->text = v == "UTF8" || v == "ASCII" || v == "utf8" || v == "ascii";
      } else if (key == "byte_order") {
        n->byte_order = ParseByteOrder(v);
      } else if (key == "map") {
        // clock.<name>.value
        size_t a = v.find('.'), b = v.rfind('.');
        if (a != std::string::npos && b > a)
          n->clock = v.substr(a + 1, b - a - 1);
      } else if (key == "exp_dig" && is_int) {
        exp = uint32_t(num);
      } else if (key == "mant_dig" && is_int) {
        mant = uint32_t(num);
      }
    }
    if (n->kind == TypeNode::kFloat) n->size = exp + mant;
    if (!align_set) n->align = n->size % 8 == 0 ? 8 : 1;
    if (n->kind != TypeNode::kString &&
        (n->size == 0 || n->size > 64 || n->align == 0)) {
      return Error("unsupported integer/float size " + std::to_string(n->size));
    }
    return Status::Ok();
  }

  // The parser recurses once per nesting level (struct in struct, enum
  // container, ...): bounded here before any node is built.
  Status TypeSpec(TypePtr* out) {
    if (nesting_ >= kMaxTypeDepth) return TooDeep();
    ++nesting_;
    Status st = TypeSpecAt(out);
    --nesting_;
    return st;
  }

  Status TypeSpecAt(TypePtr* out) {
    while (IsIdent("const") || IsIdent("volatile")) ++p_;
    if (Peek().kind != Token::kIdent) return Error("expected a type");
    std::string kw = Peek().text;
    if (kw == "integer" || kw == "floating_point") {
      ++p_;
      auto n = std::make_shared<TypeNode>();
      n->kind = kw == "integer" ? TypeNode::kInt : TypeNode::kFloat;
      TSDL_TRY(Attributes(n.get()));
      TSDL_TRY(Seal(n.get()));
      *out = n;
      return Status::Ok();
    }
    if (kw == "string") {
      ++p_;
      auto n = std::make_shared<TypeNode>();
      n->kind = TypeNode::kString;
      n->align = 8;
      if (IsPunct("{")) TSDL_TRY(Attributes(n.get()));
      n->align = 8;
      TSDL_TRY(Seal(n.get()));
      *out = n;
      return Status::Ok();
    }
    if (kw == "struct" || kw == "variant") return Compound(kw, out);
    if (kw == "enum") return Enum(out);
    // A (possibly multi-word) alias: the longest run of identifiers that
    // names one, so `unsigned long events_discarded` resolves the first two.
    size_t words = 0;
    while (Peek(words).kind == Token::kIdent) ++words;
    for (size_t k = words; k > 0; --k) {
      std::string name;
      for (size_t i = 0; i < k; ++i) {
        if (i) name.push_back(' ');
        name += Peek(i).text;
      }
      auto it = aliases_.find(name);
      if (it != aliases_.end()) {
        p_ += k;
        *out = it->second;
        return Status::Ok();
      }
    }
    return Error("unknown type '" + kw + "'");
  }

  Status Compound(const std::string& kw, TypePtr* out) {
    ++p_;
    std::string name;
    if (Peek().kind == Token::kIdent && !IsIdent("align")) {
      name = Peek().text;
      ++p_;
    }
    std::string tag;
    if (kw == "variant" && Accept("<")) {
      while (!Accept(">")) {
        if (AtEnd()) return Error("unterminated variant tag");
        tag += Peek().text;
        ++p_;
      }
    }
    std::shared_ptr<TypeNode> n;
    if (IsPunct("{")) {
      ++p_;
      n = std::make_shared<TypeNode>();
      n->kind = kw == "struct" ? TypeNode::kStruct : TypeNode::kVariant;
      TSDL_TRY(Fields(&n->fields));
    } else {
      auto it = aliases_.find(kw + " " + name);
      if (name.empty() || it == aliases_.end()) {
        return Error("unknown " + kw + " '" + name + "'");
      }
      n = std::make_shared<TypeNode>(*it->second);
    }
    if (kw == "struct" && IsIdent("align") && IsPunct("(", 1)) {
      p_ += 2;
      int64_t a = 0;
      TSDL_TRY(IntValue(&a));
      TSDL_TRY(Expect(")"));
      if (a <= 0 || a > 4096) return Error("bad struct alignment");
      n->align = uint32_t(a);
    }
    if (!tag.empty()) n->tag = tag;
    TSDL_TRY(Seal(n.get()));
    if (!name.empty()) aliases_[kw + " " + name] = n;
    *out = n;
    return Status::Ok();
  }

  Status Enum(TypePtr* out) {
    ++p_;
    std::string name;
    if (Peek().kind == Token::kIdent) {
      name = Peek().text;
      ++p_;
    }
    TypePtr container;
    if (Accept(":")) {
      TSDL_TRY(TypeSpec(&container));
    } else if (IsPunct("{")) {
      auto it = aliases_.find("int");
      if (it == aliases_.end()) return Error("enum without container type");
      container = it->second;
    }
    if (!IsPunct("{")) {
      auto it = aliases_.find("enum " + name);
      if (name.empty() || it == aliases_.end()) {
        return Error("unknown enum '" + name + "'");
      }
      *out = it->second;
      return Status::Ok();
    }
    ++p_;
    if (container->kind != TypeNode::kInt) {
      return Error("enum container is not an integer");
    }
    auto n = std::make_shared<TypeNode>(*container);
    n->kind = TypeNode::kEnum;
    int64_t next = 0;
    while (!Accept("}")) {
      if (AtEnd()) return Error("unterminated enum");
      if (Accept(",")) continue;
      EnumEntry e;
      if (Peek().kind != Token::kIdent && Peek().kind != Token::kString) {
        return Error("expected an enum label");
      }
      e.label = Peek().text;
      ++p_;
      e.lo = e.hi = next;
      if (Accept("=")) {
        TSDL_TRY(IntValue(&e.lo));
        e.hi = e.lo;
        if (Accept("...")) TSDL_TRY(IntValue(&e.hi));
      }
      // Wraps like the C enum it mimics instead of overflowing.
      next = int64_t(uint64_t(e.hi) + 1);
      n->entries.push_back(std::move(e));
    }
    TSDL_TRY(Seal(n.get()));
    if (!name.empty()) aliases_["enum " + name] = n;
    *out = n;
    return Status::Ok();
  }

  std::vector<Token> t_;
  size_t p_ = 0;
  uint32_t nesting_ = 0;  // TypeSpec calls in progress
  Metadata md_;
  std::map<std::string, TypePtr> aliases_;
};

}  // namespace

StatusOr<Metadata> ParseTsdl(std::string_view text) {
  VMTRACE_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  Parser parser(std::move(tokens));
  return parser.Run();
}

}  // namespace vmtrace::ctf
