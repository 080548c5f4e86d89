// `ingresslab run FILE`: simulate a scenario (the base and every variant, or one --variant) and
// print the report as text, JSON or CSV; with --report, also write the HTML report.
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/experiment.h"
#include "cli/report_html.h"
#include "cli/report_text.h"
#include "models/simulate.h"
#include "scenarios/loader.h"
#include "scenarios/yaml_reader.h"
#include "viz/offscreen.h"

namespace ingresslab::cli {
namespace {

struct RunArgs {
  std::string file;
  std::string variant;
  std::optional<uint64_t> seed;
  std::optional<int> replications;
  std::optional<int> threads;
  std::string duration;
  std::vector<std::string> sets;
  std::string format = "text";
  std::string output;
  std::string trace;
  std::string report;
};

// Renders and writes the HTML report; returns the exit code. The Qt application lives only here.
int write_report(const RunArgs& a, const result::RunResult& combined) {
  std::ifstream in(a.file, std::ios::binary);
  std::stringstream scenario_text;
  scenario_text << in.rdbuf();
  std::string html;
  {
    viz::OffscreenApplication qt;
    html = render_html(combined, scenario_text.str(), recorded_command());
  }
  std::ofstream f(a.report, std::ios::binary | std::ios::trunc);
  f << html;
  f.close();
  if (!f) {
    std::cerr << "ingresslab run: --report " << a.report << ": cannot write the file\n";
    return kExitUsage;
  }
  std::cerr << "report written to " << a.report << "\n";
  return kExitOk;
}

int run(const RunArgs& a) {
  const scenarios::LoadedScenario loaded = scenarios::load_scenario_file(a.file);
  if (!loaded.ok()) {
    std::cerr << loaded.diagnostics.to_string();
    return kExitUsage;
  }
  std::vector<std::pair<std::string, std::string>> assignments;
  for (const std::string& s : a.sets) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "ingresslab run: --set " << s << ": expected path=value\n";
      return kExitUsage;
    }
    assignments.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  if (!a.report.empty()) {
    if (std::string problem = output_path_problem(a.report); !problem.empty()) {
      std::cerr << "ingresslab run: --report " << a.report << ": " << problem << "\n";
      return kExitUsage;
    }
  }
  std::vector<std::string> variants;
  if (!a.variant.empty()) {
    variants.push_back(a.variant);
  } else {
    variants.push_back("");
    for (const auto& v : loaded.scenario.variants())
      variants.push_back(v.name());
  }
  models::SimulateOptions options;
  options.replications = a.replications;
  options.threads = a.threads;
  options.seed = a.seed;
  if (!a.duration.empty()) {
    options.duration_s = parse_duration_flag("ingresslab run", "--duration", a.duration, true);
    if (!options.duration_s) return kExitUsage;
  }
  options.cancel = interrupt_flag();
  options.abandon = abandon_flag();

  result::RunResult combined;
  for (const std::string& v : variants) {
    scenarios::ResolvedScenario resolved = scenarios::resolve_scenario(loaded, v, assignments);
    if (!resolved.ok()) {
      std::cerr << resolved.diagnostics.to_string();
      return kExitUsage;
    }
    const std::string label = v.empty() ? "base" : v;
    Progress progress(
        "run " + label,
        options.replications.value_or(static_cast<int>(resolved.scenario.run().replications())));
    options.on_progress = [&](int done, int) { progress.update(done); };
    // One trace per variant: FILE for a single run, FILE.<variant> when several run.
    options.trace_path = a.trace.empty() || variants.size() == 1 ? a.trace : a.trace + "." + label;
    models::SimulateOutput sim = models::simulate(resolved.scenario, loaded.base_dir, options);
    if (!sim.ok()) {
      std::cerr << a.file << ": " << sim.error << "\n";
      return kExitUsage;
    }
    sim.result.set_variant(v);
    if (interrupted()) sim.result.mutable_run()->set_partial(true);
    if (variants.size() == 1) {
      combined = sim.result;
    } else {
      if (v.empty()) {
        combined = sim.result;
        combined.set_variant("");
      }
      (*combined.mutable_variants())[label] = sim.result;
    }
    if (interrupted()) break;
  }
  std::string text;
  if (a.format == "json") {
    text = render_json(combined);
  } else if (a.format == "csv") {
    text = render_csv(combined);
  } else {
    text = render_text(combined);
  }
  if (a.output.empty()) {
    std::cout << text;
  } else {
    std::ofstream f(a.output, std::ios::binary);
    f << text;
    if (!f) {
      std::cerr << "ingresslab run: cannot write " << a.output << "\n";
      return kExitUsage;
    }
  }
  if (!a.report.empty()) {
    if (int code = write_report(a, combined); code != kExitOk) return code;
  }
  if (interrupted()) std::cerr << "interrupted: results are partial\n";
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "run",
      "Simulate a scenario: end-to-end and per-hop latency, throughput, errors, utilisation.\n\n"
      "Examples:\n  ingresslab run scenarios/cafe.yaml\n  ingresslab run scenarios/cafe.yaml "
      "--variant ipvs --format json -o result.json\n  ingresslab run scenarios/cafe.yaml "
      "--report report.html\n  ingresslab run scenarios/cafe.yaml --set "
      "workload.clients[0].open_loop.rate=5000/s --replications 10");
  auto args = std::make_shared<RunArgs>();
  cmd->add_option("file", args->file, "scenario file")->required();
  cmd->add_option("--variant", args->variant,
                  "run only this variant (default: base and every variant)");
  cmd->add_option("--seed", args->seed, "random seed (default: the scenario's run.seed)");
  cmd->add_option("--replications", args->replications, "independent replications")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--threads", args->threads, "threads for replications (0 = one per core)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--duration", args->duration,
                  "measured simulated time per replication, e.g. 30s");
  cmd->add_option("--set", args->sets,
                  "override a field: path=value (repeatable), e.g. "
                  "ingress.replicas=4");
  cmd->add_option("--format", args->format, "text, json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}));
  cmd->add_option("-o,--output", args->output, "write the report to this file");
  cmd->add_option("--trace", args->trace,
                  "write each measured request's per-hop span to FILE (length-delimited "
                  "result.Span; FILE.<variant> per variant when several run)");
  cmd->add_option("--report", args->report,
                  "also write a self-contained HTML report (charts, tables) to this file");
  cmd->callback([args, exit_code] { *exit_code = run(*args); });
}

}  // namespace ingresslab::cli
