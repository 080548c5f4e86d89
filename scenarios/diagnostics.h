// Errors and warnings about a user's files, with where they are.
//
// Every message a user can cause names the file, the line and column when the format has them,
// and the field path (`services[1].pod.service_time.lognormal.p99`), and says what was expected:
//   cafe.yaml:42:7: services[1].pod.service_time.lognormal.p99: must be > mean (got 2ms <= 5ms)
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

namespace ingresslab::scenarios {

// 1-based line and column; 0 = unknown.
struct SourcePosition {
  int line = 0;
  int column = 0;
};

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string file;
  SourcePosition position;
  std::string field_path;  // empty when the problem is not about one field
  std::string message;

  // "file:line:col: path: message" (parts that are unknown are left out); warnings say so.
  std::string to_string() const;
};

// Where each field path was written, so checks made after parsing can still point at a line.
class SourceMap {
 public:
  // The first position recorded for a path is kept.
  void record(const std::string& path, std::string file, SourcePosition position);
  // The positions of the elements of the list at `path` (`path[0]`, `path[1]`, ...), kept as one
  // entry: lists of plain values can hold millions of elements.
  void record_list(const std::string& path, std::string file, std::vector<SourcePosition> elements);
  // The position of `path`, or of its nearest recorded ancestor; {file, {0,0}} if none.
  std::pair<std::string, SourcePosition> find(const std::string& path) const;
  void merge(const SourceMap& other);

 private:
  std::unordered_map<std::string, std::pair<std::string, SourcePosition>> positions_;
  std::unordered_map<std::string, std::pair<std::string, std::vector<SourcePosition>>> lists_;
};

class Diagnostics {
 public:
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void error(std::string file, SourcePosition pos, std::string path, std::string message);
  void warning(std::string file, SourcePosition pos, std::string path, std::string message);
  // Errors/warnings about a field whose position is looked up in `map`.
  void error_at(const SourceMap& map, const std::string& path, std::string message);
  void warning_at(const SourceMap& map, const std::string& path, std::string message);

  const std::vector<Diagnostic>& items() const { return items_; }
  bool has_errors() const;
  size_t error_count() const;
  void append(const Diagnostics& other);
  // All diagnostics, one per line.
  std::string to_string() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace ingresslab::scenarios
