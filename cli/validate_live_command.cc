// `ingresslab validate-live FILE`: simulate and replay (against the netns testbed) the same
// scenario at several shares of its saturation rate; print the side-by-side table with the
// simulator's relative errors (cli/replay/validate_live.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/experiment.h"
#include "cli/replay/netprobe.h"
#include "cli/replay/replay.h"
#include "cli/replay/validate_live.h"
#include "cli/testbed/state.h"
#include "models/analytic.h"
#include "models/simulate.h"
#include "scenarios/loader.h"
#include "scenarios/yaml_reader.h"

namespace ingresslab::cli {
namespace {

struct ValidateLiveArgs {
  std::string file;
  std::string variant;
  std::vector<std::string> sets;
  std::string levels = "30,50,80";
  std::string duration = "20s";
  std::string warmup = "2s";
  std::string cost_profile;
  std::optional<int> replications;
  int threads = 1;
  std::string sim_network = "measured";
  std::string state_dir;
  std::string format = "text";
  std::string output;
};

int run_validate_live(const ValidateLiveArgs& a) {
  const char* me = "ingresslab validate-live";
  std::vector<double> shares;
  {
    std::stringstream ss(a.levels);
    std::string item;
    while (std::getline(ss, item, ',')) {
      const std::optional<double> v = leading_number(item);
      if (!v || *v <= 0 || *v >= 100) {
        std::cerr << me << ": --levels " << a.levels << ": '" << item
                  << "' is not a percentage in (0, 100)\n";
        return kExitUsage;
      }
      shares.push_back(*v / 100);
    }
  }
  const std::optional<double> duration = parse_duration_flag(me, "--duration", a.duration, true);
  const std::optional<double> warmup = parse_duration_flag(me, "--warmup", a.warmup, false);
  if (!duration || !warmup) return kExitUsage;
  const double duration_s = *duration, warmup_s = *warmup;
  const scenarios::LoadedScenario loaded = scenarios::load_scenario_file(a.file);
  if (!loaded.ok()) {
    std::cerr << loaded.diagnostics.to_string();
    return kExitUsage;
  }
  std::vector<Assignment> assignments;
  if (!parse_set_flags(a.sets, me, &assignments)) return kExitUsage;
  if (!a.cost_profile.empty()) {
    std::error_code ec;
    const std::string abs = std::filesystem::absolute(a.cost_profile, ec).string();
    if (!std::filesystem::is_regular_file(abs, ec)) {
      std::cerr << me << ": --cost-profile " << a.cost_profile << ": no such file\n";
      return kExitUsage;
    }
    assignments.emplace_back("ingress.cost_profile", abs);
  }
  scenario::Scenario base;
  std::string error;
  if (!resolve_with(loaded, a.variant, assignments, &base, &error)) {
    std::cerr << error << "\n";
    return kExitUsage;
  }
  // The testbed must run this scenario.
  const std::string state_dir = a.state_dir.empty() ? testbed::default_state_dir() : a.state_dir;
  const auto state = testbed::read_state_file(testbed::state_file_path(state_dir), &error);
  if (!state) {
    std::cerr << me << ": " << error << " (start it with `ingresslab testbed up " << a.file
              << "`)\n";
    return kExitUsage;
  }
  std::vector<std::string> notes;
  std::error_code ec;
  if (!std::filesystem::equivalent(state->scenario, a.file, ec)) {
    notes.push_back("the testbed runs " + state->scenario + ", not " + a.file);
    std::cerr << "warning: " << notes.back() << "\n";
  }
  // The simulation gets the testbed's own network latencies, measured before each load (the
  // testbed cannot add the scenario's; cli/replay/netprobe.h), unless --sim-network scenario.
  const bool measure_network = a.sim_network == "measured";
  if (measure_network) {
    notes.push_back(std::string("network latencies of the simulation measured on the testbed "
                                "before each load: ") +
                    replay::kTestbedLatencyMethod);
  } else {
    notes.push_back(
        "simulated with the scenario's network latencies (--sim-network scenario), "
        "which the testbed does not add (see the not-emulated notes)");
  }
  const models::AnalyticResult analytic = models::analyze(base, loaded.base_dir);
  if (!analytic.ok() || !std::isfinite(analytic.saturation_rps) || analytic.saturation_rps <= 0) {
    std::cerr << me << ": cannot find the saturation rate: "
              << (analytic.ok() ? "no finite saturation" : analytic.error) << "\n";
    return kExitUsage;
  }
  const double saturation = analytic.saturation_rps;
  std::vector<replay::LiveLevel> levels;
  std::vector<std::string> live_notes;
  for (const double share : shares) {
    replay::LiveLevel level;
    level.share = share;
    level.offered_rps = share * saturation;
    std::vector<Assignment> at = assignments;
    at.emplace_back(kTotalRatePath, std::to_string(level.offered_rps) + "/s");
    scenario::Scenario resolved;
    if (!resolve_with(loaded, a.variant, at, &resolved, &error)) {
      std::cerr << error << "\n";
      return kExitUsage;
    }
    if (measure_network) {
      std::cerr << "load " << share * 100 << "%: measuring the testbed's network latencies...\n";
      const replay::TestbedLatency measured = replay::measure_testbed_latency(*state, 200);
      for (const std::string& e : measured.errors)
        std::cerr << "warning: network latency: " << e << "\n";
      std::string line = replay::apply_testbed_latency(measured, &resolved);
      if (line.empty()) {
        line =
            "the testbed's network latencies could not be measured: simulated with the "
            "scenario's";
      }
      std::cerr << line << "\n";
      char pct[32];
      std::snprintf(pct, sizeof pct, "load %.0f%%: ", share * 100);
      notes.push_back(pct + line);
    }
    // The same window on both sides: the warm-up is cut, then duration is measured.
    resolved.mutable_run()->mutable_warmup()->mutable_fixed()->set_seconds(
        static_cast<int64_t>(warmup_s));
    resolved.mutable_run()->mutable_warmup()->mutable_fixed()->set_nanos(
        static_cast<int32_t>((warmup_s - std::floor(warmup_s)) * 1e9));
    std::cerr << "load " << share * 100 << "%: simulating " << level.offered_rps << " req/s...\n";
    models::SimulateOptions sim_options;
    sim_options.duration_s = duration_s;
    sim_options.replications = a.replications;
    sim_options.cancel = interrupt_flag();
    models::SimulateOutput sim = models::simulate(resolved, loaded.base_dir, sim_options);
    if (!sim.ok()) {
      std::cerr << me << ": " << a.file << ": " << sim.error << "\n";
      return kExitUsage;
    }
    std::cerr << "load " << share * 100 << "%: replaying against the testbed...\n";
    replay::ReplayOptions live_options;
    live_options.target = "testbed";
    live_options.state_dir = state_dir;
    live_options.duration_s = duration_s;
    live_options.warmup_s = warmup_s;
    live_options.threads = a.threads;
    replay::ReplayOutput live = replay::replay(resolved, loaded.base_dir, live_options);
    if (!live.ok()) {
      std::cerr << me << ": " << live.error << "\n";
      return kExitUsage;
    }
    for (const std::string& w : live.warnings)
      std::cerr << "warning: " << w << "\n";
    for (const std::string& n : live.result.run().notes()) {
      if (std::find(live_notes.begin(), live_notes.end(), n) == live_notes.end() &&
          n.rfind("load generator", 0) != 0) {
        live_notes.push_back(n);
      }
    }
    level.sim = std::move(sim.result);
    level.live = std::move(live.result);
    level.rows = replay::compare_live(level.sim, level.live);
    levels.push_back(std::move(level));
    if (interrupted()) break;
  }
  notes.push_back("saturation " + std::to_string(static_cast<long long>(saturation)) +
                  " req/s from the analytic model (" + base.name() + ")");
  for (const auto& n : live_notes)
    notes.push_back("live: " + n);
  const std::string title = "validate-live " + base.name() + ": simulation vs the netns testbed (" +
                            state->kube_proxy_mode + " kube-proxy), " + a.duration +
                            " measured per load after " + a.warmup + " warm-up";
  const std::string text = a.format == "csv" ? replay::render_live_csv(levels)
                                             : replay::render_live_text(title, levels, notes);
  return write_output(a.output, text, "validate-live") ? kExitOk : kExitUsage;
}

}  // namespace

void add_validate_live_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "validate-live",
      "Simulate and replay (against the testbed that `ingresslab testbed up` built) the same "
      "scenario at several loads, and print both side by side with the simulator's relative "
      "error: p50/p90/p99, throughput, success and the hops both see.\n\nExample:\n  ingresslab "
      "testbed up scenarios/cafe.yaml && ingresslab validate-live scenarios/cafe.yaml "
      "--cost-profile profiles/local.textproto");
  auto args = std::make_shared<ValidateLiveArgs>();
  cmd->add_option("file", args->file, "scenario file (the one the testbed runs)")->required();
  cmd->add_option("--variant", args->variant, "use this variant of the scenario");
  cmd->add_option("--set", args->sets, "override a field: path=value (repeatable)");
  cmd->add_option("--levels", args->levels,
                  "loads, in % of the saturation rate the analytic model finds")
      ->capture_default_str();
  cmd->add_option("--duration", args->duration, "measured time per load (both sides)")
      ->capture_default_str();
  cmd->add_option("--warmup", args->warmup, "warm-up cut before measuring (both sides)")
      ->capture_default_str();
  cmd->add_option("--cost-profile", args->cost_profile,
                  "CostProfile of this machine (`realproxy calibrate -o FILE`) for the simulation");
  cmd->add_option("--replications", args->replications, "simulation replications per load")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--threads", args->threads, "load-generator threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--sim-network", args->sim_network,
                  "network latencies of the simulation: `measured` on the testbed before the "
                  "loads (replacing cluster.network.*_latency, also when --set), or the "
                  "`scenario`'s")
      ->check(CLI::IsMember({"measured", "scenario"}))
      ->capture_default_str();
  cmd->add_option("--state-dir", args->state_dir, "testbed state directory");
  cmd->add_option("--format", args->format, "text or csv")->check(CLI::IsMember({"text", "csv"}));
  cmd->add_option("-o,--output", args->output, "write the table to this file");
  cmd->callback([args, exit_code] { *exit_code = run_validate_live(*args); });
}

}  // namespace ingresslab::cli
