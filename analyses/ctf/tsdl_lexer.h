// Tokenizer for the CTF 1.8 Trace Stream Description Language.
#ifndef VMTRACE_ANALYSES_CTF_TSDL_LEXER_H_
#define VMTRACE_ANALYSES_CTF_TSDL_LEXER_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace vmtrace::ctf {

struct Token {
  enum Kind : uint8_t { kIdent, kNumber, kString, kPunct, kEnd };
  Kind kind = kEnd;
  std::string text;  // kString: unescaped content; kPunct: the symbol
  int line = 0;
};

// Splits TSDL into tokens; comments are dropped. Punctuation tokens are
// "{", "}", "(", ")", "[", "]", ";", ",", "=", ":", ":=", "<", ">", ".",
// "...", "-", "+", "*". The list always ends with one kEnd token.
StatusOr<std::vector<Token>> Tokenize(std::string_view text);

}  // namespace vmtrace::ctf

#endif  // VMTRACE_ANALYSES_CTF_TSDL_LEXER_H_
