#include "viz/inputs.h"

#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "scenarios/loader.h"

namespace ingresslab::viz {
namespace {

// Results can be big (histograms of every variant), but not unbounded.
constexpr uintmax_t kMaxResultBytes = 512ull * 1024 * 1024;

bool read_file(const std::string& path, uintmax_t max_bytes, std::string* bytes,
               std::string* error) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    *error = path + ": is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) {
    *error = path + ": too large (" + std::to_string(size) + " bytes)";
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  *bytes = std::move(text).str();
  if (bytes->empty()) {
    *error = path + ": empty file";
    return false;
  }
  return true;
}

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool parse_result(const std::string& json, result::RunResult* out, std::string* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(json, out, options);
  if (!status.ok()) {
    *message = std::string(status.message());
    return false;
  }
  return true;
}

}  // namespace

const char* input_kind_name(InputKind kind) {
  switch (kind) {
    case InputKind::kScenario:
      return "scenario";
    case InputKind::kResult:
      return "result";
    case InputKind::kTrace:
      return "trace";
  }
  return "?";
}

bool classify_input(const std::string& path, InputKind* kind, std::string* error) {
  std::string bytes;
  if (!read_file(path, kMaxResultBytes, &bytes, error)) return false;
  std::string lower = path;
  for (char& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ends_with(lower, ".yaml") || ends_with(lower, ".yml") || ends_with(lower, ".textproto") ||
      ends_with(lower, ".txtpb") || ends_with(lower, ".pbtxt")) {
    *kind = InputKind::kScenario;
    return true;
  }
  if (ends_with(lower, ".json")) {
    result::RunResult r;
    std::string ignored;
    const bool is_result = parse_result(bytes, &r, &ignored) &&
                           (r.has_end_to_end() || r.hops_size() > 0 || r.variants_size() > 0);
    *kind = is_result ? InputKind::kResult : InputKind::kScenario;
    return true;
  }
  *kind = scenarios::check_text(bytes).empty() ? InputKind::kScenario : InputKind::kTrace;
  return true;
}

bool read_result_json(const std::string& path, result::RunResult* out, std::string* error) {
  std::string bytes;
  if (!read_file(path, kMaxResultBytes, &bytes, error)) return false;
  std::string message;
  out->Clear();
  if (!parse_result(bytes, out, &message)) {
    *error = path + ": not a RunResult JSON (`ingresslab run --format json`): " + message;
    return false;
  }
  if (!out->has_end_to_end() && out->hops_size() == 0 && out->variants_size() == 0) {
    *error = path + ": not a RunResult JSON: no end_to_end, hops or variants";
    return false;
  }
  return true;
}

}  // namespace ingresslab::viz
