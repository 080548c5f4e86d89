// `ingresslab replay`: drives a scenario's workload open-loop at a real target (the netns
// testbed, or a URL such as a kind cluster's NodePort) and measures it into a result::RunResult
// (run.source = "replay") — the same schema as a simulation, so every report works on it.
//
// What it can see: end-to-end latency from each request's intended send time (no coordinated
// omission), throughput, success and errors by cause, per route; TLS handshakes (client side);
// and — when realproxy's admin /metrics are reachable — the proxy's per-phase timing breakdown,
// which fills the hops ingress_proxy (header parse + route), upstream_connect and pod (upstream
// first byte: the pod network both ways and the pod). Hops it cannot see are absent, not zero.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "scenarios/proto/result.pb.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::replay {

struct ReplayOptions {
  // "testbed" or an http:// / https:// URL.
  std::string target;
  // The testbed's state directory (target testbed); empty = testbed::default_state_dir().
  std::string state_dir;
  // Overrides of the scenario (unset = the scenario's run.duration / run.warmup.fixed / rates).
  std::optional<double> duration_s;
  std::optional<double> warmup_s;
  std::optional<double> rps;  // total offered rate; every open-loop group scaled in proportion
  std::optional<uint64_t> seed;
  int threads = 1;
  int max_connections = 10000;
  // realproxy /metrics URLs to scrape before and after (added to the testbed's admin_urls).
  std::vector<std::string> metrics_urls;
  // Seconds to wait for answers after the last scheduled request (at most; the workload timeout
  // caps it too).
  double drain_s = 5;
};

struct ReplayOutput {
  result::RunResult result;
  std::string error;  // non-empty: nothing was run (bad input or target); says what and where
  std::vector<std::string> warnings;  // for stderr: generator saturated, metrics unreachable...
  bool ok() const { return error.empty(); }
};

// Runs `scenario` (resolved: see scenarios/loader.h) against the target. `scenario_path` is the
// file, for the result's name; `base_dir` resolves relative paths. Blocking.
ReplayOutput replay(const scenario::Scenario& scenario, const std::string& base_dir,
                    const ReplayOptions& options);

}  // namespace ingresslab::replay
