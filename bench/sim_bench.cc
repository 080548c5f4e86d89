// Simulator throughput on the default scenario (bench/RESULTS.md).
//
// BM_CafeChain — scenarios/cafe.yaml end to end, one replication on one thread;
//   items_per_second = simulated requests per second of wall time (goal: >= 1M per core).
// BM_CafeReplications/T — 4 replications on T threads: the speed-up of T = 2 over T = 1.
#include <benchmark/benchmark.h>

#include "models/simulate.h"
#include "scenarios/loader.h"

namespace ingresslab {
namespace {

const scenarios::ResolvedScenario& cafe() {
  static const scenarios::ResolvedScenario resolved = [] {
    const auto loaded = scenarios::load_scenario_file(INGRESSLAB_SOURCE_DIR "/scenarios/cafe.yaml");
    return scenarios::resolve_scenario(loaded, "", {});
  }();
  return resolved;
}

void BM_CafeChain(benchmark::State& state) {
  const auto& r = cafe();
  if (!r.ok()) {
    state.SkipWithError(r.diagnostics.to_string().c_str());
    return;
  }
  models::SimulateOptions options;
  options.replications = 1;
  options.threads = 1;
  options.duration_s = 20;
  uint64_t requests = 0;
  for (auto _ : state) {
    const auto out = models::simulate(r.scenario, INGRESSLAB_SOURCE_DIR "/scenarios", options);
    requests += out.result.end_to_end().requests();
  }
  state.SetItemsProcessed(static_cast<int64_t>(requests));
}
BENCHMARK(BM_CafeChain)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CafeReplications(benchmark::State& state) {
  const auto& r = cafe();
  models::SimulateOptions options;
  options.replications = 4;
  options.threads = static_cast<int>(state.range(0));
  options.duration_s = 20;
  uint64_t requests = 0;
  for (auto _ : state) {
    const auto out = models::simulate(r.scenario, INGRESSLAB_SOURCE_DIR "/scenarios", options);
    requests += out.result.end_to_end().requests();
  }
  state.SetItemsProcessed(static_cast<int64_t>(requests));
}
BENCHMARK(BM_CafeReplications)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ingresslab

BENCHMARK_MAIN();
