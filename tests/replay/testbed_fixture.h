// The live replay tests' fixture: a netns testbed of one scenario under its own state directory
// and instance tag (so it never meets another testbed), brought down whatever happened — also
// after a failed `up`, since `down` removes a half-built testbed from its state file. Needs root.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "tests/realproxy/test_process.h"

namespace ingresslab::testing {

class LiveTestbedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    char pattern[] = "/tmp/ilab-replay-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    if (up_) {
      const auto r =
          realproxy::testing::run_command({INGRESSLAB_BIN, "testbed", "down", "--state-dir", dir_},
                                          dir_ + "/down", std::chrono::seconds(60));
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    std::error_code ec;
    if (!HasFailure()) std::filesystem::remove_all(dir_, ec);
  }

  // `ingresslab testbed up SCENARIO` with instance tag `tag` + this process's PID; the caller
  // asserts on the result (TearDown brings the testbed down either way).
  realproxy::testing::CommandResult testbed_up(const std::string& scenario,
                                               const std::string& tag) {
    const std::string instance = tag + std::to_string(getpid() % 100000);
    up_ = true;
    return realproxy::testing::run_command(
        {INGRESSLAB_BIN, "testbed", "up", scenario, "--state-dir", dir_, "--instance", instance},
        dir_ + "/up", std::chrono::seconds(120));
  }

  std::string dir_;

 private:
  bool up_ = false;
};

}  // namespace ingresslab::testing
