// `ingresslab validate FILE...`: load each scenario, resolve the base and every variant, and
// report every problem. Prints `FILE: ok` per valid file; errors go to stderr; exit 2 if any
// file is invalid or unreadable.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "scenarios/loader.h"

namespace ingresslab::cli {

namespace {

// Returns true if the file and all its variants are valid. Warnings are printed, not fatal.
bool validate_file(const std::string& path) {
  const scenarios::LoadedScenario loaded = scenarios::load_scenario_file(path);
  std::vector<scenarios::ResolvedScenario> resolved;
  if (loaded.ok()) {
    resolved.push_back(scenarios::resolve_scenario(loaded, "", {}));
    for (const auto& v : loaded.scenario.variants()) {
      resolved.push_back(scenarios::resolve_scenario(loaded, v.name(), {}));
    }
  }
  // Loader diagnostics are repeated in every resolution; print each distinct line once.
  std::vector<std::string> printed;
  bool ok = loaded.ok();
  auto print = [&](const scenarios::Diagnostics& d, const std::string& variant) {
    for (const auto& item : d.items()) {
      std::string line = item.to_string();
      if (!variant.empty()) line += " (variant " + variant + ")";
      if (std::find(printed.begin(), printed.end(), line) != printed.end()) continue;
      printed.push_back(line);
      std::cerr << line << "\n";
    }
  };
  print(loaded.diagnostics, "");
  for (const auto& r : resolved) {
    scenarios::Diagnostics own;
    for (const auto& item : r.diagnostics.items()) {
      bool from_loader = false;
      for (const auto& l : loaded.diagnostics.items()) {
        if (l.to_string() == item.to_string()) from_loader = true;
      }
      if (!from_loader) own.add(item);
    }
    print(own, r.variant);
    ok = ok && r.ok();
  }
  if (ok) std::cout << path << ": ok\n";
  return ok;
}

}  // namespace

void add_validate_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "validate",
      "Check scenario files (and every variant in them) and report every problem with file, "
      "line and field.\n\nExamples:\n  ingresslab validate scenarios/cafe.yaml\n  ingresslab "
      "validate scenarios/*.yaml");
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("files", *files, "scenario files (.yaml, .json, .textproto)")->required();
  cmd->callback([files, exit_code] {
    bool all_ok = true;
    for (const std::string& f : *files)
      all_ok = validate_file(f) && all_ok;
    *exit_code = all_ok ? kExitOk : kExitUsage;
  });
}

}  // namespace ingresslab::cli
