// A TSDL struct compiled into a flat list of decode operations, and the
// interpreter that runs it over packet bytes. Compiling once per event class
// means the per-event work is a linear walk over a small array: no map
// lookups, no allocation, no recursion for the common scalar fields.
#ifndef VMTRACE_ANALYSES_CTF_DECODE_PROGRAM_H_
#define VMTRACE_ANALYSES_CTF_DECODE_PROGRAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/ctf/tsdl_ast.h"

namespace vmtrace::ctf {

// Bits of one packet. Positions are relative to the packet start, which is
// what CTF alignment is relative to.
struct BitReader {
  const uint8_t* base = nullptr;
  uint64_t pos = 0;  // bits
  uint64_t end = 0;  // bits; never beyond the mapped bytes
};

enum class OpKind : uint8_t {
  kAlign,
  kInt,
  kFloat,
  kString,
  kCharArray,
  kCharSeq,
  kCompound,
  kVariant,
  kJump
};

enum OpFlags : uint8_t {
  kOpSigned = 1,
  kOpBigEndian = 2,
  kOpClock = 4,
  kOpRoleId = 8
};

struct Op {
  OpKind kind = OpKind::kAlign;
  uint8_t size = 0;   // kInt/kFloat bits
  uint8_t flags = 0;  // OpFlags
  uint32_t align = 1;
  int32_t slot = -1;  // value written, -1 for none
  // kCharArray: byte count; kCharSeq/kCompound: slot holding the length or
  // variant tag (-1: resolve by name at run time); kJump: target op;
  // kVariant: index into Program::variants.
  int64_t arg = 0;
  const TypeNode* type = nullptr;  // kInt: enum labels/base; kCompound
};

struct VariantCase {
  int64_t lo, hi;
  uint32_t target;
};

struct VariantTable {
  int32_t tag_slot;
  bool tag_signed;
  std::vector<VariantCase> cases;
};

struct Program {
  std::vector<Op> ops;
  std::vector<VariantTable> variants;
  std::vector<std::string> slot_names;        // raw TSDL names, one per slot
  ByteOrder byte_order = ByteOrder::kLittle;  // the trace's

  // Slot of the last leaf with this name, -1 if none.
  int FindSlot(std::string_view name) const;
};

// Adds `type` (a struct) to `prog`. inline_all: nested structs and variants
// are flattened with one slot per scalar leaf (packet header/context, event
// header); otherwise each direct member gets one slot and compound members
// are decoded by the slow path into formatted text. header: ints named "id"
// set the event id, clock-mapped ints update the stream clock.
Status CompileStruct(const TypeNode& type, bool inline_all, bool header,
                     Program* prog);

// Mutable state threaded through a run.
struct RunState {
  Value* values = nullptr;  // Program slot count entries
  uint64_t clock = 0;
  uint64_t id = 0;
  bool has_id = false;
  std::string* scratch = nullptr;  // formatted compound values
  // Slots whose text lives in *scratch: Value::u holds the offset until the
  // run ends, because scratch may move while it grows.
  std::vector<int32_t>* fixups = nullptr;
  const char* error = nullptr;  // set when Run returns false
};

// Decodes from r.pos on. False (state->error set) if the data ends early or
// is inconsistent; r.pos is then unspecified.
bool RunProgram(const Program& prog, BitReader& r, RunState* state);

// Formatting helpers shared with value_format.cc.
void AppendInteger(std::string* out, uint64_t raw, bool is_signed, bool hex);
void AppendQuoted(std::string* out, std::string_view s);

}  // namespace vmtrace::ctf

#endif  // VMTRACE_ANALYSES_CTF_DECODE_PROGRAM_H_
