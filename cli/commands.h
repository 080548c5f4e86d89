// The `ingresslab` subcommands. Each registers itself on the CLI11 app and returns, through the
// callback it installs, the process exit code: 0 ok, 1 SLO not met (plan), 2 usage or input error.
#pragma once

#include <CLI/CLI.hpp>

namespace ingresslab::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitSloNotMet = 1;
inline constexpr int kExitUsage = 2;

// Each add_* function adds one subcommand; when it runs it stores its exit code in *exit_code.
void add_validate_command(CLI::App& app, int* exit_code);
void add_schema_command(CLI::App& app, int* exit_code);
void add_run_command(CLI::App& app, int* exit_code);
void add_compare_command(CLI::App& app, int* exit_code);
void add_sweep_command(CLI::App& app, int* exit_code);
void add_plan_command(CLI::App& app, int* exit_code);
void add_report_command(CLI::App& app, int* exit_code);
void add_replay_command(CLI::App& app, int* exit_code);
void add_export_command(CLI::App& app, int* exit_code);
void add_validate_live_command(CLI::App& app, int* exit_code);
void add_testbed_command(CLI::App& app, int* exit_code);

// Records the command line (and working directory) for the "how to reproduce" of reports.
void set_reproduce_command(int argc, const char* const* argv);

}  // namespace ingresslab::cli
