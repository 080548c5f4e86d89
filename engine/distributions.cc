#include "engine/distributions.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace ingresslab::engine {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The 0.99 quantile of the standard normal distribution.
constexpr double kZ99 = 2.3263478740408408;

// Shortest round-trip decimal form of `v`, independent of the locale.
std::string fmt(double v) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, result.ptr);
}

DistributionOrError fail(std::string message) {
  DistributionOrError r;
  r.error = std::move(message);
  return r;
}

template <typename D, typename... Args>
DistributionOrError succeed(Args&&... args) {
  DistributionOrError r;
  r.dist = std::make_unique<D>(std::forward<Args>(args)...);
  return r;
}

// Standard normal by the Marsaglia polar method. Of the two independent values it yields, one is
// returned and the other dropped, so the sampler needs no state.
double standard_normal(Rng& rng) {
  for (;;) {
    const double u = 2.0 * rng.uniform01() - 1.0;
    const double v = 2.0 * rng.uniform01() - 1.0;
    const double s = u * u + v * v;
    if (s < 1.0 && s > 0.0) return u * std::sqrt(-2.0 * std::log(s) / s);
  }
}

// Variance of the uniform distribution on [a, b] around the point c: E[(X - c)^2].
double uniform_second_moment_about(double a, double b, double c) {
  const double x = a - c, y = b - c;
  return (x * x + x * y + y * y) / 3.0;
}

// Walker's alias method (Vose's construction) over the entries with positive weight; entries of
// weight zero are never picked.
class AliasTable {
 public:
  // REQUIRES: every weight finite and >= 0, at least one > 0.
  explicit AliasTable(const std::vector<double>& weights) {
    double total = 0.0;
    for (double w : weights)
      total += w;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (weights[i] > 0.0) index_.push_back(i);
    }
    const size_t n = index_.size();
    prob_.assign(n, 1.0);
    alias_.assign(n, 0);
    std::vector<double> scaled(n);
    std::vector<size_t> small, large;
    for (size_t j = 0; j < n; ++j) {
      scaled[j] = weights[index_[j]] / total * static_cast<double>(n);
      (scaled[j] < 1.0 ? small : large).push_back(j);
    }
    while (!small.empty() && !large.empty()) {
      const size_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] = (scaled[l] + scaled[s]) - 1.0;
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // Whatever is left has (up to rounding) probability 1 of keeping its own slot; prob_ and
    // alias_ are already initialised to that.
    for (size_t j : small)
      alias_[j] = j;
    for (size_t j : large)
      alias_[j] = j;
  }

  // Index (into the constructor's `weights`) of a random entry.
  size_t pick(Rng& rng) const {
    if (index_.size() == 1) return index_[0];
    const size_t j = static_cast<size_t>(rng.below(index_.size()));
    return index_[rng.uniform01() < prob_[j] ? j : alias_[j]];
  }

 private:
  std::vector<size_t> index_;  // positive-weight entries
  std::vector<double> prob_;
  std::vector<size_t> alias_;
};

bool all_finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// ---------------------------------------------------------------------------------------------

class Deterministic final : public Distribution {
 public:
  explicit Deterministic(double value) : value_(value) {}
  double sample(Rng&) const override { return value_; }
  double mean() const override { return value_; }
  double variance() const override { return 0.0; }
  std::string describe() const override { return "deterministic(value=" + fmt(value_) + ")"; }

 private:
  double value_;
};

class Exponential final : public Distribution {
 public:
  explicit Exponential(double mean) : mean_(mean) {}
  double sample(Rng& rng) const override { return -mean_ * std::log(rng.uniform_open01()); }
  double mean() const override { return mean_; }
  double variance() const override { return mean_ * mean_; }
  std::string describe() const override { return "exponential(mean=" + fmt(mean_) + ")"; }

 private:
  double mean_;
};

class Uniform final : public Distribution {
 public:
  Uniform(double lo, double hi) : lo_(lo), hi_(hi) {}
  double sample(Rng& rng) const override { return lo_ + (hi_ - lo_) * rng.uniform01(); }
  double mean() const override { return 0.5 * (lo_ + hi_); }
  double variance() const override { return (hi_ - lo_) * (hi_ - lo_) / 12.0; }
  std::string describe() const override {
    return "uniform(lo=" + fmt(lo_) + ", hi=" + fmt(hi_) + ")";
  }

 private:
  double lo_, hi_;
};

class Normal final : public Distribution {
 public:
  Normal(double mean, double stddev) : mean_(mean), stddev_(stddev) {}
  double sample(Rng& rng) const override { return mean_ + stddev_ * standard_normal(rng); }
  double mean() const override { return mean_; }
  double variance() const override { return stddev_ * stddev_; }
  std::string describe() const override {
    return "normal(mean=" + fmt(mean_) + ", stddev=" + fmt(stddev_) + ")";
  }

 private:
  double mean_, stddev_;
};

class Lognormal final : public Distribution {
 public:
  // `origin` is how the user specified it, for describe() ("" when given as mu/sigma).
  Lognormal(double mu, double sigma, std::string origin)
      : mu_(mu), sigma_(sigma), origin_(std::move(origin)) {}
  double sample(Rng& rng) const override { return std::exp(mu_ + sigma_ * standard_normal(rng)); }
  double mean() const override { return std::exp(mu_ + 0.5 * sigma_ * sigma_); }
  double variance() const override {
    const double s2 = sigma_ * sigma_;
    return std::expm1(s2) * std::exp(2.0 * mu_ + s2);
  }
  std::string describe() const override {
    return "lognormal(" + origin_ + "mu=" + fmt(mu_) + ", sigma=" + fmt(sigma_) + ")";
  }

 private:
  double mu_, sigma_;
  std::string origin_;
};

class Pareto final : public Distribution {
 public:
  Pareto(double scale, double shape) : scale_(scale), shape_(shape), neg_inv_shape_(-1.0 / shape) {}
  // Inversion: scale * U^(-1/shape) with U in (0, 1], so the result is >= scale and finite
  // unless it overflows (tiny shapes).
  double sample(Rng& rng) const override {
    return scale_ * std::pow(rng.uniform_open01(), neg_inv_shape_);
  }
  double mean() const override { return shape_ > 1.0 ? shape_ * scale_ / (shape_ - 1.0) : kInf; }
  double variance() const override {
    if (shape_ <= 2.0) return kInf;
    const double a1 = shape_ - 1.0;
    return scale_ * scale_ * shape_ / (a1 * a1 * (shape_ - 2.0));
  }
  std::string describe() const override {
    return "pareto(scale=" + fmt(scale_) + ", shape=" + fmt(shape_) + ")";
  }

 private:
  double scale_, shape_, neg_inv_shape_;
};

// Gamma(shape, scale) sampler shared by Gamma and Erlang.
class GammaSampler {
 public:
  GammaSampler(double shape, double scale)
      : scale_(scale),
        boost_(shape < 1.0),
        inv_shape_(1.0 / shape),
        d_((boost_ ? shape + 1.0 : shape) - 1.0 / 3.0),
        c_(1.0 / std::sqrt(9.0 * d_)) {}

  double sample(Rng& rng) const {
    // Marsaglia & Tsang, "A simple method for generating gamma variables", ACM TOMS 2000.
    double g;
    for (;;) {
      double x, v;
      do {
        x = standard_normal(rng);
        v = 1.0 + c_ * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = rng.uniform_open01();
      const double x2 = x * x;
      if (u < 1.0 - 0.0331 * x2 * x2 || std::log(u) < 0.5 * x2 + d_ * (1.0 - v + std::log(v))) {
        g = d_ * v;
        break;
      }
    }
    // Shape < 1: Gamma(shape) = Gamma(shape + 1) * U^(1/shape) (same paper, section 6).
    if (boost_) g *= std::pow(rng.uniform_open01(), inv_shape_);
    return g * scale_;
  }

 private:
  double scale_;
  bool boost_;
  double inv_shape_, d_, c_;
};

class Gamma final : public Distribution {
 public:
  Gamma(double shape, double scale) : shape_(shape), scale_(scale), sampler_(shape, scale) {}
  double sample(Rng& rng) const override { return sampler_.sample(rng); }
  double mean() const override { return shape_ * scale_; }
  double variance() const override { return shape_ * scale_ * scale_; }
  std::string describe() const override {
    return "gamma(shape=" + fmt(shape_) + ", scale=" + fmt(scale_) + ")";
  }

 private:
  double shape_, scale_;
  GammaSampler sampler_;
};

class Erlang final : public Distribution {
 public:
  Erlang(int k, double mean) : k_(k), mean_(mean), sampler_(k, mean / k) {}
  double sample(Rng& rng) const override { return sampler_.sample(rng); }
  double mean() const override { return mean_; }
  double variance() const override { return mean_ * mean_ / k_; }
  std::string describe() const override {
    return "erlang(k=" + std::to_string(k_) + ", mean=" + fmt(mean_) + ")";
  }

 private:
  int k_;
  double mean_;
  GammaSampler sampler_;
};

class Hyperexponential final : public Distribution {
 public:
  Hyperexponential(std::vector<double> probabilities, std::vector<double> means)
      : probabilities_(std::move(probabilities)), means_(std::move(means)), pick_(probabilities_) {
    mean_ = 0.0;
    for (size_t i = 0; i < means_.size(); ++i)
      mean_ += probabilities_[i] * means_[i];
    // Mixture variance: sum p_i (var_i + (mean_i - mean)^2), with var_i = mean_i^2.
    variance_ = 0.0;
    for (size_t i = 0; i < means_.size(); ++i) {
      const double d = means_[i] - mean_;
      variance_ += probabilities_[i] * (means_[i] * means_[i] + d * d);
    }
  }
  double sample(Rng& rng) const override {
    const size_t i = pick_.pick(rng);
    return -means_[i] * std::log(rng.uniform_open01());
  }
  double mean() const override { return mean_; }
  double variance() const override { return variance_; }
  std::string describe() const override {
    std::string p, m;
    for (size_t i = 0; i < means_.size(); ++i) {
      p += (i ? ", " : "") + fmt(probabilities_[i]);
      m += (i ? ", " : "") + fmt(means_[i]);
    }
    return "hyperexponential(probabilities=[" + p + "], means=[" + m + "])";
  }

 private:
  std::vector<double> probabilities_, means_;
  AliasTable pick_;
  double mean_, variance_;
};

// Piecewise-linear quantile function through the sorted samples (see the header).
class EmpiricalSamples final : public Distribution {
 public:
  // REQUIRES: `sorted` is non-empty and sorted.
  explicit EmpiricalSamples(std::vector<double> sorted) : x_(std::move(sorted)) {
    const size_t n = x_.size();
    if (n == 1) {
      mean_ = x_[0];
      variance_ = 0.0;
      return;
    }
    // A mixture of the n-1 uniforms on [x(i), x(i+1)], each of weight 1/(n-1).
    const double w = 1.0 / static_cast<double>(n - 1);
    mean_ = 0.0;
    for (size_t i = 0; i + 1 < n; ++i)
      mean_ += w * 0.5 * (x_[i] + x_[i + 1]);
    variance_ = 0.0;
    for (size_t i = 0; i + 1 < n; ++i) {
      variance_ += w * uniform_second_moment_about(x_[i], x_[i + 1], mean_);
    }
  }
  double sample(Rng& rng) const override {
    const size_t n = x_.size();
    if (n == 1) return x_[0];
    const double pos = rng.uniform01() * static_cast<double>(n - 1);
    size_t i = static_cast<size_t>(pos);
    if (i > n - 2) i = n - 2;  // pos may round up to n-1
    const double f = pos - static_cast<double>(i);
    return x_[i] + f * (x_[i + 1] - x_[i]);
  }
  double mean() const override { return mean_; }
  double variance() const override { return variance_; }
  std::string describe() const override {
    return "empirical(samples=" + std::to_string(x_.size()) + ", min=" + fmt(x_.front()) +
           ", max=" + fmt(x_.back()) + ")";
  }

 private:
  std::vector<double> x_;
  double mean_, variance_;
};

class EmpiricalHistogram final : public Distribution {
 public:
  EmpiricalHistogram(std::vector<double> edges, const std::vector<double>& counts)
      : edges_(std::move(edges)), pick_(counts) {
    double total = 0.0;
    for (double c : counts)
      total += c;
    mean_ = 0.0;
    for (size_t i = 0; i < counts.size(); ++i) {
      mean_ += counts[i] / total * 0.5 * (edges_[i] + edges_[i + 1]);
    }
    variance_ = 0.0;
    for (size_t i = 0; i < counts.size(); ++i) {
      variance_ += counts[i] / total * uniform_second_moment_about(edges_[i], edges_[i + 1], mean_);
    }
  }
  double sample(Rng& rng) const override {
    const size_t i = pick_.pick(rng);
    return edges_[i] + (edges_[i + 1] - edges_[i]) * rng.uniform01();
  }
  double mean() const override { return mean_; }
  double variance() const override { return variance_; }
  std::string describe() const override {
    return "histogram(buckets=" + std::to_string(edges_.size() - 1) + ", range=[" +
           fmt(edges_.front()) + ", " + fmt(edges_.back()) + "))";
  }

 private:
  std::vector<double> edges_;
  AliasTable pick_;
  double mean_, variance_;
};

class Mixture final : public Distribution {
 public:
  Mixture(const std::vector<double>& weights, std::vector<std::unique_ptr<Distribution>> components)
      : components_(std::move(components)), pick_(weights) {
    double total = 0.0;
    for (double w : weights)
      total += w;
    for (double w : weights)
      probabilities_.push_back(w / total);
    mean_ = 0.0;
    for (size_t i = 0; i < components_.size(); ++i) {
      mean_ += probabilities_[i] * components_[i]->mean();
    }
    // sum p_i (var_i + (mean_i - mean)^2); +inf as soon as any component moment is infinite.
    variance_ = 0.0;
    for (size_t i = 0; i < components_.size(); ++i) {
      const double d = components_[i]->mean() - mean_;
      variance_ += probabilities_[i] * (components_[i]->variance() + d * d);
    }
    if (!std::isfinite(mean_)) {  // a component without a mean (its variance is +inf too)
      mean_ = kInf;
      variance_ = kInf;
    }
  }
  double sample(Rng& rng) const override { return components_[pick_.pick(rng)]->sample(rng); }
  double mean() const override { return mean_; }
  double variance() const override { return variance_; }
  std::string describe() const override {
    std::string s = "mixture(";
    for (size_t i = 0; i < components_.size(); ++i) {
      s += (i ? ", " : "") + fmt(probabilities_[i]) + "*" + components_[i]->describe();
    }
    return s + ")";
  }

 private:
  std::vector<std::unique_ptr<Distribution>> components_;
  std::vector<double> probabilities_;
  AliasTable pick_;
  double mean_, variance_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

Duration sample_duration(const Distribution& dist, Rng& rng) {
  const double seconds = dist.sample(rng);
  if (!(seconds > 0.0)) return Duration::zero();  // negative, zero or NaN
  return Duration::from_seconds(seconds);
}

DistributionOrError make_deterministic(double value) {
  if (!std::isfinite(value))
    return fail("deterministic: value must be finite (got " + fmt(value) + ")");
  return succeed<Deterministic>(value);
}

DistributionOrError make_exponential(double mean) {
  if (!(std::isfinite(mean) && mean > 0.0)) {
    return fail("exponential: mean must be > 0 and finite (got " + fmt(mean) + ")");
  }
  return succeed<Exponential>(mean);
}

DistributionOrError make_uniform(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    return fail("uniform: lo and hi must be finite (got lo=" + fmt(lo) + ", hi=" + fmt(hi) + ")");
  }
  if (!(lo <= hi)) {
    return fail("uniform: lo must be <= hi (got lo=" + fmt(lo) + ", hi=" + fmt(hi) + ")");
  }
  if (!std::isfinite(hi - lo)) {
    return fail("uniform: hi - lo overflows (got lo=" + fmt(lo) + ", hi=" + fmt(hi) + ")");
  }
  return succeed<Uniform>(lo, hi);
}

DistributionOrError make_normal(double mean, double stddev) {
  if (!std::isfinite(mean)) return fail("normal: mean must be finite (got " + fmt(mean) + ")");
  if (!(std::isfinite(stddev) && stddev >= 0.0)) {
    return fail("normal: stddev must be >= 0 and finite (got " + fmt(stddev) + ")");
  }
  return succeed<Normal>(mean, stddev);
}

DistributionOrError make_lognormal(double mu, double sigma) {
  if (!std::isfinite(mu)) return fail("lognormal: mu must be finite (got " + fmt(mu) + ")");
  if (!(std::isfinite(sigma) && sigma >= 0.0)) {
    return fail("lognormal: sigma must be >= 0 and finite (got " + fmt(sigma) + ")");
  }
  return succeed<Lognormal>(mu, sigma, std::string());
}

DistributionOrError make_lognormal_from_mean_p99(double mean, double p99) {
  if (!(std::isfinite(mean) && mean > 0.0)) {
    return fail("lognormal: mean must be > 0 and finite (got " + fmt(mean) + ")");
  }
  if (!std::isfinite(p99)) return fail("lognormal: p99 must be finite (got " + fmt(p99) + ")");
  if (!(p99 > mean)) {
    return fail("lognormal: p99 must be > mean (got mean=" + fmt(mean) + ", p99=" + fmt(p99) + ")");
  }
  // ln(p99) - ln(mean) = z*sigma - sigma^2/2  <=>  sigma^2/2 - z*sigma + d = 0.
  const double d = std::log(p99 / mean);
  const double disc = kZ99 * kZ99 - 2.0 * d;
  if (disc < 0.0) {
    return fail("lognormal: p99 must be <= " + fmt(std::exp(0.5 * kZ99 * kZ99)) +
                " * mean; no lognormal has a larger p99/mean ratio (got mean=" + fmt(mean) +
                ", p99=" + fmt(p99) + ")");
  }
  // The smaller root z - sqrt(disc), written without cancellation for small d.
  const double sigma = 2.0 * d / (kZ99 + std::sqrt(disc));
  const double mu = std::log(mean) - 0.5 * sigma * sigma;
  return succeed<Lognormal>(mu, sigma, "mean=" + fmt(mean) + ", p99=" + fmt(p99) + "; ");
}

DistributionOrError make_pareto(double scale, double shape) {
  if (!(std::isfinite(scale) && scale > 0.0)) {
    return fail("pareto: scale must be > 0 and finite (got " + fmt(scale) + ")");
  }
  if (!(std::isfinite(shape) && shape > 0.0)) {
    return fail("pareto: shape must be > 0 and finite (got " + fmt(shape) + ")");
  }
  return succeed<Pareto>(scale, shape);
}

DistributionOrError make_gamma(double shape, double scale) {
  if (!(std::isfinite(shape) && shape > 0.0)) {
    return fail("gamma: shape must be > 0 and finite (got " + fmt(shape) + ")");
  }
  if (!(std::isfinite(scale) && scale > 0.0)) {
    return fail("gamma: scale must be > 0 and finite (got " + fmt(scale) + ")");
  }
  return succeed<Gamma>(shape, scale);
}

DistributionOrError make_erlang(int k, double mean) {
  if (k < 1) return fail("erlang: k must be >= 1 (got " + std::to_string(k) + ")");
  if (!(std::isfinite(mean) && mean > 0.0)) {
    return fail("erlang: mean must be > 0 and finite (got " + fmt(mean) + ")");
  }
  return succeed<Erlang>(k, mean);
}

DistributionOrError make_hyperexponential(const std::vector<double>& probabilities,
                                          const std::vector<double>& means) {
  if (probabilities.empty()) return fail("hyperexponential: needs at least one phase");
  if (probabilities.size() != means.size()) {
    return fail("hyperexponential: " + std::to_string(probabilities.size()) +
                " probabilities but " + std::to_string(means.size()) + " means");
  }
  double total = 0.0;
  for (size_t i = 0; i < probabilities.size(); ++i) {
    if (!(std::isfinite(probabilities[i]) && probabilities[i] >= 0.0)) {
      return fail("hyperexponential: probabilities[" + std::to_string(i) +
                  "] must be >= 0 and finite (got " + fmt(probabilities[i]) + ")");
    }
    if (!(std::isfinite(means[i]) && means[i] > 0.0)) {
      return fail("hyperexponential: means[" + std::to_string(i) +
                  "] must be > 0 and finite (got " + fmt(means[i]) + ")");
    }
    total += probabilities[i];
  }
  if (!(std::fabs(total - 1.0) <= 1e-9)) {
    return fail("hyperexponential: probabilities must sum to 1 (got " + fmt(total) + ")");
  }
  std::vector<double> normalised;
  normalised.reserve(probabilities.size());
  for (double p : probabilities)
    normalised.push_back(p / total);
  return succeed<Hyperexponential>(std::move(normalised), means);
}

DistributionOrError make_empirical_from_samples(std::vector<double> samples) {
  if (samples.empty()) return fail("empirical: needs at least one sample");
  for (size_t i = 0; i < samples.size(); ++i) {
    if (!std::isfinite(samples[i])) {
      return fail("empirical: samples[" + std::to_string(i) + "] must be finite (got " +
                  fmt(samples[i]) + ")");
    }
    if (samples[i] == 0.0) samples[i] = 0.0;  // -0 -> +0, so the sort order is unique
  }
  std::sort(samples.begin(), samples.end());
  return succeed<EmpiricalSamples>(std::move(samples));
}

DistributionOrError make_empirical_from_histogram(const std::vector<double>& edges,
                                                  const std::vector<double>& counts) {
  if (counts.empty()) return fail("histogram: needs at least one bucket");
  if (edges.size() != counts.size() + 1) {
    return fail("histogram: " + std::to_string(counts.size()) + " buckets need " +
                std::to_string(counts.size() + 1) + " edges (got " + std::to_string(edges.size()) +
                ")");
  }
  if (!all_finite(edges)) return fail("histogram: edges must be finite");
  for (size_t i = 0; i + 1 < edges.size(); ++i) {
    if (!(edges[i] < edges[i + 1])) {
      return fail("histogram: edges must be strictly increasing (edges[" + std::to_string(i) +
                  "]=" + fmt(edges[i]) + ", edges[" + std::to_string(i + 1) +
                  "]=" + fmt(edges[i + 1]) + ")");
    }
  }
  if (!std::isfinite(edges.back() - edges.front())) {
    return fail("histogram: the range of the edges overflows");
  }
  double total = 0.0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (!(std::isfinite(counts[i]) && counts[i] >= 0.0)) {
      return fail("histogram: counts[" + std::to_string(i) + "] must be >= 0 and finite (got " +
                  fmt(counts[i]) + ")");
    }
    total += counts[i];
  }
  if (!(total > 0.0 && std::isfinite(total))) {
    return fail("histogram: counts must have a positive, finite sum (got " + fmt(total) + ")");
  }
  return succeed<EmpiricalHistogram>(edges, counts);
}

DistributionOrError make_mixture(const std::vector<double>& weights,
                                 std::vector<std::unique_ptr<Distribution>> components) {
  if (weights.empty()) return fail("mixture: needs at least one component");
  if (weights.size() != components.size()) {
    return fail("mixture: " + std::to_string(weights.size()) + " weights but " +
                std::to_string(components.size()) + " components");
  }
  double total = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!(std::isfinite(weights[i]) && weights[i] > 0.0)) {
      return fail("mixture: weights[" + std::to_string(i) + "] must be > 0 and finite (got " +
                  fmt(weights[i]) + ")");
    }
    if (components[i] == nullptr) {
      return fail("mixture: components[" + std::to_string(i) + "] is null");
    }
    total += weights[i];
  }
  if (!std::isfinite(total)) return fail("mixture: the sum of the weights overflows");
  return succeed<Mixture>(weights, std::move(components));
}

}  // namespace ingresslab::engine
