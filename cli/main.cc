// ingresslab: simulate Kubernetes ingress routing. See `ingresslab --help`.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "cli/commands.h"

#ifndef INGRESSLAB_VERSION
#define INGRESSLAB_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{
      "ingresslab — a discrete-event simulator and benchmark harness for Kubernetes ingress "
      "routing.\n\nExamples:\n"
      "  ingresslab run scenarios/cafe.yaml --report report.html\n"
      "  ingresslab validate scenarios/*.yaml\n"
      "  ingresslab compare scenarios/cafe.yaml\n"
      "  ingresslab sweep scenarios/cafe.yaml --set workload.rps=1000..8000:1000\n"
      "  ingresslab plan scenarios/cafe.yaml --target-rps 4000 --slo p99=50ms "
      "--vary ingress.replicas=1..4\n"
      "  ingresslab report result.json -o report.html\n"
      "  sudo ingresslab testbed up scenarios/cafe.yaml && sudo ingresslab replay "
      "scenarios/cafe.yaml --target testbed\n"
      "  ingresslab export kind scenarios/cafe.yaml -o out/kind\n"
      "  ingresslab schema -o docs/scenario-reference.md\n\n"
      "Exit codes: 0 ok, 1 SLO not met (plan) or nothing succeeded (replay), 2 usage or input "
      "error. Every command has --help with examples.",
      "ingresslab"};
  app.set_version_flag("--version", "ingresslab " INGRESSLAB_VERSION);
  app.require_subcommand(1);
  int exit_code = ingresslab::cli::kExitOk;
  ingresslab::cli::add_run_command(app, &exit_code);
  ingresslab::cli::add_validate_command(app, &exit_code);
  ingresslab::cli::add_schema_command(app, &exit_code);
  ingresslab::cli::add_compare_command(app, &exit_code);
  ingresslab::cli::add_sweep_command(app, &exit_code);
  ingresslab::cli::add_plan_command(app, &exit_code);
  ingresslab::cli::add_report_command(app, &exit_code);
  ingresslab::cli::add_replay_command(app, &exit_code);
  ingresslab::cli::add_export_command(app, &exit_code);
  ingresslab::cli::add_validate_live_command(app, &exit_code);
  ingresslab::cli::add_testbed_command(app, &exit_code);
  ingresslab::cli::set_reproduce_command(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a mistyped command as "A subcommand is required"; name the word instead.
    if (argc > 1 && argv[1][0] != '-' && app.get_subcommands().empty()) {
      std::string commands;
      for (const CLI::App* sub : app.get_subcommands({})) {
        commands += (commands.empty() ? "" : ", ") + sub->get_name();
      }
      std::cerr << "ingresslab: unknown command '" << argv[1] << "' (commands: " << commands
                << ")\n(run 'ingresslab --help' for usage)\n";
      return ingresslab::cli::kExitUsage;
    }
    std::cerr << "ingresslab: " << e.what() << "\n(run 'ingresslab --help' for usage)\n";
    return ingresslab::cli::kExitUsage;
  }
  return exit_code;
}
