#include "analyses/ctf/decode_program.h"

#include <cstring>

namespace vmtrace::ctf {

int Program::FindSlot(std::string_view name) const {
  // Paths such as "stream.event.context.len" or "v.id" name their last
  // component; search backwards so the innermost/latest field wins.
  size_t dot = name.rfind('.');
  if (dot != std::string_view::npos) name = name.substr(dot + 1);
  for (size_t i = slot_names.size(); i-- > 0;) {
    if (slot_names[i] == name) return int(i);
  }
  return -1;
}

namespace {

// Flattening (inline_all) copies a type once per use, so aliases of aliases
// can make a small metadata file describe an exponentially large header;
// a program is refused past this many operations. Real headers have tens.
constexpr size_t kMaxProgramOps = size_t(1) << 16;
// The slow path formats a compound value as text; it is refused past this
// size (arrays of empty structs take no bits, so the packet size alone does
// not bound the work).
constexpr size_t kMaxFormattedBytes = size_t(16) << 20;

bool IsTextByte(const TypeNode& t) {
  return t.kind == TypeNode::kInt && t.text && t.size == 8;
}

uint8_t IntFlags(const TypeNode& t, ByteOrder trace_order) {
  ByteOrder bo =
      t.byte_order == ByteOrder::kDefault ? trace_order : t.byte_order;
  return (t.is_signed ? kOpSigned : 0) |
         (bo == ByteOrder::kBig ? kOpBigEndian : 0);
}

class Compiler {
 public:
  Compiler(bool inline_all, bool header, Program* prog)
      : inline_all_(inline_all), header_(header), prog_(prog) {}

  int NewSlot(const std::string& name) {
    prog_->slot_names.push_back(name);
    return int(prog_->slot_names.size() - 1);
  }

  void Emit(Op op) { prog_->ops.push_back(op); }

  Status CheckSize() const {
    if (prog_->ops.size() <= kMaxProgramOps) return Status::Ok();
    return DataLoss("type too large to decode (more than " +
                    std::to_string(kMaxProgramOps) + " fields)");
  }

  Status Struct(const TypeNode& t) {
    VMTRACE_RETURN_IF_ERROR(CheckSize());
    uint32_t a = t.Alignment();
    if (a > 1) Emit(Op{OpKind::kAlign, 0, 0, a, -1, 0, nullptr});
    for (const auto& f : t.fields) VMTRACE_RETURN_IF_ERROR(Field(f));
    return Status::Ok();
  }

  Status Field(const FieldDecl& f) {
    const TypeNode& t = *f.type;
    ByteOrder bo = prog_->byte_order;
    switch (t.kind) {
      case TypeNode::kInt:
      case TypeNode::kEnum: {
        Op op{OpKind::kInt,
              uint8_t(t.size),
              IntFlags(t, bo),
              t.align,
              NewSlot(f.name),
              0,
              &t};
        if (header_ && !t.clock.empty()) op.flags |= kOpClock;
        if (header_ && f.name == "id") op.flags |= kOpRoleId;
        Emit(op);
        return Status::Ok();
      }
      case TypeNode::kFloat:
        if (t.size != 32 && t.size != 64) {
          return Unimplemented("floating point of " + std::to_string(t.size) +
                               " bits");
        }
        Emit(Op{OpKind::kFloat, uint8_t(t.size), IntFlags(t, bo), t.align,
                NewSlot(f.name), 0, &t});
        return Status::Ok();
      case TypeNode::kString:
        Emit(Op{OpKind::kString, 0, 0, 8, NewSlot(f.name), 0, &t});
        return Status::Ok();
      case TypeNode::kArray:
        if (IsTextByte(*t.elem)) {
          Emit(Op{OpKind::kCharArray, 0, 0, t.elem->align, NewSlot(f.name),
                  int64_t(t.length), &t});
          return Status::Ok();
        }
        break;
      case TypeNode::kSequence: {
        int len = prog_->FindSlot(t.length_ref);
        if (IsTextByte(*t.elem) && len >= 0) {
          Emit(Op{OpKind::kCharSeq, 0, 0, t.elem->align, NewSlot(f.name), len,
                  &t});
          return Status::Ok();
        }
        Emit(Op{OpKind::kCompound, 0, 0, 1, NewSlot(f.name), len, &t});
        return Status::Ok();
      }
      case TypeNode::kStruct:
        if (inline_all_) return Struct(t);
        break;
      case TypeNode::kVariant:
        if (inline_all_) return Variant(t);
        Emit(Op{OpKind::kCompound, 0, 0, 1, NewSlot(f.name),
                prog_->FindSlot(t.tag), &t});
        return Status::Ok();
    }
    Emit(Op{OpKind::kCompound, 0, 0, 1, NewSlot(f.name), -1, &t});
    return Status::Ok();
  }

  // Flattened variant: a jump table on the tag's enum ranges, then each
  // option's code followed by a jump to the end.
  Status Variant(const TypeNode& t) {
    VMTRACE_RETURN_IF_ERROR(CheckSize());
    int tag = prog_->FindSlot(t.tag);
    const TypeNode* tag_type = nullptr;
    if (tag >= 0) {
      for (const Op& op : prog_->ops) {
        if (op.slot == tag && op.kind == OpKind::kInt) tag_type = op.type;
      }
    }
    if (!tag_type || tag_type->kind != TypeNode::kEnum) {
      return DataLoss("variant tag '" + t.tag + "' is not an enum field");
    }
    size_t table = prog_->variants.size();
    prog_->variants.push_back(VariantTable{tag, tag_type->is_signed, {}});
    Emit(Op{OpKind::kVariant, 0, 0, 1, -1, int64_t(table), &t});
    std::vector<size_t> jumps;
    std::vector<VariantCase> cases;
    for (const auto& option : t.fields) {
      uint32_t start = uint32_t(prog_->ops.size());
      for (const auto& e : tag_type->entries) {
        if (e.label == option.name || "_" + e.label == option.name ||
            e.label == "_" + option.name) {
          cases.push_back(VariantCase{e.lo, e.hi, start});
        }
      }
      VMTRACE_RETURN_IF_ERROR(Field(option));
      jumps.push_back(prog_->ops.size());
      Emit(Op{OpKind::kJump, 0, 0, 1, -1, 0, nullptr});
    }
    for (size_t j : jumps) prog_->ops[j].arg = int64_t(prog_->ops.size());
    prog_->variants[table].cases = std::move(cases);
    return Status::Ok();
  }

 private:
  bool inline_all_, header_;
  Program* prog_;
};

// Reads `size` bits at r.pos (bounds already checked). CTF numbers bits from
// the least significant bit of each byte in little-endian fields and from the
// most significant bit in big-endian ones.
inline uint64_t LoadBits(const uint8_t* base, uint64_t pos, uint32_t size,
                         bool big) {
  const uint8_t* p = base + (pos >> 3);
  uint32_t shift = uint32_t(pos & 7);
  if (shift == 0 && (size & 7) == 0) {
    uint64_t v = 0;
    uint32_t n = size >> 3;
    if (!big) {
      std::memcpy(&v, p, n);  // little-endian host
      return v;
    }
    for (uint32_t i = 0; i < n; ++i) v = (v << 8) | p[i];
    return v;
  }
  uint32_t nbytes = (shift + size + 7) >> 3;  // at most 9
  uint32_t first = nbytes > 8 ? 8 : nbytes;
  uint64_t v = 0;
  if (!big) {
    std::memcpy(&v, p, first);
    v >>= shift;
    if (nbytes > 8) v |= uint64_t(p[8]) << (64 - shift);
    return size == 64 ? v : v & ((uint64_t(1) << size) - 1);
  }
  for (uint32_t i = 0; i < first; ++i) v = (v << 8) | p[i];
  v <<= (8 - first) * 8;
  v <<= shift;
  if (nbytes > 8) v |= uint64_t(p[8]) >> (8 - shift);
  return v >> (64 - size);
}

inline uint64_t AlignUp(uint64_t pos, uint32_t a) {
  return (pos + a - 1) & ~uint64_t(a - 1);
}

inline bool ReadInt(BitReader& r, uint32_t size, uint32_t align, uint8_t flags,
                    uint64_t* out) {
  if (align > 1) r.pos = AlignUp(r.pos, align);
  if (r.pos + size > r.end) return false;
  uint64_t v = LoadBits(r.base, r.pos, size, flags & kOpBigEndian);
  r.pos += size;
  if ((flags & kOpSigned) && size < 64) {
    uint64_t sign = uint64_t(1) << (size - 1);
    v = (v ^ sign) - sign;
  }
  *out = v;
  return true;
}

// Reads a NUL-terminated string; the view excludes the NUL.
inline bool ReadString(BitReader& r, std::string_view* out) {
  r.pos = AlignUp(r.pos, 8);
  if (r.pos >= r.end) return false;
  const char* s = reinterpret_cast<const char*>(r.base + (r.pos >> 3));
  size_t max = size_t((r.end - r.pos) >> 3);
  const void* nul = std::memchr(s, 0, max);
  if (!nul) return false;
  size_t len = size_t(static_cast<const char*>(nul) - s);
  *out = std::string_view(s, len);
  r.pos += (len + 1) * 8;
  return true;
}

// Fixed-size text: stops at the first NUL like babeltrace does.
inline bool ReadChars(BitReader& r, uint64_t n, uint32_t align,
                      std::string_view* out) {
  if (align > 1) r.pos = AlignUp(r.pos, align);
  if ((r.pos & 7) != 0 || n > (r.end - std::min(r.end, r.pos)) / 8) {
    return false;
  }
  const char* s = reinterpret_cast<const char*>(r.base + (r.pos >> 3));
  const void* nul = std::memchr(s, 0, size_t(n));
  *out = std::string_view(
      s, nul ? size_t(static_cast<const char*>(nul) - s) : size_t(n));
  r.pos += n * 8;
  return true;
}

// Names visible to a nested sequence length or variant tag while the slow
// path decodes a compound value.
struct LocalScope {
  const LocalScope* parent = nullptr;
  struct Entry {
    std::string_view name;
    uint64_t value;
    const TypeNode* type;
  };
  std::vector<Entry> ints;
};

struct Generic {
  const Program& prog;
  const Value* values;
  ByteOrder order;
  std::string* out;
  size_t out_start = 0;  // out->size() when this value began
  const char* error = nullptr;

  // Resolves a length or tag: enclosing structs first (innermost wins),
  // then the compiled top-level fields of the event.
  bool Lookup(std::string_view path, const LocalScope* scope, uint64_t* v,
              const TypeNode** type) {
    size_t dot = path.rfind('.');
    std::string_view name =
        dot == std::string_view::npos ? path : path.substr(dot + 1);
    for (const LocalScope* s = scope; s; s = s->parent) {
      for (size_t i = s->ints.size(); i-- > 0;) {
        if (s->ints[i].name == name) {
          *v = s->ints[i].value;
          *type = s->ints[i].type;
          return true;
        }
      }
    }
    int slot = prog.FindSlot(name);
    if (slot < 0) return false;
    *v = values[slot].u;
    *type = nullptr;
    for (const Op& op : prog.ops) {
      if (op.slot == slot) *type = op.type;
    }
    return true;
  }

  // Decodes one value of type t, appending its text. *ival receives integer
  // values so an enclosing struct can record them for later references.
  bool Decode(const TypeNode& t, BitReader& r, LocalScope* scope,
              uint64_t* ival, uint32_t depth) {
    // Types are at most kMaxTypeDepth deep (the parser sees to it); this
    // guard only keeps the recursion bounded if that ever changed.
    if (depth > kMaxTypeDepth) return Fail("type nesting too deep");
    if (out->size() - out_start > kMaxFormattedBytes) {
      return Fail("formatted value larger than 16 MiB");
    }
    switch (t.kind) {
      case TypeNode::kInt:
      case TypeNode::kEnum: {
        uint64_t v;
        if (!ReadInt(r, t.size, t.align, IntFlags(t, order), &v)) {
          return Fail("integer past the end of the packet");
        }
        *ival = v;
        if (t.kind == TypeNode::kEnum) {
          const std::string* l = t.Label(v);
          out->append("( ");
          AppendQuoted(out, l ? std::string_view(*l) : "<unknown>");
          out->append(" : container = ");
          AppendInteger(out, v, t.is_signed, t.base == 16);
          out->append(" )");
        } else {
          AppendInteger(out, v, t.is_signed, t.base == 16);
        }
        return true;
      }
      case TypeNode::kFloat: {
        uint64_t v;
        if (!ReadInt(r, t.size, t.align, IntFlags(t, order) & kOpBigEndian,
                     &v)) {
          return Fail("float past the end of the packet");
        }
        Value fv;
        fv.kind = Value::kDouble;
        if (t.size == 32) {
          float f;
          uint32_t b = uint32_t(v);
          std::memcpy(&f, &b, 4);
          fv.d = f;
        } else {
          std::memcpy(&fv.d, &v, 8);
        }
        fv.AppendTo(out);
        return true;
      }
      case TypeNode::kString: {
        std::string_view s;
        if (!ReadString(r, &s)) return Fail("unterminated string");
        AppendQuoted(out, s);
        return true;
      }
      case TypeNode::kStruct: {
        r.pos = AlignUp(r.pos, t.Alignment());
        LocalScope inner;
        inner.parent = scope;
        out->append("{ ");
        bool first = true;
        for (const auto& f : t.fields) {
          if (!first) out->append(", ");
          first = false;
          std::string_view name = f.name;
          if (!name.empty() && name[0] == '_') name.remove_prefix(1);
          out->append(name);
          out->append(" = ");
          uint64_t v = 0;
          if (!Decode(*f.type, r, &inner, &v, depth + 1)) return false;
          inner.ints.push_back({f.name, v, f.type.get()});
        }
        out->append(first ? "}" : " }");
        return true;
      }
      case TypeNode::kVariant: {
        uint64_t tag;
        const TypeNode* tag_type = nullptr;
        if (!Lookup(t.tag, scope, &tag, &tag_type)) {
          return Fail("variant tag not found");
        }
        // The tag is an enum; its label names the option.
        const std::string* label = tag_type && tag_type->kind == TypeNode::kEnum
                                       ? tag_type->Label(tag)
                                       : nullptr;
        for (const auto& f : t.fields) {
          if (label && (f.name == *label || f.name == "_" + *label ||
                        "_" + f.name == *label)) {
            return Decode(*f.type, r, scope, ival, depth + 1);
          }
        }
        return Fail("variant tag matches no option");
      }
      case TypeNode::kArray:
      case TypeNode::kSequence: {
        uint64_t n = t.length;
        const TypeNode* len_type;
        if (t.kind == TypeNode::kSequence &&
            !Lookup(t.length_ref, scope, &n, &len_type)) {
          return Fail("sequence length not found");
        }
        const TypeNode& e = *t.elem;
        r.pos = AlignUp(r.pos, e.Alignment());
        uint64_t left = r.end - std::min(r.end, r.pos);
        // Each element takes at least one bit (empty structs aside), so a
        // corrupt length cannot make us loop or allocate beyond the packet.
        if (n > left || n > (uint64_t(1) << 24)) {
          return Fail("array length beyond the packet");
        }
        if (IsTextByte(e)) {
          std::string_view s;
          if (!ReadChars(r, n, e.align, &s)) return Fail("text past the end");
          AppendQuoted(out, s);
          return true;
        }
        out->append("[");
        for (uint64_t i = 0; i < n; ++i) {
          out->append(i ? ", " : " ");
          uint64_t v;
          if (!Decode(e, r, scope, &v, depth + 1)) return false;
        }
        out->append(n ? " ]" : "]");
        return true;
      }
    }
    return Fail("unknown type");
  }

  bool Fail(const char* why) {
    error = why;
    return false;
  }
};

}  // namespace

Status CompileStruct(const TypeNode& type, bool inline_all, bool header,
                     Program* prog) {
  if (type.kind != TypeNode::kStruct) {
    return DataLoss("scope type is not a struct");
  }
  Compiler c(inline_all, header, prog);
  return c.Struct(type);
}

namespace {

// One op of RunProgram each; false (with st->error set) when the packet ends
// early. Forced inline: this is the per-field loop of the whole pass.
[[gnu::always_inline]] inline bool RunInt(const Op& op, BitReader& r,
                                          Value* values, RunState* st) {
  uint64_t v;
  if (!ReadInt(r, op.size, op.align, op.flags, &v)) {
    st->error = "integer past the end of the packet";
    return false;
  }
  Value& out = values[op.slot];
  out.kind = (op.flags & kOpSigned) ? Value::kSigned : Value::kUnsigned;
  out.u = v;
  out.hex = op.type->base == 16;
  // Slots are reused across event classes: always reset the label.
  out.enum_label = std::string_view();
  if (op.type->kind == TypeNode::kEnum) {
    const std::string* l = op.type->Label(v);
    if (l) out.enum_label = *l;
  }
  if (op.flags & kOpClock) {
    if (op.size >= 64) {
      st->clock = v;
    } else {
      uint64_t mask = (uint64_t(1) << op.size) - 1;
      uint64_t next = (st->clock & ~mask) | v;
      if (v < (st->clock & mask)) next += mask + 1;
      st->clock = next;
    }
  }
  if (op.flags & kOpRoleId) {
    st->id = v;
    st->has_id = true;
  }
  return true;
}

bool RunFloat(const Op& op, BitReader& r, Value* values, RunState* st) {
  uint64_t v;
  if (!ReadInt(r, op.size, op.align, op.flags & kOpBigEndian, &v)) {
    st->error = "float past the end of the packet";
    return false;
  }
  Value& out = values[op.slot];
  out.kind = Value::kDouble;
  out.hex = false;
  out.enum_label = std::string_view();
  if (op.size == 32) {
    float f;
    uint32_t b = uint32_t(v);
    std::memcpy(&f, &b, 4);
    out.d = f;
  } else {
    std::memcpy(&out.d, &v, 8);
  }
  return true;
}

// A string, or a char array / sequence read as text.
[[gnu::always_inline]] inline bool RunText(const Op& op, BitReader& r,
                                           Value* values, RunState* st) {
  Value& out = values[op.slot];
  out.kind = Value::kString;
  out.hex = false;
  out.enum_label = std::string_view();
  if (op.kind == OpKind::kString) {
    if (!ReadString(r, &out.s)) {
      st->error = "unterminated string";
      return false;
    }
    return true;
  }
  uint64_t len =
      op.kind == OpKind::kCharArray ? uint64_t(op.arg) : values[op.arg].u;
  if (!ReadChars(r, len, op.align, &out.s)) {
    st->error = "text past the end of the packet";
    return false;
  }
  return true;
}

bool RunCompound(const Program& prog, const Op& op, BitReader& r, Value* values,
                 RunState* st) {
  size_t start = st->scratch->size();
  Generic g{prog, values, prog.byte_order, st->scratch, start};
  uint64_t ignored = 0;
  if (!g.Decode(*op.type, r, nullptr, &ignored, 0)) {
    st->error = g.error;
    return false;
  }
  Value& out = values[op.slot];
  out.hex = false;
  out.enum_label = std::string_view();
  out.kind = Value::kArray;  // pre-formatted, quotes included
  out.u = start;
  out.s = std::string_view(nullptr, st->scratch->size() - start);
  st->fixups->push_back(op.slot);
  return true;
}

// Sets *pc to the first op of the option the tag selects.
bool RunVariant(const Program& prog, const Op& op, const Value* values,
                size_t* pc, RunState* st) {
  const VariantTable& vt = prog.variants[size_t(op.arg)];
  uint64_t tag = values[vt.tag_slot].u;
  for (const VariantCase& c : vt.cases) {
    bool in = vt.tag_signed ? (int64_t(tag) >= c.lo && int64_t(tag) <= c.hi)
                            : (tag >= uint64_t(c.lo) && tag <= uint64_t(c.hi));
    if (in) {
      *pc = c.target;
      return true;
    }
  }
  st->error = "variant tag matches no option";
  return false;
}

}  // namespace

bool RunProgram(const Program& prog, BitReader& r, RunState* st) {
  const Op* ops = prog.ops.data();
  const size_t n = prog.ops.size();
  Value* values = st->values;
  for (size_t pc = 0; pc < n;) {
    const Op& op = ops[pc];
    bool ok = true;
    switch (op.kind) {
      case OpKind::kAlign:
        r.pos = AlignUp(r.pos, op.align);
        break;
      case OpKind::kInt:
        ok = RunInt(op, r, values, st);
        break;
      case OpKind::kFloat:
        ok = RunFloat(op, r, values, st);
        break;
      case OpKind::kString:
      case OpKind::kCharArray:
      case OpKind::kCharSeq:
        ok = RunText(op, r, values, st);
        break;
      case OpKind::kCompound:
        ok = RunCompound(prog, op, r, values, st);
        break;
      case OpKind::kVariant:
        if (!RunVariant(prog, op, values, &pc, st)) return false;
        continue;
      case OpKind::kJump:
        pc = size_t(op.arg);
        continue;
    }
    if (!ok) return false;
    ++pc;
  }
  return true;
}

}  // namespace vmtrace::ctf
