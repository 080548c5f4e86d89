// The models tests' way to run a scenario written inline: YAML text → loaded (named `file`,
// relative paths against `base_dir`) → resolved with `sets` → simulated. Loading, resolving and
// simulating must succeed (a gtest failure names the diagnostics otherwise).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "models/simulate.h"
#include "scenarios/loader.h"

namespace ingresslab::models::testing {

// A fixture with a fresh directory under /tmp for the files a test writes (profiles, CSVs,
// traces), removed afterwards.
class WithTempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ingresslab-models-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
};

inline SimulateOutput simulate_yaml(const std::string& yaml,
                                    const std::vector<std::pair<std::string, std::string>>& sets,
                                    const std::string& file, const std::string& base_dir = ".",
                                    const SimulateOptions& options = {}) {
  const auto loaded = scenarios::load_scenario_text(yaml, scenarios::Format::kYaml, file, base_dir);
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const auto resolved = scenarios::resolve_scenario(loaded, "", sets);
  EXPECT_TRUE(resolved.ok()) << resolved.diagnostics.to_string();
  SimulateOutput out = simulate(resolved.scenario, base_dir, options);
  return out;
}

inline result::RunResult run_yaml(const std::string& yaml,
                                  const std::vector<std::pair<std::string, std::string>>& sets,
                                  const std::string& file) {
  const SimulateOutput out = simulate_yaml(yaml, sets, file);
  EXPECT_TRUE(out.ok()) << out.error;
  return out.result;
}

}  // namespace ingresslab::models::testing
