#include "realproxy/realpod/service_time.h"

#include <string>
#include <vector>

#include "realproxy/config/duration.h"

namespace ingresslab::realproxy {

engine::DistributionOrError parse_service_time(std::string_view spec) {
  const auto fail = [&](const std::string& why) {
    return engine::DistributionOrError{
        nullptr, "invalid service time \"" + std::string(spec) + "\": " + why};
  };
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) {
    return fail("expected KIND:ARGS, e.g. constant:2ms, exponential:1ms, lognormal:2ms,10ms");
  }
  const std::string_view kind = spec.substr(0, colon);
  std::vector<double> seconds;
  std::string_view rest = spec.substr(colon + 1);
  while (true) {
    const size_t comma = rest.find(',');
    const DurationOrError d = parse_duration(rest.substr(0, comma));
    if (!d.ok()) return fail(d.error);
    seconds.push_back(d.value.to_seconds());
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  const auto want = [&](size_t n) { return seconds.size() == n; };
  engine::DistributionOrError out;
  if (kind == "constant" && want(1)) {
    out = engine::make_deterministic(seconds[0]);
  } else if (kind == "exponential" && want(1)) {
    out = engine::make_exponential(seconds[0]);
  } else if (kind == "lognormal" && want(2)) {
    out = engine::make_lognormal_from_mean_p99(seconds[0], seconds[1]);
  } else if (kind == "uniform" && want(2)) {
    out = engine::make_uniform(seconds[0], seconds[1]);
  } else if (kind == "constant" || kind == "exponential") {
    return fail(std::string(kind) + " takes one duration");
  } else if (kind == "lognormal") {
    return fail("lognormal takes two durations: MEAN,P99");
  } else if (kind == "uniform") {
    return fail("uniform takes two durations: LO,HI");
  } else {
    return fail("unknown kind \"" + std::string(kind) +
                "\" (constant, exponential, lognormal, uniform)");
  }
  if (!out.ok()) return fail(out.error);
  return out;
}

}  // namespace ingresslab::realproxy
