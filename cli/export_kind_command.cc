// `ingresslab export kind FILE -o DIR`: write a kind cluster for the scenario (see export_kind.h).
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/experiment.h"
#include "cli/export_kind.h"
#include "scenarios/loader.h"

namespace ingresslab::cli {
namespace {

struct ExportArgs {
  std::string file;
  std::string dir;
  std::string variant;
  std::vector<std::string> sets;
};

int run_export_kind(const ExportArgs& a) {
  const scenarios::LoadedScenario loaded = scenarios::load_scenario_file(a.file);
  if (!loaded.ok()) {
    std::cerr << loaded.diagnostics.to_string();
    return kExitUsage;
  }
  std::vector<Assignment> assignments;
  if (!parse_set_flags(a.sets, "ingresslab export kind", &assignments)) return kExitUsage;
  scenario::Scenario resolved;
  std::string error;
  if (!resolve_with(loaded, a.variant, assignments, &resolved, &error)) {
    std::cerr << error;
    if (!error.empty() && error.back() != '\n') std::cerr << "\n";
    return kExitUsage;
  }
  const KindExport exported = export_kind(resolved, a.file, a.dir);
  if (!exported.error.empty()) {
    std::cerr << "ingresslab export kind: " << a.file << ": " << exported.error << "\n";
    return kExitUsage;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(a.dir, ec) && !fs::is_directory(a.dir, ec)) {
    std::cerr << "ingresslab export kind: -o " << a.dir << ": exists and is not a directory\n";
    return kExitUsage;
  }
  for (const auto& [path, content] : exported.files) {
    const fs::path full = fs::path(a.dir) / path;
    fs::create_directories(full.parent_path(), ec);
    if (ec) {
      std::cerr << "ingresslab export kind: cannot create " << full.parent_path().string() << ": "
                << ec.message() << "\n";
      return kExitUsage;
    }
    std::ofstream f(full, std::ios::binary | std::ios::trunc);
    f << content;
    f.close();
    if (!f) {
      std::cerr << "ingresslab export kind: cannot write " << full.string() << "\n";
      return kExitUsage;
    }
    if (path.size() > 3 && path.compare(path.size() - 3, 3, ".sh") == 0) {
      fs::permissions(full, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                      fs::perm_options::add, ec);
    }
  }
  std::cout << "wrote " << exported.files.size() << " files to " << a.dir << " (see "
            << (fs::path(a.dir) / "README.md").string() << ")\n";
  for (const std::string& n : exported.notes)
    std::cout << "note: " << n << "\n";
  return kExitOk;
}

}  // namespace

void add_export_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("export", "Export a scenario to run it elsewhere.");
  cmd->require_subcommand(1);
  auto* kind = cmd->add_subcommand(
      "kind",
      "Write a kind cluster config, a Dockerfile for realproxy/realpod, the manifests (realproxy "
      "as the ingress controller with RBAC, the scenario's Deployments, Services, Ingresses) and a "
      "README with the commands to run it and replay against it.\n\nExample:\n  ingresslab "
      "export kind scenarios/cafe.yaml -o out/kind-cafe");
  auto args = std::make_shared<ExportArgs>();
  kind->add_option("file", args->file, "scenario file")->required();
  kind->add_option("-o,--output", args->dir, "directory to write (created if missing)")->required();
  kind->add_option("--variant", args->variant, "export this variant of the scenario");
  kind->add_option("--set", args->sets, "override a field: path=value (repeatable)");
  kind->callback([args, exit_code] { *exit_code = run_export_kind(*args); });
}

}  // namespace ingresslab::cli
