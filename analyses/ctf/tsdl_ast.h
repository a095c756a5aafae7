// The TSDL type model produced by the parser and consumed by the decoder
// compiler. Types are immutable once built and shared by pointer, so a
// typealias used by a thousand fields is stored once.
//
// Nesting is bounded: a type is at most kMaxTypeDepth levels deep (the
// parser refuses deeper metadata), so every recursive walk over a type --
// compiling, decoding, formatting, destroying -- has a bounded stack.
#ifndef VMTRACE_ANALYSES_CTF_TSDL_AST_H_
#define VMTRACE_ANALYSES_CTF_TSDL_AST_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vmtrace::ctf {

enum class ByteOrder : uint8_t { kDefault, kLittle, kBig };

// Levels of struct/variant/array/sequence/enum nesting a type may have, the
// type itself included. LTTng's deepest types (the event header's
// struct > variant > struct > integer) use 4.
inline constexpr uint32_t kMaxTypeDepth = 64;

struct TypeNode;
using TypePtr = std::shared_ptr<const TypeNode>;

struct EnumEntry {
  std::string label;
  int64_t lo = 0, hi = 0;  // inclusive; compared as unsigned when !is_signed
};

struct FieldDecl {
  std::string name;  // as written in TSDL (with its leading '_')
  TypePtr type;
};

struct TypeNode {
  enum Kind : uint8_t {
    kInt,
    kEnum,
    kFloat,
    kString,
    kStruct,
    kVariant,
    kArray,
    kSequence
  };
  Kind kind = kInt;
  // kInt / kEnum (the container) / kFloat.
  uint32_t size = 0;   // bits; kFloat: exp_dig + mant_dig
  uint32_t align = 1;  // bits; kStruct: the explicit align() minimum
  bool is_signed = false;
  bool text = false;  // integer with encoding UTF8/ASCII: arrays are strings
  uint8_t base = 10;
  ByteOrder byte_order = ByteOrder::kDefault;
  std::string clock;               // "map = clock.X.value": X
  std::vector<EnumEntry> entries;  // kEnum
  std::vector<FieldDecl> fields;   // kStruct, kVariant options
  std::string tag;                 // kVariant: the tag field path
  TypePtr elem;                    // kArray, kSequence
  uint64_t length = 0;             // kArray
  std::string length_ref;          // kSequence: the length field path
  // Set by the parser once the node and its children are complete (see
  // Seal in tsdl_parser.cc), so that no query below recurses.
  uint32_t depth = 1;        // nesting levels, this one included
  uint32_t value_align = 1;  // what Alignment() returns

  // Alignment in bits of a value of this type (structs: max of members).
  uint32_t Alignment() const { return value_align; }
  // Label of an enum value, nullptr if none matches.
  const std::string* Label(uint64_t raw) const;
};

struct ClockDecl {
  std::string name;
  uint64_t freq = 1000000000;
  int64_t offset_s = 0;
  int64_t offset = 0;  // cycles
};

struct EventDecl {
  std::string name;
  uint64_t id = 0;
  uint64_t stream_id = 0;
  TypePtr context;  // may be null
  TypePtr fields;   // may be null
};

struct StreamDecl {
  uint64_t id = 0;
  TypePtr packet_context, event_header, event_context;  // may be null
};

struct Metadata {
  ByteOrder byte_order = ByteOrder::kLittle;
  TypePtr packet_header;  // may be null
  std::map<std::string, std::string> env;
  std::vector<ClockDecl> clocks;
  std::vector<StreamDecl> streams;
  std::vector<EventDecl> events;
};

}  // namespace vmtrace::ctf

#endif  // VMTRACE_ANALYSES_CTF_TSDL_AST_H_
