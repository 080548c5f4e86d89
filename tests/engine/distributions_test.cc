#include "engine/distributions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ingresslab::engine {
namespace {

constexpr size_t kDraws = 1'000'000;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::unique_ptr<Distribution> must(DistributionOrError r) {
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.error.empty());
  return std::move(r.dist);
}

std::vector<double> draw(const Distribution& d, std::string_view stream, size_t n = kDraws) {
  Rng rng = Rng::for_stream(20240601, 0, stream);
  std::vector<double> v(n);
  for (double& x : v)
    x = d.sample(rng);
  return v;
}

// Raw moments E[X^1..X^4] -> central fourth moment E[(X - mean)^4].
double central4_from_raw(double e1, double e2, double e3, double e4) {
  return e4 - 4 * e1 * e3 + 6 * e1 * e1 * e2 - 3 * e1 * e1 * e1 * e1;
}

// Checks, over 1e6 draws, that
//  - the sample mean is inside the 99.9% CI of the theoretical mean: |xbar - mu| < 3.29
//  sigma/sqrt(n);
//  - the sample variance is inside the CLT interval of the theoretical variance, whose standard
//    error is sqrt((mu4 - sigma^4) / n) with mu4 the central fourth moment: |s^2 - sigma^2| < 4 SE
//    (99.99%; one bound wider than the mean's because the sample variance converges more slowly
//    for skewed distributions).
// Returns the draws for further checks.
std::vector<double> expect_moments(const Distribution& d, double central4,
                                   std::string_view stream) {
  SCOPED_TRACE(d.describe());
  const std::vector<double> x = draw(d, stream);
  const double n = static_cast<double>(x.size());
  double sum = 0;
  for (double v : x)
    sum += v;
  const double xbar = sum / n;
  double ss = 0;
  for (double v : x)
    ss += (v - xbar) * (v - xbar);
  const double s2 = ss / (n - 1);

  const double mu = d.mean(), var = d.variance();
  EXPECT_TRUE(std::isfinite(mu));
  EXPECT_TRUE(std::isfinite(var));
  EXPECT_LT(std::fabs(xbar - mu), 3.29 * std::sqrt(var / n)) << "sample mean " << xbar;
  const double var_se = std::sqrt((central4 - var * var) / n);
  EXPECT_LT(std::fabs(s2 - var), 4 * var_se)
      << "sample variance " << s2 << ", relative error " << (s2 - var) / var;
  return x;
}

double quantile(std::vector<double> x, double p) {
  const size_t k = static_cast<size_t>(p * static_cast<double>(x.size() - 1));
  std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(k), x.end());
  return x[k];
}

// Central fourth moment of a mixture of uniforms on [edges[i], edges[i+1]] with weights w[i],
// about c.
double uniform_mixture_central4(const std::vector<double>& edges, const std::vector<double>& w,
                                double c) {
  double total = 0, m4 = 0;
  for (double x : w)
    total += x;
  for (size_t i = 0; i < w.size(); ++i) {
    const double a = edges[i] - c, b = edges[i + 1] - c;
    m4 += w[i] / total * (std::pow(b, 5) - std::pow(a, 5)) / (5 * (b - a));
  }
  return m4;
}

// --- Each family: closed forms, then sampled moments. ---

TEST(DistributionsTest, Deterministic) {
  auto d = must(make_deterministic(0.25));
  EXPECT_EQ(d->mean(), 0.25);
  EXPECT_EQ(d->variance(), 0.0);
  for (double x : draw(*d, "det", 1000))
    ASSERT_EQ(x, 0.25);
  EXPECT_EQ(d->describe(), "deterministic(value=0.25)");
}

TEST(DistributionsTest, Exponential) {
  auto d = must(make_exponential(0.002));
  EXPECT_EQ(d->mean(), 0.002);
  EXPECT_DOUBLE_EQ(d->variance(), 0.002 * 0.002);
  EXPECT_EQ(d->describe(), "exponential(mean=0.002)");
  const auto x = expect_moments(*d, 9 * std::pow(0.002, 4), "exp");
  EXPECT_GT(*std::min_element(x.begin(), x.end()), 0.0);
}

TEST(DistributionsTest, Uniform) {
  auto d = must(make_uniform(-1.0, 3.0));
  EXPECT_EQ(d->mean(), 1.0);
  EXPECT_DOUBLE_EQ(d->variance(), 16.0 / 12.0);
  const auto x = expect_moments(*d, std::pow(4.0, 4) / 80, "uniform");
  EXPECT_GE(*std::min_element(x.begin(), x.end()), -1.0);
  EXPECT_LT(*std::max_element(x.begin(), x.end()), 3.0);
  // lo == hi is a point mass.
  auto point = must(make_uniform(2.0, 2.0));
  EXPECT_EQ(draw(*point, "uniform.point", 10)[0], 2.0);
  EXPECT_EQ(point->variance(), 0.0);
}

TEST(DistributionsTest, Normal) {
  auto d = must(make_normal(10.0, 2.0));
  EXPECT_EQ(d->mean(), 10.0);
  EXPECT_EQ(d->variance(), 4.0);
  const auto x = expect_moments(*d, 3 * 16.0, "normal");
  // Tails: P(|Z| > 2.326) = 2%, checked to 5 standard errors.
  const double tail = static_cast<double>(std::count_if(
                          x.begin(), x.end(),
                          [](double v) { return std::fabs(v - 10.0) > 2 * 2.3263478740408408; })) /
                      static_cast<double>(x.size());
  EXPECT_NEAR(tail, 0.02, 5 * std::sqrt(0.02 * 0.98 / static_cast<double>(x.size())));
}

double lognormal_central4(double mu, double sigma) {
  const double s2 = sigma * sigma;
  const double var = std::expm1(s2) * std::exp(2 * mu + s2);
  const double excess = std::exp(4 * s2) + 2 * std::exp(3 * s2) + 3 * std::exp(2 * s2) - 6;
  return (excess + 3) * var * var;
}

TEST(DistributionsTest, LognormalFromMuSigma) {
  auto d = must(make_lognormal(-6.0, 0.5));
  EXPECT_DOUBLE_EQ(d->mean(), std::exp(-6.0 + 0.125));
  EXPECT_DOUBLE_EQ(d->variance(), (std::exp(0.25) - 1) * std::exp(-12.0 + 0.25));
  const auto x = expect_moments(*d, lognormal_central4(-6.0, 0.5), "lognormal");
  // Median exp(mu): relative standard error of the sample median is ~0.06% here.
  EXPECT_NEAR(quantile(x, 0.5) / std::exp(-6.0), 1.0, 0.005);
}

TEST(DistributionsTest, LognormalFromMeanAndP99) {
  // 10 ms mean, 50 ms p99: sigma = 0.8455. The sample p99's relative standard error over 4e6
  // draws is ~0.16%, so 1% is > 6 standard errors.
  const double mean = 0.010, p99 = 0.050;
  auto d = must(make_lognormal_from_mean_p99(mean, p99));
  EXPECT_NEAR(d->mean(), mean, 1e-15);
  const auto x = draw(*d, "lognormal.p99", 4 * kDraws);
  EXPECT_NEAR(quantile(x, 0.99) / p99, 1.0, 0.01);
  double sum = 0;
  for (double v : x)
    sum += v;
  EXPECT_LT(std::fabs(sum / static_cast<double>(x.size()) - mean),
            3.29 * std::sqrt(d->variance() / static_cast<double>(x.size())));

  // p99 barely above the mean (sigma near 0) and at the largest ratio a lognormal allows.
  auto narrow = must(make_lognormal_from_mean_p99(1.0, 1.001));
  EXPECT_NEAR(narrow->mean(), 1.0, 1e-12);
  EXPECT_NEAR(quantile(draw(*narrow, "lognormal.narrow"), 0.99), 1.001, 1e-4);
  const double max_ratio = std::exp(0.5 * 2.3263478740408408 * 2.3263478740408408);
  EXPECT_TRUE(make_lognormal_from_mean_p99(1.0, max_ratio * (1 - 1e-9)).ok());
  EXPECT_FALSE(make_lognormal_from_mean_p99(1.0, max_ratio * (1 + 1e-9)).ok());
}

TEST(DistributionsTest, Pareto) {
  // Shape 6: the variance exists (shape > 2) and so does the fourth moment (shape > 4), which
  // the CLT interval of the sample variance needs.
  const double xm = 0.001, a = 6.0;
  auto d = must(make_pareto(xm, a));
  EXPECT_DOUBLE_EQ(d->mean(), a * xm / (a - 1));
  EXPECT_DOUBLE_EQ(d->variance(), xm * xm * a / ((a - 1) * (a - 1) * (a - 2)));
  // Raw moments E[X^n] = a xm^n / (a - n).
  auto raw = [&](int n) { return a * std::pow(xm, n) / (a - n); };
  const auto x = expect_moments(*d, central4_from_raw(raw(1), raw(2), raw(3), raw(4)), "pareto");
  EXPECT_GE(*std::min_element(x.begin(), x.end()), xm);
  // Tail: P(X > 2 xm) = 2^-6.
  const double tail =
      static_cast<double>(std::count_if(x.begin(), x.end(), [&](double v) { return v > 2 * xm; })) /
      static_cast<double>(x.size());
  EXPECT_NEAR(tail, 1.0 / 64, 5 * std::sqrt(1.0 / 64 / static_cast<double>(x.size())));
}

TEST(DistributionsTest, ParetoMomentsAreInfiniteWhereUndefined) {
  auto heavy = must(make_pareto(1.0, 1.5));
  EXPECT_EQ(heavy->mean(), 3.0);
  EXPECT_EQ(heavy->variance(), kInf);
  auto very_heavy = must(make_pareto(1.0, 1.0));
  EXPECT_EQ(very_heavy->mean(), kInf);
  EXPECT_EQ(very_heavy->variance(), kInf);
  auto at_two = must(make_pareto(1.0, 2.0));
  EXPECT_EQ(at_two->mean(), 2.0);
  EXPECT_EQ(at_two->variance(), kInf);
  // Sampling still works and stays >= scale.
  for (double v : draw(*very_heavy, "pareto.heavy", 1000))
    ASSERT_GE(v, 1.0);
}

TEST(DistributionsTest, Gamma) {
  for (const double k : {0.3, 1.0, 2.5, 40.0}) {  // 0.3 takes the shape < 1 path
    const double theta = 0.004;
    auto d = must(make_gamma(k, theta));
    EXPECT_DOUBLE_EQ(d->mean(), k * theta);
    EXPECT_DOUBLE_EQ(d->variance(), k * theta * theta);
    const double var = k * theta * theta;
    const auto x = expect_moments(*d, var * var * (3 + 6 / k), "gamma");
    EXPECT_GE(*std::min_element(x.begin(), x.end()), 0.0);
  }
}

TEST(DistributionsTest, Erlang) {
  auto d = must(make_erlang(4, 0.02));
  EXPECT_DOUBLE_EQ(d->mean(), 0.02);
  EXPECT_DOUBLE_EQ(d->variance(), 0.02 * 0.02 / 4);
  const double var = 0.02 * 0.02 / 4;
  expect_moments(*d, var * var * (3 + 6.0 / 4), "erlang");
  EXPECT_EQ(d->describe(), "erlang(k=4, mean=0.02)");
}

TEST(DistributionsTest, Hyperexponential) {
  const std::vector<double> p = {0.9, 0.1}, m = {0.001, 0.05};
  auto d = must(make_hyperexponential(p, m));
  double e[5] = {0, 0, 0, 0, 0};
  const double fact[5] = {1, 1, 2, 6, 24};
  for (int n = 1; n <= 4; ++n) {
    for (size_t i = 0; i < p.size(); ++i)
      e[n] += p[i] * fact[n] * std::pow(m[i], n);
  }
  EXPECT_DOUBLE_EQ(d->mean(), e[1]);
  EXPECT_DOUBLE_EQ(d->variance(), e[2] - e[1] * e[1]);
  expect_moments(*d, central4_from_raw(e[1], e[2], e[3], e[4]), "hyperexp");

  // A zero-probability phase is never used.
  auto one_phase = must(make_hyperexponential({0.0, 1.0}, {1000.0, 0.001}));
  EXPECT_DOUBLE_EQ(one_phase->mean(), 0.001);
  for (double v : draw(*one_phase, "hyperexp.zero", 100'000))
    ASSERT_LT(v, 1.0);
}

TEST(DistributionsTest, EmpiricalFromSamplesClosedForms) {
  // Interpolating {1..5} is the uniform distribution on [1, 5].
  auto d = must(make_empirical_from_samples({5, 3, 1, 4, 2}));
  EXPECT_DOUBLE_EQ(d->mean(), 3.0);
  EXPECT_DOUBLE_EQ(d->variance(), 16.0 / 12.0);
  const auto x = expect_moments(*d, std::pow(4.0, 4) / 80, "empirical.small");
  EXPECT_GE(*std::min_element(x.begin(), x.end()), 1.0);
  EXPECT_LE(*std::max_element(x.begin(), x.end()), 5.0);

  // End samples weigh half: {0, 0, 10} has mean (0 + 5) / 2, not 10/3.
  auto skewed = must(make_empirical_from_samples({0, 10, 0}));
  EXPECT_DOUBLE_EQ(skewed->mean(), 2.5);

  auto single = must(make_empirical_from_samples({7.5}));
  EXPECT_EQ(single->mean(), 7.5);
  EXPECT_EQ(single->variance(), 0.0);
  EXPECT_EQ(draw(*single, "empirical.single", 10)[9], 7.5);
}

TEST(DistributionsTest, EmpiricalFromSamplesReproducesQuantiles) {
  // 1000 lognormal "measurements"; the empirical distribution's moments are its closed forms and
  // its quantiles are the type-7 quantiles of the measurements.
  auto source = must(make_lognormal(0.0, 0.7));
  std::vector<double> samples = draw(*source, "empirical.source", 1000);
  auto d = must(make_empirical_from_samples(samples));
  std::sort(samples.begin(), samples.end());
  const std::vector<double> weights(samples.size() - 1, 1.0);
  const auto x =
      expect_moments(*d, uniform_mixture_central4(samples, weights, d->mean()), "empirical.large");
  const double q90 = samples[899] + 0.1 * (samples[900] - samples[899]);  // type 7: 0.9 * 999
  EXPECT_NEAR(quantile(x, 0.9) / q90, 1.0, 0.01);
}

TEST(DistributionsTest, EmpiricalFromHistogram) {
  const std::vector<double> edges = {0, 1, 2, 5, 10}, counts = {10, 0, 30, 60};
  auto d = must(make_empirical_from_histogram(edges, counts));
  double mean = 0;
  for (size_t i = 0; i < counts.size(); ++i)
    mean += counts[i] / 100 * (edges[i] + edges[i + 1]) / 2;
  EXPECT_DOUBLE_EQ(d->mean(), mean);
  const auto x = expect_moments(*d, uniform_mixture_central4(edges, counts, mean), "histogram");
  // The empty bucket [1, 2) is never sampled; bucket [5, 10) gets 60%.
  EXPECT_EQ(std::count_if(x.begin(), x.end(), [](double v) { return v >= 1 && v < 2; }), 0);
  const double top =
      static_cast<double>(std::count_if(x.begin(), x.end(), [](double v) { return v >= 5; })) /
      static_cast<double>(x.size());
  EXPECT_NEAR(top, 0.6, 5 * std::sqrt(0.24 / static_cast<double>(x.size())));
}

TEST(DistributionsTest, Mixture) {
  // 3 : 1 of Normal(1, 0.2) and Exponential(0.5).
  std::vector<std::unique_ptr<Distribution>> parts;
  parts.push_back(must(make_normal(1.0, 0.2)));
  parts.push_back(must(make_exponential(0.5)));
  auto d = must(make_mixture({3, 1}, std::move(parts)));
  const double mu = 1.0, s = 0.2, m = 0.5;
  const double e1 = 0.75 * mu + 0.25 * m;
  const double e2 = 0.75 * (mu * mu + s * s) + 0.25 * 2 * m * m;
  const double e3 = 0.75 * (mu * mu * mu + 3 * mu * s * s) + 0.25 * 6 * std::pow(m, 3);
  const double e4 = 0.75 * (std::pow(mu, 4) + 6 * mu * mu * s * s + 3 * std::pow(s, 4)) +
                    0.25 * 24 * std::pow(m, 4);
  EXPECT_DOUBLE_EQ(d->mean(), e1);
  EXPECT_DOUBLE_EQ(d->variance(), e2 - e1 * e1);
  expect_moments(*d, central4_from_raw(e1, e2, e3, e4), "mixture");
  EXPECT_EQ(d->describe(), "mixture(0.75*normal(mean=1, stddev=0.2), 0.25*exponential(mean=0.5))");
}

TEST(DistributionsTest, MixtureChoosesComponentsInProportion) {
  std::vector<std::unique_ptr<Distribution>> parts;
  for (double v : {0.0, 1.0, 2.0})
    parts.push_back(must(make_deterministic(v)));
  auto d = must(make_mixture({1, 2, 3}, std::move(parts)));
  double counts[3] = {0, 0, 0};
  for (double v : draw(*d, "mixture.alias"))
    counts[static_cast<int>(v)] += 1;
  double chi2 = 0;
  for (int i = 0; i < 3; ++i) {
    const double expected = kDraws * (i + 1) / 6.0;
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  EXPECT_LT(chi2, 13.816);  // chi-square 0.999 quantile, 2 degrees of freedom
}

TEST(DistributionsTest, MixtureWithHeavyComponentHasInfiniteMoments) {
  std::vector<std::unique_ptr<Distribution>> parts;
  parts.push_back(must(make_exponential(1.0)));
  parts.push_back(must(make_pareto(1.0, 1.5)));
  auto finite_mean = must(make_mixture({1, 1}, std::move(parts)));
  EXPECT_DOUBLE_EQ(finite_mean->mean(), 2.0);
  EXPECT_EQ(finite_mean->variance(), kInf);

  parts.clear();
  parts.push_back(must(make_exponential(1.0)));
  parts.push_back(must(make_pareto(1.0, 0.5)));
  auto no_mean = must(make_mixture({1, 1}, std::move(parts)));
  EXPECT_EQ(no_mean->mean(), kInf);
  EXPECT_EQ(no_mean->variance(), kInf);
}

// --- Reproducibility and the Duration helper. ---

TEST(DistributionsTest, SameStreamSameSamples) {
  auto d = must(make_gamma(0.7, 2.0));
  EXPECT_EQ(draw(*d, "repro", 1000), draw(*d, "repro", 1000));
  EXPECT_NE(draw(*d, "repro", 1000), draw(*d, "repro2", 1000));
}

TEST(DistributionsTest, SampleDuration) {
  Rng rng(1);
  EXPECT_EQ(sample_duration(*must(make_deterministic(0.0015)), rng), Duration::microseconds(1500));
  EXPECT_EQ(sample_duration(*must(make_deterministic(-3.0)), rng), Duration::zero());
  EXPECT_EQ(sample_duration(*must(make_deterministic(1e12)), rng), Duration::max());
  auto normal = must(make_normal(0.0, 1.0));
  for (int i = 0; i < 1000; ++i)
    ASSERT_GE(sample_duration(*normal, rng), Duration::zero());
}

// --- Bad parameters are errors, never crashes. ---

void expect_error(DistributionOrError r, std::string_view mentions) {
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.dist, nullptr);
  EXPECT_NE(r.error.find(mentions), std::string::npos) << "error: " << r.error;
}

TEST(DistributionsTest, BadParametersAreErrors) {
  expect_error(make_deterministic(kNaN), "value");
  expect_error(make_exponential(-1), "mean");
  expect_error(make_exponential(0), "mean");
  expect_error(make_exponential(kInf), "mean");
  expect_error(make_exponential(kNaN), "mean");
  expect_error(make_uniform(2, 1), "lo must be <= hi");
  expect_error(make_uniform(kNaN, 1), "finite");
  expect_error(make_uniform(-1e308, 1e308), "overflows");
  expect_error(make_normal(0, -1), "stddev");
  expect_error(make_normal(kInf, 1), "mean");
  expect_error(make_lognormal(0, -0.1), "sigma");
  expect_error(make_lognormal_from_mean_p99(10, 10), "p99 must be > mean");
  expect_error(make_lognormal_from_mean_p99(10, 5), "p99 must be > mean");
  expect_error(make_lognormal_from_mean_p99(-1, 5), "mean");
  expect_error(make_lognormal_from_mean_p99(0, 5), "mean");
  expect_error(make_lognormal_from_mean_p99(1, 1000), "no lognormal");
  expect_error(make_pareto(0, 2), "scale");
  expect_error(make_pareto(1, 0), "shape");
  expect_error(make_pareto(1, -1), "shape");
  expect_error(make_gamma(0, 1), "shape");
  expect_error(make_gamma(1, -1), "scale");
  expect_error(make_erlang(0, 1), "k");
  expect_error(make_erlang(2, -1), "mean");
  expect_error(make_hyperexponential({}, {}), "at least one");
  expect_error(make_hyperexponential({0.5, 0.5}, {1}), "means");
  expect_error(make_hyperexponential({0.5, 0.6}, {1, 2}), "sum to 1");
  expect_error(make_hyperexponential({-0.1, 1.1}, {1, 2}), "probabilities[0]");
  expect_error(make_hyperexponential({1}, {-1}), "means[0]");
  expect_error(make_empirical_from_samples({}), "at least one");
  expect_error(make_empirical_from_samples({1, kNaN}), "samples[1]");
  expect_error(make_empirical_from_histogram({0}, {}), "at least one bucket");
  expect_error(make_empirical_from_histogram({0, 1}, {1, 1}), "edges");
  expect_error(make_empirical_from_histogram({0, 1, 1}, {1, 1}), "strictly increasing");
  expect_error(make_empirical_from_histogram({0, 1}, {-1}), "counts[0]");
  expect_error(make_empirical_from_histogram({0, 1, 2}, {0, 0}), "positive");
  expect_error(make_empirical_from_histogram({0, kInf}, {1}), "finite");
  expect_error(make_mixture({}, {}), "at least one");
  {
    std::vector<std::unique_ptr<Distribution>> parts;
    parts.push_back(must(make_exponential(1)));
    parts.push_back(must(make_exponential(2)));
    expect_error(make_mixture({1, 0}, std::move(parts)), "weights[1]");
  }
  {
    std::vector<std::unique_ptr<Distribution>> parts;
    parts.push_back(must(make_exponential(1)));
    expect_error(make_mixture({1, 1}, std::move(parts)), "components");
  }
  {
    std::vector<std::unique_ptr<Distribution>> parts;
    parts.push_back(nullptr);
    expect_error(make_mixture({1}, std::move(parts)), "null");
  }
  {
    std::vector<std::unique_ptr<Distribution>> parts;
    parts.push_back(must(make_exponential(1)));
    expect_error(make_mixture({-2}, std::move(parts)), "weights[0]");
  }
}

}  // namespace
}  // namespace ingresslab::engine
