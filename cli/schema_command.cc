// `ingresslab schema [--markdown] [-o FILE]`: print the scenario reference generated from the
// proto comments (the content of docs/scenario-reference.md).
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "scenarios/reference.h"

namespace ingresslab::cli {

void add_schema_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "schema",
      "Print the scenario file reference (every field with unit, default and valid range).\n\n"
      "Examples:\n  ingresslab schema | less\n  ingresslab schema --markdown -o "
      "docs/scenario-reference.md");
  auto out = std::make_shared<std::string>();
  auto markdown = std::make_shared<bool>(true);
  cmd->add_flag("--markdown", *markdown, "Markdown output (the default, and the only format)");
  cmd->add_option("-o,--output", *out, "write to this file instead of stdout");
  cmd->callback([out, exit_code] {
    const std::string text = scenarios::render_scenario_reference_markdown();
    if (out->empty()) {
      std::cout << text;
      *exit_code = kExitOk;
      return;
    }
    std::ofstream f(*out, std::ios::binary);
    f << text;
    if (!f) {
      std::cerr << "ingresslab schema: cannot write " << *out << "\n";
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = kExitOk;
  });
}

}  // namespace ingresslab::cli
