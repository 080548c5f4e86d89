#include "models/arrivals.h"

#include <algorithm>
#include <cmath>
#include <vector>

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

}  // namespace

std::unique_ptr<ArrivalProcess> make_arrival_process(const scenario::OpenLoop& o,
                                                     const std::string& base_dir,
                                                     std::string* error) {
  (void)base_dir;
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
      *error =
          "workload: open_loop.process replay is not simulated yet (use it with `ingresslab "
          "replay`); choose poisson, constant, on_off or diurnal";
      return nullptr;
    default:
      return std::make_unique<Poisson>(o.rate());
  }
}

}  // namespace ingresslab::models
