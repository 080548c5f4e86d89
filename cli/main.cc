// ingresslab: simulate Kubernetes ingress routing. See `ingresslab --help`.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"

#ifndef INGRESSLAB_VERSION
#define INGRESSLAB_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{
      "ingresslab — a discrete-event simulator and benchmark harness for Kubernetes ingress "
      "routing.\n\nExamples:\n  ingresslab run scenarios/cafe.yaml\n  ingresslab validate "
      "scenarios/cafe.yaml\n  ingresslab schema "
      "--markdown -o docs/scenario-reference.md",
      "ingresslab"};
  app.set_version_flag("--version", "ingresslab " INGRESSLAB_VERSION);
  app.require_subcommand(1);
  int exit_code = ingresslab::cli::kExitOk;
  ingresslab::cli::add_run_command(app, &exit_code);
  ingresslab::cli::add_validate_command(app, &exit_code);
  ingresslab::cli::add_schema_command(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "ingresslab: " << e.what() << "\n(run 'ingresslab --help' for usage)\n";
    return ingresslab::cli::kExitUsage;
  }
  return exit_code;
}
