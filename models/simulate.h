// Simulating a scenario: the whole ingress chain per request, over independent replications.
//
//   client ─(LB)─▶ node: kube-proxy NAT ─▶ ingress pod: TLS, parse/route/relay on a worker CPU,
//   load balancing ─▶ upstream connection ─▶ network ─▶ pod: queue + service ─▶ back
//
// Every request records the time it spent in each hop (queueing and service apart); the result
// is a RunResult (scenarios/proto/result.proto), the same schema a replay against a real data
// path produces. docs/models.md lists each modelling assumption and its source.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "engine/histogram.h"
#include "scenarios/proto/cost_profile.pb.h"
#include "scenarios/proto/result.pb.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::models {

struct SimulateOptions {
  // Overrides of the scenario's run settings (unset = the scenario's).
  std::optional<int> replications;
  std::optional<int> threads;
  std::optional<uint64_t> seed;
  std::optional<double> duration_s;
  // Set from another thread (Ctrl-C) to stop: replications not started are skipped, running ones
  // finish, and the result (of those that finished) is marked partial.
  const std::atomic<bool>* cancel = nullptr;
  // Set to stop now (a second Ctrl-C, the visualizer's Cancel): running replications too are
  // abandoned within a quarter of a simulated second; the result is that of the replications
  // that had finished, or the error "no replication finished (cancelled)".
  const std::atomic<bool>* abandon = nullptr;
  // Write a trace of every `trace_every`-th measured request (all replications) to this file, as
  // length-delimited result::Span messages (result.proto). Empty = the scenario's
  // outputs.trace; both empty = no trace.
  std::string trace_path;
  // Called after each replication with (finished, total).
  std::function<void(int, int)> on_progress;
};

struct SimulateOutput {
  result::RunResult result;
  std::string error;  // non-empty: the scenario cannot be simulated (says why)
  bool ok() const { return error.empty(); }
};

// Runs `scenario` (resolved: defaults filled and validated; see scenarios/loader.h). `base_dir`
// resolves relative paths (cost profile). Thread-safe; runs replications on a thread pool.
SimulateOutput simulate(const scenario::Scenario& scenario, const std::string& base_dir,
                        const SimulateOptions& options = {});

// The cost profile a scenario uses: its `ingress.cost_profile` file, or the built-in default
// (profiles/default.textproto). Returns false and sets *error if the file is missing or invalid.
bool load_cost_profile(const scenario::Scenario& scenario, const std::string& base_dir,
                       profile::CostProfile* out, std::string* error);

// The LatencyMs summary (count, mean and percentiles in ms) of a histogram of nanosecond values;
// every RunResult producer (simulation, replay, the visualizer's trace reader) fills its
// latencies with it, so they all read the same way.
void fill_latency_ms(const engine::LatencyHistogram& h, result::LatencyMs* out);

}  // namespace ingresslab::models
