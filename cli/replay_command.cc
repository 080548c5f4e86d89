// `ingresslab replay FILE --target testbed|URL`: drive the scenario's workload open-loop at a real
// data path and report what it measured, in the same RunResult schema (and the same text, JSON,
// CSV and HTML reports) as `ingresslab run`.
#include <iostream>

#include "cli/commands.h"
#include "cli/experiment.h"
#include "cli/replay/replay.h"
#include "cli/report_html.h"
#include "cli/report_text.h"
#include "scenarios/loader.h"
#include "scenarios/yaml_reader.h"
#include "viz/offscreen.h"

namespace ingresslab::cli {
namespace {

// Exit code when the run happened but the target answered no request successfully.
constexpr int kExitNothingSucceeded = 1;

struct ReplayArgs {
  std::string file;
  std::string target;
  std::string variant;
  std::vector<std::string> sets;
  std::string duration;
  std::string warmup;
  std::string rps;
  std::optional<uint64_t> seed;
  int threads = 1;
  int connections = 10000;
  std::string state_dir;
  std::vector<std::string> metrics_urls;
  std::string format = "text";
  std::string output;
  std::string report;
};

int run_replay(const ReplayArgs& a) {
  const scenarios::LoadedScenario loaded = scenarios::load_scenario_file(a.file);
  if (!loaded.ok()) {
    std::cerr << loaded.diagnostics.to_string();
    return kExitUsage;
  }
  std::vector<Assignment> assignments;
  if (!parse_set_flags(a.sets, "ingresslab replay", &assignments)) return kExitUsage;
  if (!a.rps.empty()) assignments.emplace_back(kTotalRatePath, a.rps);
  replay::ReplayOptions options;
  options.target = a.target;
  options.state_dir = a.state_dir;
  options.seed = a.seed;
  options.threads = a.threads;
  options.max_connections = a.connections;
  options.metrics_urls = a.metrics_urls;
  if (!a.duration.empty()) {
    options.duration_s = parse_duration_flag("ingresslab replay", "--duration", a.duration, true);
    if (!options.duration_s) return kExitUsage;
  }
  if (!a.warmup.empty()) {
    options.warmup_s = parse_duration_flag("ingresslab replay", "--warmup", a.warmup, false);
    if (!options.warmup_s) return kExitUsage;
  }
  for (const std::string* path : {&a.output, &a.report}) {
    if (path->empty() || *path == "-") continue;
    if (std::string problem = output_path_problem(*path); !problem.empty()) {
      std::cerr << "ingresslab replay: " << *path << ": " << problem << "\n";
      return kExitUsage;
    }
  }
  scenario::Scenario resolved;
  std::string error;
  if (!resolve_with(loaded, a.variant, assignments, &resolved, &error)) {
    std::cerr << error;
    if (!error.empty() && error.back() != '\n') std::cerr << "\n";
    return kExitUsage;
  }
  std::cerr << "replaying " << resolved.name() << " against " << a.target << "...\n";
  replay::ReplayOutput out = replay::replay(resolved, loaded.base_dir, options);
  if (!out.ok()) {
    std::cerr << "ingresslab replay: " << out.error << "\n";
    return kExitUsage;
  }
  for (const std::string& w : out.warnings)
    std::cerr << "warning: " << w << "\n";
  out.result.set_variant(a.variant);
  const std::string text = a.format == "json"  ? render_json(out.result)
                           : a.format == "csv" ? render_csv(out.result)
                                               : render_text(out.result);
  if (!write_output(a.output, text, "replay")) return kExitUsage;
  if (!a.report.empty()) {
    std::string html;
    {
      viz::OffscreenApplication qt;
      html = render_html(out.result, read_text_file(a.file), recorded_command());
    }
    if (!write_output(a.report, html, "replay")) return kExitUsage;
    std::cerr << "report written to " << a.report << "\n";
  }
  if (out.result.end_to_end().succeeded() == 0) {
    std::cerr << "ingresslab replay: no request succeeded (errors by cause: refused "
              << out.result.errors().refused() << ", timeout " << out.result.errors().timeout()
              << ", 503 " << out.result.errors().http_503() << ", 404 "
              << out.result.errors().no_route() << ")\n";
    return kExitNothingSucceeded;
  }
  return kExitOk;
}

}  // namespace

void add_replay_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "replay",
      "Drive a scenario's workload open-loop at a real target (the netns testbed or a URL) and "
      "measure it into the same result as `run` (latency from each request's intended send "
      "time; no coordinated omission).\n\nExit codes: 0 ok, 1 no request succeeded, 2 bad "
      "input or target.\n\nExamples:\n  ingresslab replay scenarios/cafe.yaml --target testbed\n"
      "  ingresslab replay scenarios/cafe.yaml --target https://127.0.0.1:30443 --rps 500 "
      "--duration 10s --format json -o live.json");
  auto args = std::make_shared<ReplayArgs>();
  cmd->add_option("file", args->file, "scenario file")->required();
  cmd->add_option("--target", args->target,
                  "`testbed` (the state file of `ingresslab testbed up`) or an http(s):// URL")
      ->required();
  cmd->add_option("--variant", args->variant, "replay this variant of the scenario");
  cmd->add_option("--set", args->sets, "override a field: path=value (repeatable)");
  cmd->add_option("--duration", args->duration,
                  "measured time (default: the scenario's run.duration), e.g. 30s");
  cmd->add_option("--warmup", args->warmup,
                  "time sent but not measured first (default: run.warmup.fixed)");
  cmd->add_option("--rps", args->rps,
                  "total offered rate; every open-loop group scaled in proportion, e.g. 500/s");
  cmd->add_option("--seed", args->seed, "random seed of the schedule (default: run.seed)");
  cmd->add_option("--threads", args->threads, "load-generator threads (event loops)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--connections", args->connections,
                  "most client connections open at once (requests beyond wait, and that wait "
                  "counts)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--state-dir", args->state_dir,
                  "testbed state directory (default: $INGRESSLAB_STATE_DIR or /run/ingresslab)");
  cmd->add_option("--metrics-url", args->metrics_urls,
                  "realproxy admin /metrics URL to read the proxy hops from (repeatable; the "
                  "testbed's are added)");
  cmd->add_option("--format", args->format, "text, json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}));
  cmd->add_option("-o,--output", args->output, "write the report to this file");
  cmd->add_option("--report", args->report, "also write the HTML report to this file");
  cmd->callback([args, exit_code] { *exit_code = run_replay(*args); });
}

}  // namespace ingresslab::cli
