#include "scenarios/loader.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "scenarios/json_syntax.h"
#include "scenarios/manifests.h"
#include "scenarios/validate.h"
#include "scenarios/yaml_reader.h"

namespace ingresslab::scenarios {
namespace {

namespace fs = std::filesystem;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class TextprotoErrors : public google::protobuf::io::ErrorCollector {
 public:
  TextprotoErrors(std::string file, Diagnostics* d) : file_(std::move(file)), d_(d) {}
  void AddError(int line, int column, const std::string& message) override {
    d_->error(file_, {line + 1, column + 1}, "", message);
  }
  void AddWarning(int line, int column, const std::string& message) override {
    d_->warning(file_, {line + 1, column + 1}, "", message);
  }

 private:
  std::string file_;
  Diagnostics* d_;
};

// yaml-cpp recurses once per nesting level, without a limit of its own: refuse input nested
// deeper than it can take, before parsing. Counted: levels of flow brackets ([ {) and block
// indentation (leading spaces and `- `). Skipped, as their text may hold anything: comments,
// quoted scalars, and the content of block scalars (`|`, `>`). Brackets inside plain scalars of
// block context (`path: /a[b`) are text too.
//
// This is a simplified YAML scanner. Where it cannot be sure, it counts (a false "too deep" needs
// 128 unbalanced brackets or 512 columns of indentation, which no scenario has), while anything
// it skips is text the parser does not nest: a quoted scalar is only assumed to run to the end of
// its line, and one only starts where a YAML value can (not at the apostrophe in `it's`).
// Returns false, with a diagnostic positioned at the offending character, if `text` is too deep.
bool check_nesting(std::string_view text, const std::string& name, Diagnostics* diagnostics) {
  constexpr int kMaxFlowDepth = 128;
  constexpr size_t kMaxIndent = 512;
  // kToken: a value or an indicator may start here. kPlain: inside a plain (unquoted) scalar.
  // kAfter: after a quoted scalar, an alias or a closing bracket: only `:`, `,` or a closer.
  enum class State { kToken, kPlain, kAfter };
  const auto blank = [&](size_t k) {
    return k >= text.size() || text[k] == ' ' || text[k] == '\t' || text[k] == '\n' ||
           text[k] == '\r';
  };
  const auto flow_indicator = [](char c) {
    return c == ',' || c == '[' || c == ']' || c == '{' || c == '}';
  };
  int depth = 0;
  int line = 1;
  size_t line_start = 0;
  size_t indent = 0;  // leading spaces and '-' of the current line
  bool at_line_start = true;
  State state = State::kToken;
  // Block scalars: the indentation of the line with `|` or `>` (its content is indented more),
  // and the content's indentation once its first line is seen.
  bool block_header = false;  // this line ends with a block scalar header
  size_t header_indent = 0;
  bool in_block = false;
  size_t block_indent = 0;  // 0 = not yet known
  const auto fail = [&](size_t at, const std::string& message) {
    diagnostics->error(name, {line, static_cast<int>(at - line_start) + 1}, "", message);
    return false;
  };
  size_t i = 0;
  // Opens a flow collection at i; false if that is one level too many.
  const auto open = [&] { return ++depth <= kMaxFlowDepth; };
  const auto too_deep = [&] {
    return fail(
        i, "nested too deeply (more than " + std::to_string(kMaxFlowDepth) + " levels of [ and {)");
  };
  while (i < text.size()) {
    if (i == line_start && in_block) {
      size_t j = i;
      while (j < text.size() && text[j] == ' ')
        ++j;
      const size_t spaces = j - i;
      const bool empty_line = j == text.size() || text[j] == '\n' || text[j] == '\r';
      if (empty_line || (block_indent == 0 ? spaces > header_indent : spaces >= block_indent)) {
        if (!empty_line && block_indent == 0) block_indent = spaces;
        while (j < text.size() && text[j] != '\n')
          ++j;
        i = j;  // the line break, handled below
      } else {
        in_block = false;  // a less indented line ends the block scalar
      }
    }
    if (i >= text.size()) break;
    const char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      indent = 0;
      at_line_start = true;
      state = State::kToken;
      if (block_header) {
        in_block = true;
        block_indent = 0;
        block_header = false;
      }
      ++i;
      continue;
    }
    if (at_line_start && (c == ' ' || c == '-')) {
      if (++indent > kMaxIndent) {
        return fail(
            i, "nested too deeply (indentation over " + std::to_string(kMaxIndent) + " columns)");
      }
      ++i;
      continue;
    }
    at_line_start = false;
    // A comment: '#' at the start of a line or after whitespace, outside quotes; to the line end.
    if (c == '#' && (i == line_start || text[i - 1] == ' ' || text[i - 1] == '\t')) {
      while (i < text.size() && text[i] != '\n')
        ++i;
      continue;
    }
    switch (state) {
      case State::kToken:
        if (c == '"' || c == '\'') {
          // To the closing quote (\" escapes in double quotes, '' in single), or the line end.
          size_t j = i + 1;
          while (j < text.size() && text[j] != '\n') {
            if (c == '"' && text[j] == '\\') {
              j += 2;
              continue;
            }
            if (text[j] == c) {
              if (c == '\'' && j + 1 < text.size() && text[j + 1] == '\'') {
                j += 2;
                continue;
              }
              ++j;
              break;
            }
            ++j;
          }
          i = std::min(j, text.size());
          state = State::kAfter;
          continue;
        }
        if (c == '[' || c == '{') {
          if (!open()) return too_deep();
        } else if (c == ']' || c == '}') {
          if (depth > 0) --depth;
          state = State::kAfter;
        } else if (c == ',' || c == ' ' || c == '\t' || c == '\r') {
          // still before a value
        } else if ((c == '-' || c == '?' || c == ':') && blank(i + 1)) {
          // an indicator; a value may follow
        } else if ((c == '|' || c == '>') && depth == 0) {
          block_header = true;
          header_indent = indent;
          state = State::kAfter;
        } else if (c == '&' || c == '!' || c == '*') {
          // An anchor or tag (a value follows) or an alias (none does): skip its name.
          while (i + 1 < text.size() && !blank(i + 1) &&
                 !(depth > 0 && flow_indicator(text[i + 1])))
            ++i;
          if (c == '*') state = State::kAfter;
        } else {
          state = State::kPlain;
        }
        break;
      case State::kPlain:
        if (c == ':' && (blank(i + 1) || (depth > 0 && flow_indicator(text[i + 1])))) {
          state = State::kToken;
        } else if (depth > 0 && c == ',') {
          state = State::kToken;
        } else if (depth > 0 && (c == '[' || c == '{')) {
          if (!open()) return too_deep();
          state = State::kToken;
        } else if (depth > 0 && (c == ']' || c == '}')) {
          --depth;
          state = State::kAfter;
        }
        break;
      case State::kAfter:
        if (c == ':' || c == ',') {
          state = State::kToken;
        } else if (c == ']' || c == '}') {
          if (depth > 0) --depth;
        } else if (c == '[' || c == '{') {
          if (!open()) return too_deep();
          state = State::kToken;
        } else if (c != ' ' && c != '\t' && c != '\r') {
          state = State::kPlain;
        }
        break;
    }
    ++i;
  }
  return true;
}

void parse_into(std::string_view text, Format format, const std::string& name,
                LoadedScenario* out) {
  if (std::string problem = check_text(text); !problem.empty()) {
    out->diagnostics.error(name, {}, "", problem);
    return;
  }
  if (format == Format::kTextproto) {
    google::protobuf::TextFormat::Parser parser;
    TextprotoErrors errors(name, &out->diagnostics);
    parser.RecordErrorsTo(&errors);
    if (!parser.ParseFromString(std::string(text), &out->scenario) &&
        !out->diagnostics.has_errors()) {
      out->diagnostics.error(name, {}, "", "cannot parse textproto");
    }
    return;
  }
  if (format == Format::kJson) {
    // yaml-cpp reads JSON as YAML, which accepts trailing commas, comments and more.
    if (const std::optional<JsonSyntaxError> e = check_json_syntax(text); e) {
      out->diagnostics.error(name, e->position, "", "JSON syntax error: " + e->message);
      return;
    }
  }
  if (!check_nesting(text, name, &out->diagnostics)) return;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    out->diagnostics.error(
        name, {e.mark.line + 1, e.mark.column + 1}, "",
        std::string(format == Format::kJson ? "JSON" : "YAML") + " syntax error: " + e.msg);
    return;
  } catch (const YAML::Exception& e) {
    out->diagnostics.error(name, {}, "", std::string("cannot read: ") + e.what());
    return;
  }
  if (!root.IsDefined() || root.IsNull()) {
    out->diagnostics.error(name, {}, "", "the file holds no scenario (empty document)");
    return;
  }
  if (!root.IsMap()) {
    out->diagnostics.error(name, {root.Mark().line + 1, root.Mark().column + 1}, "",
                           "a scenario must be a mapping of fields (cluster:, services:, …)");
    return;
  }
  YamlReadOptions options;
  options.file = name;
  read_yaml_message(root, &out->scenario, options, &out->diagnostics, &out->source_map);
}

}  // namespace

std::string check_text(std::string_view bytes) {
  if (bytes.empty()) return "the file is empty";
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == 0)
      return "the file is not text (contains a NUL byte at offset " + std::to_string(i) + ")";
    int extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return "the file is not UTF-8 text (invalid byte 0x" +
             std::string(1, "0123456789abcdef"[c >> 4]) +
             std::string(1, "0123456789abcdef"[c & 15]) + " at offset " + std::to_string(i) + ")";
    }
    if (i + static_cast<size_t>(extra) >= bytes.size() && extra > 0) {
      return "the file is not UTF-8 text (truncated sequence at offset " + std::to_string(i) + ")";
    }
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(bytes[i + static_cast<size_t>(k)]) & 0xC0) != 0x80) {
        return "the file is not UTF-8 text (invalid sequence at offset " + std::to_string(i) + ")";
      }
    }
    i += static_cast<size_t>(extra) + 1;
  }
  return {};
}

Format format_for_path(std::string_view path) {
  if (ends_with(path, ".json")) return Format::kJson;
  if (ends_with(path, ".textproto") || ends_with(path, ".txtpb") || ends_with(path, ".pbtxt")) {
    return Format::kTextproto;
  }
  return Format::kYaml;
}

LoadedScenario load_scenario_text(std::string_view text, Format format,
                                  const std::string& display_name, const std::string& base_dir) {
  LoadedScenario out;
  out.path = display_name;
  out.base_dir = base_dir;
  parse_into(text, format, display_name, &out);
  if (out.diagnostics.has_errors()) return out;
  import_scenario_manifests(&out);
  // Variant names are checked once per file: resolve_scenario() drops the variants.
  validate_variants(out.scenario, out.source_map, &out.diagnostics);
  return out;
}

LoadedScenario load_scenario_file(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  const std::string base = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  if (!fs::exists(p, ec)) {
    LoadedScenario out;
    out.path = path;
    out.diagnostics.error(path, {}, "", "no such file");
    return out;
  }
  if (fs::is_directory(p, ec)) {
    LoadedScenario out;
    out.path = path;
    out.diagnostics.error(path, {}, "", "is a directory, not a scenario file");
    return out;
  }
  const auto size = fs::file_size(p, ec);
  if (!ec && size > kMaxFileBytes) {
    LoadedScenario out;
    out.path = path;
    out.diagnostics.error(path, {}, "",
                          "file too large (" + std::to_string(size) + " bytes; the limit is " +
                              std::to_string(kMaxFileBytes) + ")");
    return out;
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    LoadedScenario out;
    out.path = path;
    out.diagnostics.error(path, {}, "", "cannot open for reading");
    return out;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return load_scenario_text(buffer.str(), format_for_path(path), path, base);
}

ResolvedScenario resolve_scenario(
    const LoadedScenario& loaded, const std::string& variant,
    const std::vector<std::pair<std::string, std::string>>& assignments) {
  ResolvedScenario out;
  out.variant = variant;
  out.diagnostics.append(loaded.diagnostics);
  if (loaded.diagnostics.has_errors()) return out;
  out.scenario = loaded.scenario;
  if (!variant.empty()) {
    const scenario::Variant* v = nullptr;
    for (const auto& candidate : loaded.scenario.variants()) {
      if (candidate.name() == variant) v = &candidate;
    }
    if (v == nullptr) {
      std::string names;
      for (const auto& candidate : loaded.scenario.variants()) {
        names += (names.empty() ? "" : ", ") + candidate.name();
      }
      out.diagnostics.error(
          loaded.path, {}, "variants",
          "no variant named '" + variant + "'" +
              (names.empty() ? " (the scenario has none)" : " (it has: " + names + ")"));
      return out;
    }
    // Apply in path order: protobuf maps have no order, and a sorted order is reproducible.
    std::vector<std::pair<std::string, std::string>> sets(v->set().begin(), v->set().end());
    std::sort(sets.begin(), sets.end());
    const int index = static_cast<int>(v - &loaded.scenario.variants(0));
    for (const auto& [path, value] : sets) {
      if (std::string e = assign_field_path(&out.scenario, path, value); !e.empty()) {
        out.diagnostics.error_at(loaded.source_map,
                                 "variants[" + std::to_string(index) + "].set[" + path + "]", e);
      }
    }
  }
  for (const auto& [path, value] : assignments) {
    if (std::string e = assign_field_path(&out.scenario, path, value); !e.empty()) {
      out.diagnostics.error("--set", {}, "", path + "=" + value + ": " + e);
    }
  }
  if (out.diagnostics.has_errors()) return out;
  out.scenario.clear_variants();
  apply_defaults(&out.scenario);
  normalize_scenario(&out.scenario, loaded.path);
  validate_scenario(out.scenario, loaded.source_map, &out.diagnostics);
  return out;
}

}  // namespace ingresslab::scenarios
