#include "scenarios/json_syntax.h"

#include <cctype>
#include <vector>

namespace ingresslab::scenarios {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A pushdown checker: one pass, a stack of open brackets instead of recursion.
class Checker {
 public:
  explicit Checker(std::string_view text) : text_(text) {}

  std::optional<JsonSyntaxError> run() {
    if (text_.starts_with("\xEF\xBB\xBF")) i_ = 3;
    for (;;) {
      skip_whitespace();
      if (i_ >= text_.size()) {
        if (next_ == Next::kEnd) return std::nullopt;
        if (stack_.empty()) return fail("no JSON value");
        return fail(std::string("unexpected end of input (unclosed '") + stack_.back() + "')");
      }
      if (auto problem = step(); problem) return problem;
    }
  }

 private:
  // What may come next: a value (at the start, after '[', ':' or ',' in a list), a key (after
  // '{' or ',' in an object), the ':' after a key, ',' or the closing bracket after a value, or
  // nothing but whitespace after the top-level value.
  enum class Next { kValue, kKey, kColon, kCommaOrClose, kEnd };

  std::optional<JsonSyntaxError> step() {
    const char c = text_[i_];
    const bool after_open = after_open_;
    const bool after_comma = after_comma_;
    after_open_ = after_comma_ = false;
    switch (next_) {
      case Next::kEnd:
        return fail("unexpected " + describe() + " after the JSON value");
      case Next::kValue:
        if (c == ']' && after_open) return close();
        if ((c == ']' || c == '}') && after_comma) {
          return fail(std::string("trailing comma before '") + c + "'");
        }
        if (c == '{' || c == '[') {
          stack_.push_back(c);
          ++i_;
          next_ = c == '{' ? Next::kKey : Next::kValue;
          after_open_ = true;
          return std::nullopt;
        }
        return scalar();
      case Next::kKey:
        if (c == '}' && after_open) return close();
        if (c == '}' && after_comma) return fail("trailing comma before '}'");
        if (c != '"') return fail("expected a key in double quotes, got " + describe());
        if (auto problem = string(); problem) return problem;
        next_ = Next::kColon;
        return std::nullopt;
      case Next::kColon:
        if (c != ':') return fail("expected ':' after the key, got " + describe());
        ++i_;
        next_ = Next::kValue;
        return std::nullopt;
      case Next::kCommaOrClose: {
        const char closing = stack_.back() == '{' ? '}' : ']';
        if (c == ',') {
          ++i_;
          next_ = stack_.back() == '{' ? Next::kKey : Next::kValue;
          after_comma_ = true;
          return std::nullopt;
        }
        if (c != closing) {
          return fail(std::string("expected ',' or '") + closing + "', got " + describe());
        }
        return close();
      }
    }
    return fail("internal: unknown state");
  }

  // Consumes the closing bracket at i_.
  std::optional<JsonSyntaxError> close() {
    ++i_;
    stack_.pop_back();
    value_done();
    return std::nullopt;
  }

  void value_done() { next_ = stack_.empty() ? Next::kEnd : Next::kCommaOrClose; }

  // A string, number, true, false or null at i_.
  std::optional<JsonSyntaxError> scalar() {
    const char c = text_[i_];
    std::optional<JsonSyntaxError> problem;
    if (c == '"') {
      problem = string();
    } else if (c == '-' || is_digit(c)) {
      problem = number();
    } else if (c == 't' || c == 'f' || c == 'n') {
      problem = literal();
    } else if (c == '\'') {
      return fail("strings must be in double quotes");
    } else {
      return fail("expected a value, got " + describe());
    }
    if (!problem) value_done();
    return problem;
  }

  std::optional<JsonSyntaxError> string() {
    ++i_;  // the opening quote
    while (i_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[i_]);
      if (c == '"') {
        ++i_;
        return std::nullopt;
      }
      if (c < 0x20) {
        return fail(c == '\n' ? "unterminated string (a line break must be written \\n)"
                              : "control character in a string (write it as \\u00XX)");
      }
      if (c == '\\') {
        const size_t backslash = i_++;
        if (i_ >= text_.size()) break;
        const char e = text_[i_];
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k) {
            if (i_ + static_cast<size_t>(k) >= text_.size() ||
                !is_hex(text_[i_ + static_cast<size_t>(k)])) {
              return fail_at(backslash, "invalid \\u escape: expected 4 hexadecimal digits");
            }
          }
          i_ += 4;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return fail_at(backslash, "invalid escape '\\" + std::string(1, e) + "'");
        }
      }
      ++i_;
    }
    return fail("unterminated string");
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  std::optional<JsonSyntaxError> number() {
    const size_t start = i_;
    const auto digits = [&] {
      const size_t from = i_;
      while (i_ < text_.size() && is_digit(text_[i_]))
        ++i_;
      return i_ - from;
    };
    if (text_[i_] == '-') ++i_;
    const size_t int_start = i_;
    const size_t int_digits = digits();
    if (int_digits == 0) return fail_at(start, "invalid number: a digit must follow '-'");
    if (int_digits > 1 && text_[int_start] == '0') {
      return fail_at(start, "invalid number: no leading zeros");
    }
    if (i_ < text_.size() && text_[i_] == '.') {
      ++i_;
      if (digits() == 0) return fail_at(start, "invalid number: a digit must follow '.'");
    }
    if (i_ < text_.size() && (text_[i_] == 'e' || text_[i_] == 'E')) {
      ++i_;
      if (i_ < text_.size() && (text_[i_] == '+' || text_[i_] == '-')) ++i_;
      if (digits() == 0) return fail_at(start, "invalid number: a digit must follow the exponent");
    }
    return std::nullopt;
  }

  std::optional<JsonSyntaxError> literal() {
    for (std::string_view word : {"true", "false", "null"}) {
      if (text_.substr(i_, word.size()) == word) {
        const size_t end = i_ + word.size();
        // `nullx` is not `null` followed by something: say which word is wrong.
        if (end < text_.size() &&
            (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_')) {
          break;
        }
        i_ = end;
        return std::nullopt;
      }
    }
    size_t end = i_;
    while (end < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_'))
      ++end;
    return fail("unexpected word '" + std::string(text_.substr(i_, end - i_)) +
                "' (strings must be in double quotes; literals are true, false and null)");
  }

  void skip_whitespace() {
    while (i_ < text_.size() &&
           (text_[i_] == ' ' || text_[i_] == '\t' || text_[i_] == '\n' || text_[i_] == '\r'))
      ++i_;
  }

  // How the character at i_ reads in a message.
  std::string describe() const {
    const auto c = static_cast<unsigned char>(text_[i_]);
    if (c == '/' && i_ + 1 < text_.size() && (text_[i_ + 1] == '/' || text_[i_ + 1] == '*')) {
      return "a comment (JSON has none)";
    }
    if (c < 0x20) return "a control character";
    if (c >= 0x80) return "a non-ASCII character";
    return "'" + std::string(1, static_cast<char>(c)) + "'";
  }

  std::optional<JsonSyntaxError> fail(std::string message) const {
    return fail_at(i_, std::move(message));
  }

  // Positions count characters, not bytes: UTF-8 continuation bytes are not columns.
  std::optional<JsonSyntaxError> fail_at(size_t offset, std::string message) const {
    SourcePosition p{1, 1};
    for (size_t k = 0; k < offset && k < text_.size(); ++k) {
      const auto c = static_cast<unsigned char>(text_[k]);
      if (c == '\n') {
        ++p.line;
        p.column = 1;
      } else if ((c & 0xC0) != 0x80 && !(k < 3 && text_.starts_with("\xEF\xBB\xBF"))) {
        ++p.column;
      }
    }
    return JsonSyntaxError{p, std::move(message)};
  }

  std::string_view text_;
  size_t i_ = 0;
  Next next_ = Next::kValue;
  bool after_open_ = false;   // the last token was '[' or '{'
  bool after_comma_ = false;  // the last token was ','
  std::vector<char> stack_;   // open brackets
};

}  // namespace

std::optional<JsonSyntaxError> check_json_syntax(std::string_view text) {
  return Checker(text).run();
}

}  // namespace ingresslab::scenarios
