// Fuzzes TSDL metadata text: tokenizing, parsing, and compiling every scope
// type into decode programs as Trace::Open does.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "analyses/ctf/decode_program.h"
#include "analyses/ctf/tsdl_parser.h"

namespace {

void Compile(const vmtrace::ctf::TypePtr& type, bool inline_all, bool header) {
  if (!type) return;
  vmtrace::ctf::Program prog;
  (void)vmtrace::ctf::CompileStruct(*type, inline_all, header, &prog);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmtrace::ctf;
  auto md =
      ParseTsdl(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!md.ok()) return 0;
  Compile(md->packet_header, true, false);
  for (const StreamDecl& s : md->streams) {
    Compile(s.packet_context, true, false);
    Compile(s.event_header, true, true);
    Compile(s.event_context, false, false);
  }
  for (const EventDecl& e : md->events) {
    Compile(e.context, false, false);
    Compile(e.fields, false, false);
  }
  return 0;
}
