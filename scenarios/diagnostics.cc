#include "scenarios/diagnostics.h"

#include <algorithm>
#include <charconv>

namespace ingresslab::scenarios {

std::string Diagnostic::to_string() const {
  std::string out = file;
  if (position.line > 0) {
    out += ":" + std::to_string(position.line);
    if (position.column > 0) out += ":" + std::to_string(position.column);
  }
  if (!out.empty()) out += ": ";
  if (severity == Severity::kWarning) out += "warning: ";
  if (!field_path.empty()) out += field_path + ": ";
  out += message;
  return out;
}

void SourceMap::record(const std::string& path, std::string file, SourcePosition position) {
  positions_.try_emplace(path, std::move(file), position);
}

void SourceMap::record_list(const std::string& path, std::string file,
                            std::vector<SourcePosition> elements) {
  lists_.try_emplace(path, std::move(file), std::move(elements));
}

std::pair<std::string, SourcePosition> SourceMap::find(const std::string& path) const {
  std::string p = path;
  for (;;) {
    if (auto it = positions_.find(p); it != positions_.end()) return it->second;
    // "a.b[12]": element 12 of a list recorded with record_list?
    if (const size_t open = p.rfind('[');
        !lists_.empty() && open != std::string::npos && p.back() == ']' && open + 2 < p.size()) {
      size_t index = 0;
      const char* first = p.data() + open + 1;
      const char* last = p.data() + p.size() - 1;
      const auto [end, ec] = std::from_chars(first, last, index);
      if (ec == std::errc() && end == last) {
        if (auto it = lists_.find(p.substr(0, open));
            it != lists_.end() && index < it->second.second.size()) {
          return {it->second.first, it->second.second[index]};
        }
      }
    }
    // Strip the last component: "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a" -> "".
    const size_t cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p.resize(cut);
  }
  if (auto it = positions_.find(""); it != positions_.end()) return {it->second.first, {}};
  return {};
}

void SourceMap::merge(const SourceMap& other) {
  for (const auto& [k, v] : other.positions_)
    positions_.try_emplace(k, v);
  for (const auto& [k, v] : other.lists_)
    lists_.try_emplace(k, v);
}

void Diagnostics::error(std::string file, SourcePosition pos, std::string path,
                        std::string message) {
  items_.push_back(
      {Diagnostic::Severity::kError, std::move(file), pos, std::move(path), std::move(message)});
}

void Diagnostics::warning(std::string file, SourcePosition pos, std::string path,
                          std::string message) {
  items_.push_back(
      {Diagnostic::Severity::kWarning, std::move(file), pos, std::move(path), std::move(message)});
}

void Diagnostics::error_at(const SourceMap& map, const std::string& path, std::string message) {
  auto [file, pos] = map.find(path);
  error(std::move(file), pos, path, std::move(message));
}

void Diagnostics::warning_at(const SourceMap& map, const std::string& path, std::string message) {
  auto [file, pos] = map.find(path);
  warning(std::move(file), pos, path, std::move(message));
}

bool Diagnostics::has_errors() const {
  return error_count() > 0;
}

size_t Diagnostics::error_count() const {
  return static_cast<size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  }));
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

std::string Diagnostics::to_string() const {
  std::string out;
  for (const Diagnostic& d : items_)
    out += d.to_string() + "\n";
  return out;
}

}  // namespace ingresslab::scenarios
