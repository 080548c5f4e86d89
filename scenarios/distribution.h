// From a scenario's Distribution message to an engine distribution: the one place that does it.
// Validation calls it to report problems with field paths; the models call it to get what they
// sample. A scenario that validated therefore always builds.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/distributions.h"
#include "scenarios/proto/options.pb.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::scenarios {

// Receives one problem: the field path it is about and what is wrong, e.g.
//   ("services[1].pod.service_time.lognormal.p99", "must be > mean (got 2ms <= 5ms)").
using DistributionProblemReporter =
    std::function<void(const std::string& path, const std::string& message)>;

// Builds `dist`, whose numbers are in `unit` (the unit of the field that holds it: SECONDS,
// BYTES, or UNIT_NONE when unknown). Every problem the engine's factories find, and what they
// cannot see (negative times or sizes, an empirical distribution with no or two sources, a
// lognormal given both ways), goes to `report` with the path of the exact field below `path`;
// values are formatted in `unit` (`-1ms`, `2KiB`). Mixtures report each broken component.
// Returns nullptr when anything was reported, and also — without a report — when the
// distribution is or contains an empirical `csv`, whose data is read at run time, not here; then
// `*needs_csv` (if not null) is set.
std::shared_ptr<const engine::Distribution> build_distribution(
    const scenario::Distribution& dist, const std::string& path, scenario::Unit unit,
    const DistributionProblemReporter& report, bool* needs_csv = nullptr);

// Which of a Lognormal's two parameterisations is written: mean and p99, mu and sigma (a
// parameter counts as written when non-zero). Exactly one must be.
struct LognormalForm {
  bool mean_p99;
  bool mu_sigma;
};
LognormalForm lognormal_form(const scenario::Lognormal& lognormal);

// The same with the first problem as text (`lognormal.p99: must be ...`, paths relative to the
// distribution) in *error, for callers without a path or unit. A `csv` empirical distribution is
// an error here.
std::shared_ptr<const engine::Distribution> build_distribution(const scenario::Distribution& dist,
                                                               std::string* error);

// The same, reading an empirical `csv` (relative to `base_dir` unless absolute; one value per
// line in `unit`, a bare number or with a unit; `#` comments, empty lines and a header line are
// skipped). A bad file is an error naming it and the line:
// `empirical.csv: data/latency.csv:7: 'abc': ...`.
std::shared_ptr<const engine::Distribution> build_distribution(const scenario::Distribution& dist,
                                                               scenario::Unit unit,
                                                               const std::string& base_dir,
                                                               std::string* error);

}  // namespace ingresslab::scenarios
