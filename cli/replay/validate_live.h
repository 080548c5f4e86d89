// `ingresslab validate-live`: the simulator's answer next to a measured one. The same scenario is
// simulated and replayed against the netns testbed at several loads (shares of the saturation
// rate the analytic model finds), and every figure both sides have is printed with the
// simulator's relative error, (sim - live) / live.
#pragma once

#include <string>
#include <vector>

#include "scenarios/proto/result.pb.h"

namespace ingresslab::replay {

// One compared figure at one load.
struct LiveRow {
  std::string metric;  // "p50 (ms)", "throughput (req/s)", "hop pod (ms/request)"
  double sim = 0;
  double live = 0;
  // (sim - live) / live; NaN when live is 0.
  double relative_error() const;
};

struct LiveLevel {
  double share = 0;  // of the saturation rate
  double offered_rps = 0;
  result::RunResult sim;
  result::RunResult live;
  std::vector<LiveRow> rows;
};

// The rows both results have: end-to-end p50/p90/p99/mean, throughput, success ratio, and per hop
// the mean time per request (hop mean x hop requests / end-to-end requests: the same quantity
// whether a hop is paid by every request, by new connections only, or by handshakes). The
// replay's `pod` hop (proxy → response headers) is compared with the simulation's pod_network +
// pod.
std::vector<LiveRow> compare_live(const result::RunResult& sim, const result::RunResult& live);

// A side-by-side table of every level (text), or CSV rows level,metric,sim,live,relative_error.
std::string render_live_text(const std::string& title, const std::vector<LiveLevel>& levels,
                             const std::vector<std::string>& notes);
std::string render_live_csv(const std::vector<LiveLevel>& levels);

}  // namespace ingresslab::replay
