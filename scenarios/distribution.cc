#include "scenarios/distribution.h"

#include <cmath>
#include <fstream>
#include <utility>
#include <vector>

#include "scenarios/units.h"

namespace ingresslab::scenarios {
namespace {

using D = scenario::Distribution;
using scenario::Unit;

// The largest Erlang shape the engine is asked to build (its sampler loops k times).
constexpr uint32_t kMaxErlangK = 1'000'000;

std::string index_path(const std::string& base, int i) {
  return base + "[" + std::to_string(i) + "]";
}

// The values of an empirical `csv` file: one per line, in `unit` (a bare number, or with a unit
// as scenario files write them: `2ms`, `4KiB`); empty lines and `#` comments are skipped, and a
// first line that is not a value is a header. False with "<file>:<line>: <what>" in *problem.
bool read_samples_csv(const std::string& name, const std::string& base_dir, Unit unit,
                      std::vector<double>* samples, std::string* problem) {
  const std::string path = !name.empty() && name[0] != '/' ? base_dir + "/" + name : name;
  std::ifstream in(path);
  if (!in) {
    *problem = "cannot read '" + path + "'";
    return false;
  }
  std::string line;
  size_t line_no = 0;
  bool first = true;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view v = line;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
      v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r'))
      v.remove_suffix(1);
    if (v.empty() || v.front() == '#') continue;
    const Parsed parsed = unit == scenario::SECONDS ? parse_seconds(v)
                          : unit == scenario::BYTES ? parse_bytes(v)
                                                    : parse_number(v);
    const bool header = first && !parsed.ok();
    first = false;
    if (header) continue;
    if (!parsed.ok()) {
      *problem =
          path + ":" + std::to_string(line_no) + ": '" + std::string(v) + "': " + parsed.error +
          (v.find(',') != std::string_view::npos ? " (the file holds one value per line)" : "");
      return false;
    }
    if ((unit == scenario::SECONDS || unit == scenario::BYTES) && parsed.value < 0) {
      *problem = path + ":" + std::to_string(line_no) + ": must be >= 0 (got " +
                 format_value(parsed.value, unit) + ")";
      return false;
    }
    samples->push_back(parsed.value);
  }
  if (samples->empty()) {
    *problem = path + ": no values";
    return false;
  }
  return true;
}

// One build: reports problems, remembers whether a CSV was met (or, given a base directory,
// reads it).
class Builder {
 public:
  Builder(const DistributionProblemReporter& report, bool* needs_csv,
          const std::string* base_dir = nullptr)
      : report_(report), needs_csv_(needs_csv), base_dir_(base_dir) {}

  std::unique_ptr<engine::Distribution> build(const D& dist, const std::string& path, Unit unit) {
    const bool nonnegative = unit == scenario::SECONDS || unit == scenario::BYTES;
    switch (dist.kind_case()) {
      case D::KIND_NOT_SET:
        return fail(path,
                    "a distribution needs exactly one kind: constant, exponential, uniform, "
                    "normal, lognormal, pareto, gamma, erlang, hyperexponential, empirical or "
                    "mixture (e.g. 'exponential 2ms' or {lognormal: {mean: 2ms, p99: 10ms}})");
      case D::kConstant:
        if (nonnegative && dist.constant() < 0) {
          return fail(path + ".constant",
                      "must be >= 0 (got " + format_value(dist.constant(), unit) + ")");
        }
        return take(engine::make_deterministic(dist.constant()), path + ".constant");
      case D::kExponential:
        return take(engine::make_exponential(dist.exponential().mean()), path + ".exponential");
      case D::kUniform:
        return take(engine::make_uniform(dist.uniform().min(), dist.uniform().max()),
                    path + ".uniform");
      case D::kNormal:
        return take(engine::make_normal(dist.normal().mean(), dist.normal().stddev()),
                    path + ".normal");
      case D::kLognormal:
        return lognormal(dist.lognormal(), path + ".lognormal", unit);
      case D::kPareto:
        return take(engine::make_pareto(dist.pareto().scale(), dist.pareto().shape()),
                    path + ".pareto");
      case D::kGamma:
        return take(engine::make_gamma(dist.gamma().shape(), dist.gamma().scale()),
                    path + ".gamma");
      case D::kErlang: {
        const uint32_t k = dist.erlang().k();
        if (k > kMaxErlangK) {
          return fail(path + ".erlang.k", "must be <= " + std::to_string(kMaxErlangK) + " (got " +
                                              std::to_string(k) + ")");
        }
        return take(engine::make_erlang(static_cast<int>(k), dist.erlang().mean()),
                    path + ".erlang");
      }
      case D::kHyperexponential:
        return hyperexponential(dist.hyperexponential(), path + ".hyperexponential.phases");
      case D::kEmpirical:
        return empirical(dist.empirical(), path + ".empirical", unit, nonnegative);
      case D::kMixture:
        return mixture(dist.mixture(), path + ".mixture.components", unit);
    }
    return fail(path, "internal: unknown distribution kind");
  }

 private:
  std::unique_ptr<engine::Distribution> fail(const std::string& path, const std::string& message) {
    report_(path, message);
    return nullptr;
  }

  std::unique_ptr<engine::Distribution> take(engine::DistributionOrError built,
                                             const std::string& path) {
    if (!built.ok()) return fail(path, built.error);
    return std::move(built.dist);
  }

  std::unique_ptr<engine::Distribution> lognormal(const scenario::Lognormal& l,
                                                  const std::string& path, Unit unit) {
    const LognormalForm form = lognormal_form(l);
    if (form.mean_p99 && form.mu_sigma) {
      return fail(path, "give either mean and p99, or mu and sigma, not both");
    }
    if (!form.mean_p99 && !form.mu_sigma) {
      return fail(path, "give mean and p99 (e.g. {mean: 5ms, p99: 40ms}), or mu and sigma");
    }
    if (form.mu_sigma) return take(engine::make_lognormal(l.mu(), l.sigma()), path);
    engine::DistributionOrError built = engine::make_lognormal_from_mean_p99(l.mean(), l.p99());
    if (!built.ok() && l.mean() > 0 && l.p99() > l.mean()) {
      // The one rule no valid_range expresses: a lognormal's p99 is at most
      // exp(z99^2 / 2) ~ 14.97 times its mean.
      const double limit = std::exp(0.5 * 2.3263478740408408 * 2.3263478740408408);
      return fail(path + ".p99",
                  "must be <= " + format_number(limit) + " x mean (got " +
                      format_value(l.p99(), unit) + " = " + format_number(l.p99() / l.mean()) +
                      " x " + format_value(l.mean(), unit) +
                      "): no lognormal has a larger p99/mean ratio; for a heavier tail use "
                      "pareto, hyperexponential or a mixture");
    }
    return take(std::move(built), path);
  }

  std::unique_ptr<engine::Distribution> hyperexponential(const scenario::Hyperexponential& h,
                                                         const std::string& path) {
    std::vector<double> probabilities, means;
    for (const auto& phase : h.phases()) {
      probabilities.push_back(phase.probability());
      means.push_back(phase.mean());
    }
    if (probabilities.empty()) return fail(path, "needs at least one phase");
    double total = 0;
    for (double p : probabilities)
      total += p;
    if (!(std::fabs(total - 1.0) <= 1e-6)) {
      return fail(path,
                  "probabilities must sum to 1 (got " + format_value(total, scenario::RATIO) + ")");
    }
    // Users write decimals (0.9 + 0.1): absorb their rounding, as the factory requires 1e-9.
    for (double& p : probabilities)
      p /= total;
    return take(engine::make_hyperexponential(probabilities, means), path);
  }

  std::unique_ptr<engine::Distribution> empirical(const scenario::Empirical& e,
                                                  const std::string& path, Unit unit,
                                                  bool nonnegative) {
    const int sources =
        (e.samples_size() > 0) + (e.edges_size() > 0 || e.counts_size() > 0) + !e.csv().empty();
    if (sources != 1) {
      return fail(path, std::string(sources == 0 ? "no data: " : "more than one source: ") +
                            "give exactly one of samples, edges with counts, or csv");
    }
    if (!e.csv().empty()) {
      if (base_dir_ == nullptr) {
        if (needs_csv_ != nullptr) *needs_csv_ = true;
        return nullptr;
      }
      std::vector<double> samples;
      std::string problem;
      if (!read_samples_csv(e.csv(), *base_dir_, unit, &samples, &problem)) {
        return fail(path + ".csv", problem);
      }
      return take(engine::make_empirical_from_samples(std::move(samples)), path + ".csv");
    }
    if (nonnegative) {
      const auto& values = e.samples_size() > 0 ? e.samples() : e.edges();
      const std::string field = e.samples_size() > 0 ? ".samples" : ".edges";
      for (int i = 0; i < values.size(); ++i) {
        if (values[i] < 0) {
          return fail(index_path(path + field, i),
                      "must be >= 0 (got " + format_value(values[i], unit) + ")");
        }
      }
    }
    if (e.samples_size() > 0) {
      return take(engine::make_empirical_from_samples({e.samples().begin(), e.samples().end()}),
                  path + ".samples");
    }
    engine::DistributionOrError built = engine::make_empirical_from_histogram(
        {e.edges().begin(), e.edges().end()}, {e.counts().begin(), e.counts().end()});
    const bool about_counts = !built.ok() && built.error.find("counts") != std::string::npos;
    return take(std::move(built), path + (about_counts ? ".counts" : ".edges"));
  }

  std::unique_ptr<engine::Distribution> mixture(const scenario::Mixture& m, const std::string& path,
                                                Unit unit) {
    const auto& components = m.components();
    if (components.empty()) return fail(path, "needs at least one component");
    std::vector<double> weights;
    std::vector<std::unique_ptr<engine::Distribution>> built;
    bool skip = false;
    for (int i = 0; i < components.size(); ++i) {
      const std::string cpath = index_path(path, i);
      weights.push_back(components[i].weight());
      if (!components[i].has_distribution()) {
        fail(cpath + ".distribution", "required: the component's distribution");
        skip = true;
        continue;
      }
      // Every component is built, so that each broken one is reported.
      std::unique_ptr<engine::Distribution> inner =
          build(components[i].distribution(), cpath + ".distribution", unit);
      if (inner == nullptr) skip = true;
      built.push_back(std::move(inner));
    }
    if (skip) return nullptr;
    return take(engine::make_mixture(weights, std::move(built)), path);
  }

  const DistributionProblemReporter& report_;
  bool* needs_csv_;
  const std::string* base_dir_;
};

}  // namespace

LognormalForm lognormal_form(const scenario::Lognormal& l) {
  return {l.mean() != 0 || l.p99() != 0, l.mu() != 0 || l.sigma() != 0};
}

std::shared_ptr<const engine::Distribution> build_distribution(
    const scenario::Distribution& dist, const std::string& path, scenario::Unit unit,
    const DistributionProblemReporter& report, bool* needs_csv) {
  return Builder(report, needs_csv).build(dist, path, unit);
}

std::shared_ptr<const engine::Distribution> build_distribution(const scenario::Distribution& dist,
                                                               scenario::Unit unit,
                                                               const std::string& base_dir,
                                                               std::string* error) {
  std::string first;
  const auto report = [&](const std::string& path, const std::string& message) {
    if (!first.empty()) return;
    const std::string relative = path.starts_with('.') ? path.substr(1) : path;
    first = relative.empty() ? message : relative + ": " + message;
  };
  std::shared_ptr<const engine::Distribution> built =
      Builder(report, nullptr, &base_dir).build(dist, "", unit);
  if (built == nullptr && error != nullptr)
    *error = first.empty() ? "cannot build the distribution" : first;
  return built;
}

std::shared_ptr<const engine::Distribution> build_distribution(const scenario::Distribution& dist,
                                                               std::string* error) {
  std::string first;
  const auto report = [&](const std::string& path, const std::string& message) {
    if (!first.empty()) return;
    // Paths below the (empty) root start with '.'.
    const std::string relative = path.starts_with('.') ? path.substr(1) : path;
    first = relative.empty() ? message : relative + ": " + message;
  };
  bool needs_csv = false;
  std::shared_ptr<const engine::Distribution> built =
      build_distribution(dist, "", scenario::UNIT_NONE, report, &needs_csv);
  if (built == nullptr && error != nullptr) {
    *error = !first.empty() ? first
             : needs_csv    ? "empirical distributions from a CSV file are not supported yet"
                            : "cannot build the distribution";
  }
  return built;
}

}  // namespace ingresslab::scenarios
