// `ingresslab run FILE`: simulate a scenario (the base and every variant, or one --variant) and
// print the report as text, JSON or CSV; with --report, also write the HTML report.
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/report_html.h"
#include "cli/report_text.h"
#include "models/simulate.h"
#include "scenarios/loader.h"
#include "scenarios/yaml_reader.h"
#include "viz/offscreen.h"

namespace ingresslab::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) {
  g_interrupted.store(true);
}

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

// `arg` as a POSIX shell word.
std::string shell_quote(const std::string& arg) {
  const bool plain = !arg.empty() && arg.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_-./:=@%+,") == std::string::npos;
  if (plain) return arg;
  std::string quoted = "'";
  for (char c : arg) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

// The command that reproduces this run: the options as given, from the directory it ran in.
std::string command_line_of(const RunArgs& a) {
  std::string cmd = "ingresslab run " + shell_quote(a.file);
  auto option = [&](const std::string& name, const std::string& value) {
    cmd += " " + name + " " + shell_quote(value);
  };
  if (!a.variant.empty()) option("--variant", a.variant);
  if (a.seed) option("--seed", std::to_string(*a.seed));
  if (a.replications) option("--replications", std::to_string(*a.replications));
  if (a.threads) option("--threads", std::to_string(*a.threads));
  if (!a.duration.empty()) option("--duration", a.duration);
  for (const std::string& s : a.sets) {
    option("--set", s);
  }
  if (a.format != "text") option("--format", a.format);
  if (!a.output.empty()) option("-o", a.output);
  option("--report", a.report);
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  return ec ? cmd : "cd " + shell_quote(cwd.string()) + "\n" + cmd;
}

// Why the report cannot be written to `path`, or "" when it looks writable. Checked before the
// simulation so a long run does not end in a typo.
std::string report_path_problem(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return "is a directory";
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) return "directory " + dir.string() + " does not exist";
  if (access(dir.c_str(), W_OK) != 0) return "directory " + dir.string() + " is not writable";
  return "";
}

// Renders and writes the HTML report; returns the exit code. The Qt application lives only here.
int write_report(const RunArgs& a, const result::RunResult& combined) {
  std::ifstream in(a.file, std::ios::binary);
  std::stringstream scenario_text;
  scenario_text << in.rdbuf();
  std::string html;
  {
    viz::OffscreenApplication qt;
    html = render_html(combined, scenario_text.str(), command_line_of(a));
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
    if (std::string problem = report_path_problem(a.report); !problem.empty()) {
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
    // Same units as the scenario: reuse the loader through an assignment on a scratch copy.
    scenario::Scenario scratch;
    if (std::string e = scenarios::assign_field_path(&scratch, "run.duration", a.duration);
        !e.empty()) {
      std::cerr << "ingresslab run: --duration " << a.duration << ": " << e << "\n";
      return kExitUsage;
    }
    options.duration_s = static_cast<double>(scratch.run().duration().seconds()) +
                         scratch.run().duration().nanos() * 1e-9;
    if (*options.duration_s <= 0) {
      std::cerr << "ingresslab run: --duration must be > 0\n";
      return kExitUsage;
    }
  }
  options.cancel = &g_interrupted;
  std::signal(SIGINT, on_sigint);
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto started = std::chrono::steady_clock::now();

  result::RunResult combined;
  for (const std::string& v : variants) {
    scenarios::ResolvedScenario resolved = scenarios::resolve_scenario(loaded, v, assignments);
    if (!resolved.ok()) {
      std::cerr << resolved.diagnostics.to_string();
      return kExitUsage;
    }
    const std::string label = v.empty() ? "base" : v;
    options.on_progress = [&](int done, int total) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (elapsed < 1.0 && done < total) return;
      if (tty) {
        std::fprintf(stderr, "\r%s: replication %d/%d (%.1fs)%s", label.c_str(), done, total,
                     elapsed, done == total ? "\n" : "");
      } else {
        std::fprintf(stderr, "%s: replication %d/%d done (%.1fs)\n", label.c_str(), done, total,
                     elapsed);
      }
    };
    // One trace per variant: FILE for a single run, FILE.<variant> when several run.
    options.trace_path = a.trace.empty() || variants.size() == 1 ? a.trace : a.trace + "." + label;
    models::SimulateOutput sim = models::simulate(resolved.scenario, loaded.base_dir, options);
    if (!sim.ok()) {
      std::cerr << a.file << ": " << sim.error << "\n";
      return kExitUsage;
    }
    sim.result.set_variant(v);
    if (g_interrupted.load()) sim.result.mutable_run()->set_partial(true);
    if (variants.size() == 1) {
      combined = sim.result;
    } else {
      if (v.empty()) {
        combined = sim.result;
        combined.set_variant("");
      }
      (*combined.mutable_variants())[label] = sim.result;
    }
    if (g_interrupted.load()) break;
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
  if (g_interrupted.load()) std::cerr << "interrupted: results are partial\n";
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
