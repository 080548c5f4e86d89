#include "models/arrivals.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <numeric>
#include <vector>

#include "scenarios/ingress_convert.h"
#include "scenarios/units.h"

namespace ingresslab::models {
namespace {

using engine::Duration;
using engine::Rng;
using engine::Time;

double seconds(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) + d.nanos() * 1e-9;
}

Duration exponential_gap(double rate, Rng& rng) {
  return Duration::from_seconds(-std::log(rng.uniform_open01()) / rate);
}

class Poisson final : public ArrivalProcess {
 public:
  explicit Poisson(double rate) : rate_(rate) {}
  Duration next_gap(Time, Rng& rng) override { return exponential_gap(rate_, rng); }
  double mean_rate() const override { return rate_; }

 private:
  double rate_;
};

class Constant final : public ArrivalProcess {
 public:
  explicit Constant(double rate) : rate_(rate), gap_(Duration::from_seconds(1.0 / rate)) {}
  Duration next_gap(Time, Rng&) override { return gap_; }
  double mean_rate() const override { return rate_; }

 private:
  double rate_;
  Duration gap_;
};

// Two-state MMPP: Poisson at rate x (on+off)/on during on periods, silent during off periods;
// exponential period lengths. The long-run mean rate is `rate`.
class OnOff final : public ArrivalProcess {
 public:
  OnOff(double rate, double mean_on_s, double mean_off_s)
      : rate_(rate),
        on_rate_(rate * (mean_on_s + mean_off_s) / mean_on_s),
        mean_on_s_(mean_on_s),
        mean_off_s_(mean_off_s) {}
  Duration next_gap(Time now, Rng& rng) override {
    if (!started_) {
      started_ = true;
      // Start in the on state with probability on/(on+off) (stationary).
      on_ = rng.uniform01() < mean_on_s_ / (mean_on_s_ + mean_off_s_);
      switch_at_ =
          now.to_seconds() + -std::log(rng.uniform_open01()) * (on_ ? mean_on_s_ : mean_off_s_);
    }
    double t = now.to_seconds();
    for (;;) {
      if (on_) {
        const double candidate = t + -std::log(rng.uniform_open01()) / on_rate_;
        if (candidate < switch_at_) return Duration::from_seconds(candidate - now.to_seconds());
        t = switch_at_;  // memoryless: restart the draw at the switch
      } else {
        t = switch_at_;
      }
      on_ = !on_;
      switch_at_ = t + -std::log(rng.uniform_open01()) * (on_ ? mean_on_s_ : mean_off_s_);
    }
  }
  double mean_rate() const override { return rate_; }

 private:
  double rate_, on_rate_, mean_on_s_, mean_off_s_;
  bool started_ = false, on_ = true;
  double switch_at_ = 0;
};

// Non-homogeneous Poisson by thinning (Lewis & Shedler 1979): candidates at the peak rate, each
// kept with probability rate(t)/peak. rate(t) = rate x factor(t), factor piecewise linear over the
// period and normalised to mean 1.
class Diurnal final : public ArrivalProcess {
 public:
  Diurnal(double rate, double period_s, std::vector<std::pair<double, double>> points)
      : rate_(rate), period_s_(period_s), points_(std::move(points)) {
    std::sort(points_.begin(), points_.end());
    // Mean of the piecewise-linear factor over one period (trapezoids, wrapping around).
    double area = 0;
    for (size_t i = 0; i < points_.size(); ++i) {
      const auto& [t0, f0] = points_[i];
      const auto& [t1, f1] = i + 1 < points_.size()
                                 ? points_[i + 1]
                                 : std::pair{points_[0].first + period_s_, points_[0].second};
      area += (t1 - t0) * (f0 + f1) / 2;
      peak_ = std::max(peak_, f0);
    }
    scale_ = area > 0 ? period_s_ / area : 1.0;
  }
  Duration next_gap(Time now, Rng& rng) override {
    const double peak_rate = rate_ * peak_ * scale_;
    double t = now.to_seconds();
    for (int tries = 0; tries < 1'000'000; ++tries) {
      t += -std::log(rng.uniform_open01()) / peak_rate;
      if (rng.uniform01() * peak_ <= factor(t)) return Duration::from_seconds(t - now.to_seconds());
    }
    return Duration::max();
  }
  double mean_rate() const override { return rate_; }

 private:
  double factor(double t) const {
    const double x = std::fmod(t, period_s_);
    for (size_t i = 0; i < points_.size(); ++i) {
      const auto& [t0, f0] = points_[i];
      const auto& [t1, f1] = i + 1 < points_.size()
                                 ? points_[i + 1]
                                 : std::pair{points_[0].first + period_s_, points_[0].second};
      const double xx = x < points_[0].first ? x + period_s_ : x;
      if (xx >= t0 && xx < t1) return f0 + (f1 - f0) * (xx - t0) / (t1 - t0);
    }
    return points_.empty() ? 1.0 : points_.back().second;
  }
  double rate_, period_s_;
  std::vector<std::pair<double, double>> points_;
  double peak_ = 0, scale_ = 1;
};

// Replays a trace: the arrivals fall at exactly the trace's times.
class Replay final : public ArrivalProcess {
 public:
  explicit Replay(const ReplayTrace& trace) : trace_(trace) {}
  Duration next_gap(Time now, Rng&) override {
    if (next_ >= trace_.at_ns.size()) return Duration::max();
    return Duration::nanoseconds(std::max<int64_t>(0, trace_.at_ns[next_++] - now.ns()));
  }
  double mean_rate() const override {
    if (trace_.at_ns.size() < 2) return 0;
    const double span_s = static_cast<double>(trace_.at_ns.back() - trace_.at_ns.front()) * 1e-9;
    return span_s > 0 ? static_cast<double>(trace_.at_ns.size() - 1) / span_s : 0;
  }
  uint32_t arrival_key() const override {
    return next_ == 0 ? ReplayTrace::kFromMix : trace_.key[next_ - 1];
  }

 private:
  const ReplayTrace& trace_;
  size_t next_ = 0;
};

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> cells;
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    cells.push_back(trim(std::string_view(line).substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return cells;
}

// Nanoseconds of an RFC 3339 time since the epoch, fraction included (parse_rfc3339 drops it).
bool parse_rfc3339_ns(const std::string& text, int64_t* ns) {
  int64_t seconds = 0;
  if (!scenarios::parse_rfc3339(text, &seconds)) return false;
  int64_t fraction_ns = 0;
  const size_t t = text.find_first_of("Tt ");
  const size_t dot = text.find('.', t == std::string::npos ? 0 : t);
  if (dot != std::string::npos) {
    int64_t scale = 100'000'000;
    for (size_t i = dot + 1; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]));
         ++i, scale /= 10) {
      fraction_ns += (text[i] - '0') * scale;
    }
  }
  *ns = seconds * 1'000'000'000 + fraction_ns;
  return true;
}

}  // namespace

bool load_replay_trace(const scenario::Replay& replay, const std::string& base_dir,
                       ReplayTrace* out, std::string* error) {
  std::string path = replay.csv();
  if (!path.empty() && path[0] != '/') path = base_dir + "/" + path;
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read the replay CSV '" + path + "'";
    return false;
  }
  auto fail = [&](size_t line, const std::string& what) {
    *error = path + ":" + std::to_string(line) + ": " + what;
    return false;
  };
  std::string line;
  size_t line_no = 0;
  std::vector<std::string> header;
  while (header.empty() && std::getline(in, line)) {
    ++line_no;
    if (!trim(line).empty()) header = split_csv(line);
  }
  if (header.empty())
    return fail(std::max<size_t>(1, line_no),
                "empty file: expected a header with a `timestamp` column");
  int ts = -1, host = -1, req_path = -1, method = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string name = header[i];
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == "timestamp") ts = static_cast<int>(i);
    if (name == "host") host = static_cast<int>(i);
    if (name == "path") req_path = static_cast<int>(i);
    if (name == "method") method = static_cast<int>(i);
  }
  if (ts < 0)
    return fail(line_no, "the header has no `timestamp` column (got '" + trim(line) + "')");
  const bool classes = host >= 0 || req_path >= 0 || method >= 0;
  const double speed = replay.has_speed() && replay.speed() > 0 ? replay.speed() : 1.0;
  std::vector<int64_t> at;
  std::vector<uint32_t> keys;
  int absolute = -1;  // 1: RFC 3339 times, 0: offsets
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    const std::vector<std::string> cells = split_csv(line);
    if (cells.size() != header.size()) {
      return fail(line_no, "expected " + std::to_string(header.size()) + " columns, got " +
                               std::to_string(cells.size()));
    }
    const std::string& t = cells[static_cast<size_t>(ts)];
    int64_t ns = 0;
    const bool is_time = t.find('T') != std::string::npos || t.find('t') != std::string::npos;
    if (is_time) {
      if (!parse_rfc3339_ns(t, &ns))
        return fail(line_no, "timestamp '" + t + "' is not an RFC 3339 time");
    } else {
      const scenarios::Parsed v = scenarios::parse_seconds(t);
      if (!v.ok()) return fail(line_no, "timestamp '" + t + "': " + v.error);
      if (v.value < 0) return fail(line_no, "timestamp '" + t + "' is negative");
      ns = static_cast<int64_t>(std::llround(v.value * 1e9));
    }
    if (absolute >= 0 && absolute != static_cast<int>(is_time)) {
      return fail(line_no, "timestamps mix RFC 3339 times and offsets");
    }
    absolute = is_time;
    at.push_back(ns);
    if (classes) {
      ReplayTrace::Key k{host >= 0 ? cells[static_cast<size_t>(host)] : "",
                         req_path >= 0 ? cells[static_cast<size_t>(req_path)] : "",
                         method >= 0 ? cells[static_cast<size_t>(method)] : ""};
      if (k.path.empty()) k.path = "/";
      if (k.method.empty()) k.method = "GET";
      if (k.path.front() != '/') return fail(line_no, "path '" + k.path + "' must start with '/'");
      auto it = std::find_if(out->keys.begin(), out->keys.end(), [&](const ReplayTrace::Key& e) {
        return e.host == k.host && e.path == k.path && e.method == k.method;
      });
      if (it == out->keys.end()) {
        out->keys.push_back(std::move(k));
        it = out->keys.end() - 1;
      }
      keys.push_back(static_cast<uint32_t>(it - out->keys.begin()));
    } else {
      keys.push_back(ReplayTrace::kFromMix);
    }
  }
  if (at.empty()) return fail(line_no, "no arrivals after the header");
  std::vector<size_t> order(at.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return at[a] < at[b]; });
  const int64_t origin = absolute == 1 ? at[order.front()] : 0;
  out->at_ns.clear();
  out->key.clear();
  for (size_t i : order) {
    out->at_ns.push_back(
        static_cast<int64_t>(std::llround(static_cast<double>(at[i] - origin) / speed)));
    out->key.push_back(keys[i]);
  }
  return true;
}

std::unique_ptr<ArrivalProcess> make_arrival_process(const scenario::OpenLoop& o,
                                                     const ReplayTrace* replay,
                                                     std::string* error) {
  switch (o.process()) {
    case scenario::OpenLoop::CONSTANT:
      return std::make_unique<Constant>(o.rate());
    case scenario::OpenLoop::ON_OFF:
      return std::make_unique<OnOff>(o.rate(), seconds(o.on_off().mean_on()),
                                     seconds(o.on_off().mean_off()));
    case scenario::OpenLoop::DIURNAL: {
      std::vector<std::pair<double, double>> points;
      for (const auto& p : o.diurnal().points())
        points.emplace_back(seconds(p.at()), p.factor());
      if (points.empty()) points = {{0.0, 1.0}};
      return std::make_unique<Diurnal>(o.rate(), seconds(o.diurnal().period()), std::move(points));
    }
    case scenario::OpenLoop::REPLAY:
      if (replay == nullptr) {
        *error = "open_loop.replay: the replay CSV was not loaded";
        return nullptr;
      }
      return std::make_unique<Replay>(*replay);
    default:
      return std::make_unique<Poisson>(o.rate());
  }
}

}  // namespace ingresslab::models
