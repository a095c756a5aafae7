#include "analyses/ctf/tsdl_lexer.h"

#include <cctype>

namespace vmtrace::ctf {

namespace {

bool IsIdentStart(char c) { return std::isalpha(uint8_t(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(uint8_t(c)) || c == '_'; }

}  // namespace

StatusOr<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  int line = 1;
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    char c = s[i];
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (std::isspace(uint8_t(c)) || c == '\0') {
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      size_t end = s.find("*/", i + 2);
      if (end == std::string_view::npos) {
        return DataLoss("TSDL line " + std::to_string(line) +
                        ": unterminated comment");
      }
      for (size_t k = i; k < end; ++k) line += s[k] == '\n';
      i = end + 2;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n') ++i;
      continue;
    }
    Token t;
    t.line = line;
    if (IsIdentStart(c)) {
      size_t b = i;
      while (i < n && IsIdentChar(s[i])) ++i;
      t.kind = Token::kIdent;
      t.text.assign(s.substr(b, i - b));
    } else if (std::isdigit(uint8_t(c))) {
      size_t b = i;
      // Hex digits and integer suffixes (U, L) are swallowed; the parser
      // interprets the text.
      while (i < n && (std::isalnum(uint8_t(s[i])))) ++i;
      t.kind = Token::kNumber;
      t.text.assign(s.substr(b, i - b));
    } else if (c == '"' || c == '\'') {
      char q = c;
      ++i;
      t.kind = Token::kString;
      while (i < n && s[i] != q) {
        if (s[i] == '\\' && i + 1 < n) {
          char e = s[i + 1];
          t.text.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
          i += 2;
          continue;
        }
        if (s[i] == '\n') ++line;
        t.text.push_back(s[i++]);
      }
      if (i >= n) {
        return DataLoss("TSDL line " + std::to_string(t.line) +
                        ": unterminated string");
      }
      ++i;
    } else {
      t.kind = Token::kPunct;
      if (c == ':' && i + 1 < n && s[i + 1] == '=') {
        t.text = ":=";
        i += 2;
      } else if (c == '.' && s.substr(i, 3) == "...") {
        t.text = "...";
        i += 3;
      } else if (std::string_view("{}()[];,=:<>.-+*").find(c) !=
                 std::string_view::npos) {
        t.text = std::string(1, c);
        ++i;
      } else {
        return DataLoss("TSDL line " + std::to_string(line) +
                        ": unexpected character '" + std::string(1, c) + "'");
      }
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.line = line;
  out.push_back(end);
  return out;
}

}  // namespace vmtrace::ctf
