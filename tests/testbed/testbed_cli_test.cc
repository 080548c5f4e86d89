// `ingresslab testbed` on the command line: errors a user can cause, without building anything
// (no root needed: as root, the not-root case runs the binary as nobody through setpriv).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "cli/testbed/exec.h"

namespace ingresslab::testbed {
namespace {

class TestbedCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ilab-cli-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ExecResult ingresslab(std::vector<std::string> args, bool as_nobody = false) {
    std::vector<std::string> argv;
    if (as_nobody && geteuid() == 0) {
      argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    }
    argv.push_back(INGRESSLAB_BIN);
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  std::string dir_;
};

TEST_F(TestbedCli, UpWithoutRootSaysSoAndExits2) {
  const ExecResult r = ingresslab(
      {"testbed", "up", std::string(INGRESSLAB_TESTBED_DATA) + "/small.yaml", "--state-dir", dir_},
      /*as_nobody=*/true);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("needs root"), std::string::npos) << r.err;
}

TEST_F(TestbedCli, BadFlagValuesExit2) {
  ExecResult r = ingresslab({"testbed", "up", std::string(INGRESSLAB_TESTBED_DATA) + "/small.yaml",
                             "--kube-proxy", "userspace", "--state-dir", dir_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--kube-proxy userspace: must be iptables, nftables or ipvs"),
            std::string::npos)
      << r.err;
  r = ingresslab({"testbed", "up", std::string(INGRESSLAB_TESTBED_DATA) + "/small.yaml",
                  "--instance", "Bad_Name", "--state-dir", dir_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--instance Bad_Name"), std::string::npos) << r.err;
}

TEST_F(TestbedCli, StatusAndDownWithNothingUp) {
  ExecResult r = ingresslab({"testbed", "status", "--state-dir", dir_});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.out.find("no testbed is up"), std::string::npos) << r.out;
  r = ingresslab({"testbed", "down", "--state-dir", dir_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no testbed is up"), std::string::npos) << r.out;
}

TEST_F(TestbedCli, CorruptStateFileIsAnInputError) {
  run({"sh", "-c", "echo '{\"pids\": \"oops\"}' > " + dir_ + "/testbed.json"});
  const ExecResult r = ingresslab({"testbed", "status", "--state-dir", dir_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("testbed.json: pids: must be a list"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ingresslab::testbed
