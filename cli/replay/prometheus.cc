#include "cli/replay/prometheus.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace ingresslab::replay {
namespace {

bool parse_value(std::string_view text, double* out) {
  if (text == "+Inf" || text == "Inf") {
    *out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "-Inf") {
    *out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "NaN") {
    *out = std::nan("");
    return true;
  }
  const std::string s(text);
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end != s.c_str() && *end == '\0';
}

}  // namespace

std::vector<Sample> parse_prometheus(std::string_view text, size_t* bad_lines) {
  std::vector<Sample> out;
  size_t bad = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ')
      line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    s.name = std::string(line.substr(0, i));
    bool ok = !s.name.empty();
    if (ok && i < line.size() && line[i] == '{') {
      ++i;
      while (ok) {
        while (i < line.size() && (line[i] == ' ' || line[i] == ','))
          ++i;
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        const size_t eq = line.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          ok = false;
          break;
        }
        std::string key(line.substr(i, eq - i));
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) {
          ok = false;
          break;
        }
        s.labels.emplace(std::move(key), std::move(value));
        i = j + 1;
      }
    }
    if (ok) {
      while (i < line.size() && line[i] == ' ')
        ++i;
      std::string_view rest = line.substr(i);
      const size_t sp = rest.find(' ');  // an optional timestamp follows
      ok = parse_value(rest.substr(0, sp), &s.value);
    }
    if (ok) {
      out.push_back(std::move(s));
    } else {
      ++bad;
    }
  }
  if (bad_lines) *bad_lines = bad;
  return out;
}

PromHistogram PromHistogram::minus(const PromHistogram& earlier) const {
  PromHistogram d = *this;
  if (earlier.buckets.size() == buckets.size()) {
    for (size_t i = 0; i < buckets.size(); ++i)
      d.buckets[i].second -= earlier.buckets[i].second;
  }
  d.sum -= earlier.sum;
  d.count -= earlier.count;
  return d;
}

void PromHistogram::add(const PromHistogram& other) {
  if (buckets.empty()) {
    *this = other;
    return;
  }
  if (other.buckets.size() == buckets.size()) {
    for (size_t i = 0; i < buckets.size(); ++i)
      buckets[i].second += other.buckets[i].second;
  }
  sum += other.sum;
  count += other.count;
}

double PromHistogram::quantile(double q) const {
  if (buckets.empty()) return 0;
  const double total = buckets.back().second;
  if (total <= 0) return 0;
  const double rank = q * total;
  double prev_bound = 0, prev_count = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const auto [bound, cum] = buckets[i];
    if (cum >= rank) {
      if (std::isinf(bound)) return i > 0 ? buckets[i - 1].first : 0;
      const double in_bucket = cum - prev_count;
      if (in_bucket <= 0) return bound;
      return prev_bound + (bound - prev_bound) * (rank - prev_count) / in_bucket;
    }
    prev_bound = bound;
    prev_count = cum;
  }
  return prev_bound;
}

std::optional<PromHistogram> find_histogram(const std::vector<Sample>& samples,
                                            const std::string& family, const std::string& label,
                                            const std::string& value) {
  PromHistogram h;
  bool any = false;
  auto matches = [&](const Sample& s) {
    const auto it = s.labels.find(label);
    return it != s.labels.end() && it->second == value;
  };
  for (const Sample& s : samples) {
    if (!matches(s)) continue;
    if (s.name == family + "_bucket") {
      const auto le = s.labels.find("le");
      double bound;
      if (le == s.labels.end() || !parse_value(le->second, &bound)) continue;
      h.buckets.emplace_back(bound, s.value);
      any = true;
    } else if (s.name == family + "_sum") {
      h.sum = s.value;
    } else if (s.name == family + "_count") {
      h.count = s.value;
    }
  }
  if (!any) return std::nullopt;
  std::sort(h.buckets.begin(), h.buckets.end());
  return h;
}

}  // namespace ingresslab::replay
