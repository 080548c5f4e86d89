// `realproxy calibrate --quick` on this machine: it runs its measurements (in-process TLS, a real
// realproxy + realpods on loopback) and writes a CostProfile that the models' loader accepts, with
// every cost positive and the handshake costs in the order the cryptography dictates (an RSA-2048
// signature costs more than an ECDSA P-256 one; a resumed handshake signs nothing).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "models/simulate.h"
#include "realproxy/calibrate/calibrate.h"
#include "tests/realproxy/test_process.h"
#include "tests/realproxy/testbed.h"

namespace ingresslab::realproxy::testing {
namespace {

using namespace std::chrono_literals;

TEST(Calibrate, FitLineRecoversAKnownLine) {
  const std::vector<double> x = {0, 1, 2, 3, 4};
  std::vector<double> y;
  for (const double v : x)
    y.push_back(3.5 + 0.25 * v);
  const calibrate::Line line = calibrate::fit_line(x, y);
  EXPECT_NEAR(line.intercept, 3.5, 1e-9);
  EXPECT_NEAR(line.slope, 0.25, 1e-9);
  // Least squares through noise orthogonal to x - mean(x) (+0.1, -0.1, -0.1, +0.1): the fit is
  // the noiseless line y = 1 + x.
  const std::vector<double> xs = {0, 1, 2, 3};
  const std::vector<double> noisy = {1 + 0.1, 2 - 0.1, 3 - 0.1, 4 + 0.1};
  const calibrate::Line fit = calibrate::fit_line(xs, noisy);
  EXPECT_NEAR(fit.slope, 1.0, 1e-9);
  EXPECT_NEAR(fit.intercept, 1.0, 1e-9);
}

TEST(Calibrate, QuickRunWritesAProfileTheModelsAccept) {
  Testbed bed;  // a temporary directory
  const std::string out = bed.dir() + "/calibrated.textproto";
  const CommandResult run = run_command({realproxy_binary(), "calibrate", "--quick", "-o", out},
                                        bed.dir() + "/calibrate", 60'000ms);
  ASSERT_EQ(run.exit_code, 0) << run.err;

  scenario::Scenario scenario;
  scenario.mutable_ingress()->set_cost_profile(out);
  profile::CostProfile p;
  std::string error;
  ASSERT_TRUE(models::load_cost_profile(scenario, bed.dir(), &p, &error)) << error;
  EXPECT_NE(p.source().find("realproxy calibrate"), std::string::npos);
  EXPECT_FALSE(p.machine().empty());
  EXPECT_EQ(p.date().size(), 10u);  // YYYY-MM-DD
  for (const auto& [name, value] : std::vector<std::pair<std::string, double>>{
           {"tls_full_rsa2048_us", p.tls_full_rsa2048_us()},
           {"tls_full_ecdsa_p256_us", p.tls_full_ecdsa_p256_us()},
           {"tls_resumed_us", p.tls_resumed_us()},
           {"accept_us", p.accept_us()},
           {"request_base_us", p.request_base_us()},
           {"route_base_us", p.route_base_us()},
           {"route_per_log2_rules_us", p.route_per_log2_rules_us()},
           {"relay_per_kib_us", p.relay_per_kib_us()},
           {"tls_record_per_kib_us", p.tls_record_per_kib_us()},
           {"upstream_connect_us", p.upstream_connect_us()},
           {"tls_client_full_rsa2048_us", p.tls_client_full_rsa2048_us()},
           {"tls_client_full_ecdsa_p256_us", p.tls_client_full_ecdsa_p256_us()},
           {"tls_client_resumed_us", p.tls_client_resumed_us()}}) {
    EXPECT_GT(value, 0) << name;
  }
  EXPECT_GT(p.tls_full_rsa2048_us(), p.tls_full_ecdsa_p256_us());
  EXPECT_GT(p.tls_full_ecdsa_p256_us(), p.tls_resumed_us());
  // A resumed handshake spares the client the certificate and its signature.
  EXPECT_GT(p.tls_client_full_ecdsa_p256_us(), p.tls_client_resumed_us());
  // Sanity against orders of magnitude, not against this machine: a handshake costs tens of
  // microseconds to a few milliseconds of CPU, a proxied request microseconds.
  EXPECT_LT(p.tls_full_rsa2048_us(), 20'000);
  EXPECT_LT(p.request_base_us(), 1'000);

  // Bad usage: exit 2 with a message.
  const CommandResult bad = run_command(
      {realproxy_binary(), "calibrate", "--realpod", "/nonexistent/realpod"}, bed.dir() + "/bad");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("/nonexistent/realpod"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ingresslab::realproxy::testing
