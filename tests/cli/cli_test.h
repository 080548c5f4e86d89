// What the end-to-end CLI tests share: running the real `ingresslab` binary from the test data
// directory (relative scenario paths, as a user types them) with its outputs in a fresh temporary
// directory, kept when a test fails.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ingresslab::testing {

struct CommandOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

// A number as the reports print it (3 decimals).
inline std::string ms3(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::current_path(INGRESSLAB_CLI_TEST_DATA);
    std::string pattern =
        (std::filesystem::temp_directory_path() / "ingresslab-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "outputs kept in %s\n", dir_.c_str());
    } else {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  // Runs `ingresslab ARGS` (ARGS as shell words) with no input; collects exit code and output.
  CommandOutput ingresslab(const std::string& args) {
    const std::filesystem::path out = dir_ / "stdout.txt";
    const std::filesystem::path err = dir_ / "stderr.txt";
    const std::string command = std::string("'") + INGRESSLAB_BIN + "' " + args + " </dev/null >'" +
                                out.string() + "' 2>'" + err.string() + "'";
    const int status = std::system(command.c_str());
    CommandOutput result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read_file(out);
    result.err = read_file(err);
    return result;
  }

  // `name` in the output directory, quoted as a shell word.
  std::string path(const std::string& name) const { return "'" + (dir_ / name).string() + "'"; }

  std::filesystem::path dir_;
};

}  // namespace ingresslab::testing
