// Loading a scenario file: read (YAML, JSON or textproto), import the Kubernetes manifests it
// names, then — per variant — apply the variant's assignments, fill defaults, normalise and
// validate. Every problem is collected (not just the first) with file, line and field path.
//
//   LoadedScenario loaded = load_scenario_file("scenarios/cafe.yaml");
//   if (!loaded.ok()) { print(loaded.diagnostics); exit(2); }
//   ResolvedScenario base = resolve_scenario(loaded, /*variant=*/"", /*assignments=*/{});
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scenarios/diagnostics.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::scenarios {

enum class Format { kYaml, kJson, kTextproto };

// Largest scenario or manifest file read (bigger is an error, not a slow load).
inline constexpr size_t kMaxFileBytes = 16 * 1024 * 1024;

struct LoadedScenario {
  // As written, plus imported manifests; no defaults yet.
  scenario::Scenario scenario;
  SourceMap source_map;
  Diagnostics diagnostics;
  std::string path;      // the file as given
  std::string base_dir;  // directory that relative paths in the scenario are resolved against
  bool ok() const { return !diagnostics.has_errors(); }
};

// Format from the file extension: .yaml/.yml -> YAML, .json -> JSON, .textproto/.txtpb/.pbtxt ->
// textproto; anything else is read as YAML.
Format format_for_path(std::string_view path);

// Reads and parses `path`, imports the manifests it references, and checks the variant names
// (validate_variants). A .json file must be strict JSON (no trailing commas or comments), though
// it is read with the YAML reader for positions. Never throws.
LoadedScenario load_scenario_file(const std::string& path);
// The same from text (for tests, --set, and stdin); `display_name` names it in diagnostics.
LoadedScenario load_scenario_text(std::string_view text, Format format,
                                  const std::string& display_name, const std::string& base_dir);

struct ResolvedScenario {
  scenario::Scenario scenario;  // complete: defaults filled, nodes expanded, validated
  Diagnostics diagnostics;
  std::string variant;  // empty for the base scenario
  bool ok() const { return !diagnostics.has_errors(); }
};

// The base scenario (variant empty) or one of its variants, with extra `path=value`
// assignments (from --set) applied last; then defaults, normalisation and validation.
ResolvedScenario resolve_scenario(
    const LoadedScenario& loaded, const std::string& variant,
    const std::vector<std::pair<std::string, std::string>>& assignments);

// Checks that a file's bytes can be text at all: not empty (as `what`), valid UTF-8, no NUL.
// Returns the problem, or an empty string.
std::string check_text(std::string_view bytes);

}  // namespace ingresslab::scenarios
