// Probability distributions for service times, think times, sizes and the like.
//
// `Distribution` is the one interface; each family is one small class behind it (in
// distributions.cc), built only through the factory functions below, which validate their
// parameters and return either a distribution or a message naming the bad parameter. A
// Distribution therefore always holds valid parameters.
//
// Values are in whatever unit the caller chose (seconds, bytes, ...); `sample_duration` treats
// them as seconds. mean() and variance() are exact closed forms of the distribution as sampled
// (not estimates), so tests and the analytic queueing model can use them directly; they are +inf
// where the moment does not exist (Pareto with small shape).
//
// Reproducibility: every sampler is written here (no std::*_distribution, whose algorithms differ
// between standard libraries) from the given Rng, IEEE double arithmetic and std::sqrt, std::log,
// std::exp, std::pow. Results are therefore bit-identical across runs and across machines that
// share a math library; std::log/exp/pow are not required to be correctly rounded, so a different
// libm may change the last bit of some samples. How many Rng outputs a sample consumes depends
// only on the Rng's sequence (rejection loops included).
//
// Thread-safety: a Distribution is immutable after construction; sample() is const and may be
// called concurrently from several threads, each with its own Rng.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/time.h"

namespace ingresslab::engine {

class Distribution {
 public:
  virtual ~Distribution() = default;

  // One draw. Consumes one or more outputs of `rng`.
  virtual double sample(Rng& rng) const = 0;
  // Exact expected value; +inf if it does not exist.
  virtual double mean() const = 0;
  // Exact variance; +inf if it does not exist.
  virtual double variance() const = 0;
  // Short human-readable form with the parameters, e.g. "exponential(mean=0.002)".
  virtual std::string describe() const = 0;
};

// Either a distribution (ok()) or the reason it could not be built. Exactly one of `dist` and
// `error` is set. The error names the parameter and the rule it broke, e.g.
// "exponential: mean must be > 0 and finite (got -1)"; callers prefix it with their own context
// (file, field path).
struct DistributionOrError {
  std::unique_ptr<Distribution> dist;
  std::string error;

  bool ok() const { return dist != nullptr; }
};

// Draws one sample from `dist`, read as seconds, and converts it to a Duration (rounded to the
// nanosecond). Negative samples and NaN give Duration::zero(); samples beyond the Duration range
// (e.g. +inf) saturate at Duration::max(), which callers must not add to a Time unchecked.
Duration sample_duration(const Distribution& dist, Rng& rng);

// --- Factories. Every parameter must be finite unless stated otherwise. ---

// Always `value` (any finite value).
DistributionOrError make_deterministic(double value);

// Exponential with the given mean. REQUIRES (checked): mean > 0.
DistributionOrError make_exponential(double mean);

// Continuous uniform on [lo, hi). REQUIRES (checked): lo <= hi (lo == hi is a point mass).
DistributionOrError make_uniform(double lo, double hi);

// Normal (Gaussian). REQUIRES (checked): stddev >= 0. Sampled by the Marsaglia polar method,
// using one of the two values it produces (sample() keeps no state).
DistributionOrError make_normal(double mean, double stddev);

// Lognormal: exp(N(mu, sigma^2)). REQUIRES (checked): sigma >= 0.
DistributionOrError make_lognormal(double mu, double sigma);

// The lognormal with the given mean and 99th percentile: with z = 2.3263478740408408 (the 0.99
// standard normal quantile), sigma is the smaller root of sigma^2/2 - z*sigma + ln(p99/mean) = 0
// and mu = ln(mean) - sigma^2/2. REQUIRES (checked): mean > 0, p99 > mean, and
// p99 <= mean * exp(z^2/2) (~14.96 * mean; no lognormal has a larger p99/mean ratio).
DistributionOrError make_lognormal_from_mean_p99(double mean, double p99);

// Pareto (type I): P(X > x) = (scale/x)^shape for x >= scale. REQUIRES (checked): scale > 0,
// shape > 0. mean() is +inf for shape <= 1, variance() is +inf for shape <= 2.
DistributionOrError make_pareto(double scale, double shape);

// Gamma with shape k and scale theta (mean k*theta). REQUIRES (checked): shape > 0, scale > 0.
// Sampled by Marsaglia-Tsang (2000); for shape < 1 via Gamma(shape + 1) * U^(1/shape).
DistributionOrError make_gamma(double shape, double scale);

// Erlang: the sum of k exponentials, i.e. Gamma(k, mean/k). REQUIRES (checked): k >= 1,
// mean > 0.
DistributionOrError make_erlang(int k, double mean);

// Hyperexponential: with probability probabilities[i], an exponential with mean means[i].
// REQUIRES (checked): equal non-zero sizes, every probability >= 0, probabilities sum to 1
// (within 1e-9; they are then renormalised exactly), every mean > 0.
DistributionOrError make_hyperexponential(const std::vector<double>& probabilities,
                                          const std::vector<double>& means);

// The distribution whose quantile function is the linear interpolation of the sorted samples
// x(0) <= ... <= x(n-1): Q(u) = x(i) + f*(x(i+1) - x(i)) where u*(n-1) = i + f. This is the usual
// "type 7" sample quantile (numpy's default), so the simulated percentiles equal the samples'
// percentiles; values stay within [x(0), x(n-1)]. It is NOT a bootstrap: the mean is that of the
// interpolated distribution (the end samples weigh half), not exactly the sample mean.
// REQUIRES (checked): at least one sample; a single sample gives a point mass.
DistributionOrError make_empirical_from_samples(std::vector<double> samples);

// A histogram: bucket i is [edges[i], edges[i+1]) with weight counts[i]; a bucket is chosen with
// probability counts[i] / sum(counts), then the value is uniform within it.
// REQUIRES (checked): edges.size() == counts.size() + 1 >= 2, edges strictly increasing,
// counts >= 0 with a positive sum.
DistributionOrError make_empirical_from_histogram(const std::vector<double>& edges,
                                                  const std::vector<double>& counts);

// With probability weights[i] / sum(weights), a draw from components[i] (chosen with Walker's
// alias method, O(1)). Weights are relative and need not sum to 1. Takes ownership of the
// components, also on error. REQUIRES (checked): equal non-zero sizes, every weight > 0, no null
// component.
DistributionOrError make_mixture(const std::vector<double>& weights,
                                 std::vector<std::unique_ptr<Distribution>> components);

}  // namespace ingresslab::engine
