// Metadata reading (plain or packetized) and TSDL parsing into the type
// model of tsdl_ast.h.
#ifndef VMTRACE_ANALYSES_CTF_TSDL_PARSER_H_
#define VMTRACE_ANALYSES_CTF_TSDL_PARSER_H_

#include <string>
#include <string_view>

#include "analyses/ctf/tsdl_ast.h"
#include "base/status.h"

namespace vmtrace::ctf {

// Returns the TSDL text of a metadata file. NotFound if it cannot be opened,
// Unimplemented if it is neither plain ("/* CTF") nor packetized CTF
// metadata, DataLoss if the packetized framing is corrupt.
StatusOr<std::string> ReadMetadataText(const std::string& path);

// Cheap sniff of the first bytes: plain "/* CTF" text or the packetized
// metadata magic in either byte order.
bool IsCtfMetadataFile(const std::string& path);

// Parses TSDL. DataLoss("TSDL line N: ...") on syntax errors or references
// to unknown types.
StatusOr<Metadata> ParseTsdl(std::string_view text);

}  // namespace vmtrace::ctf

#endif  // VMTRACE_ANALYSES_CTF_TSDL_PARSER_H_
