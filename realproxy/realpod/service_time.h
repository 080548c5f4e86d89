// realpod's --service-time: a small distribution syntax over engine/distributions.h.
//
//   constant:2ms            always 2 ms
//   exponential:1ms         exponential with mean 1 ms
//   lognormal:2ms,10ms      lognormal with mean 2 ms and 99th percentile 10 ms
//   uniform:1ms,3ms         uniform on [1 ms, 3 ms)
//
// Durations take a unit (ns, us, ms, s; see realproxy/config/duration.h). Samples are seconds.
#pragma once

#include <string_view>

#include "engine/distributions.h"

namespace ingresslab::realproxy {

// The distribution, or an error naming what is wrong ("lognormal: p99 must be > mean ...").
engine::DistributionOrError parse_service_time(std::string_view spec);

}  // namespace ingresslab::realproxy
