// `ingresslab compare`, `sweep`, `plan` and `report` end to end: the real binary on small
// scenarios whose answers are known from queueing theory (M/M/1, M/M/c), their output formats,
// the reports, Ctrl-C, and the usage errors a user can cause.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/proto/experiments.pb.h"
#include "scenarios/proto/result.pb.h"
#include "tests/cli/browser.h"
#include "tests/cli/cli_test.h"

namespace ingresslab {
namespace {

namespace fs = std::filesystem;
using testing::CommandOutput;
using testing::count_of;
using testing::ms3;
using testing::read_file;

template <typename Message>
Message parse_json(const std::string& json) {
  Message m;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &m);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << json.substr(0, 500);
  return m;
}

// ---- queueing theory ----

// M/M/1 sojourn time: exponential with rate mu - lambda.
double mm1_mean_s(double lambda, double mu) {
  return 1 / (mu - lambda);
}
double mm1_p99_s(double lambda, double mu) {
  return std::log(100.0) / (mu - lambda);
}

// Erlang C: probability that an arrival waits in M/M/c with offered load a = lambda / mu.
double erlang_c(int c, double a) {
  double b = 1;  // Erlang B by recursion
  for (int k = 1; k <= c; ++k)
    b = a * b / (k + a * b);
  const double rho = a / c;
  return b / (1 - rho * (1 - b));
}

// P(T > t) for M/M/c FIFO: T = W + S, W = 0 w.p. 1 - C, else Exp(c mu - lambda); S ~ Exp(mu).
double mmc_tail(int c, double lambda, double mu, double t) {
  const double C = erlang_c(c, lambda / mu);
  const double r = c * mu - lambda;
  const double sum_tail = std::abs(r - mu) < 1e-9
                              ? (1 + mu * t) * std::exp(-mu * t)
                              : (r * std::exp(-mu * t) - mu * std::exp(-r * t)) / (r - mu);
  return (1 - C) * std::exp(-mu * t) + C * sum_tail;
}

// The 99th percentile of the M/M/c sojourn time (s); +inf when unstable.
double mmc_p99_s(int c, double lambda, double mu) {
  if (lambda >= c * mu) return INFINITY;
  double lo = 0, hi = 100;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (mmc_tail(c, lambda, mu, mid) > 0.01 ? lo : hi) = mid;
  }
  return lo;
}

class ExperimentsTest : public testing::CliTest {};

const std::string kTheory = INGRESSLAB_THEORY_DIR;

// ---- compare ----

constexpr const char* kCompare = "compare compare-mm1.yaml --replications 4 --duration 8s";

TEST_F(ExperimentsTest, CompareFlagsTwiceTheServiceTimeAndNotAnIdenticalVariant) {
  const CommandOutput r = ingresslab(std::string(kCompare) + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto c = parse_json<experiment::CompareResult>(r.out);
  ASSERT_EQ(c.order_size(), 3);
  EXPECT_EQ(c.order(0), "base");
  EXPECT_EQ(c.kind(), "compare");
  // Theory: mean sojourn 1/(mu - lambda) = 1.667 ms (mu = 1000/s), 10 ms with mu = 500/s.
  const double base_ms = mm1_mean_s(400, 1000) * 1e3;
  const double slow_ms = mm1_mean_s(400, 500) * 1e3;
  EXPECT_NEAR(c.variants().at("base").end_to_end().latency_ms().mean(), base_ms, 0.1 * base_ms);
  EXPECT_NEAR(c.variants().at("slow").end_to_end().latency_ms().mean(), slow_ms, 0.15 * slow_ms);
  int slow_checked = 0, same_checked = 0;
  for (const auto& d : c.differences()) {
    SCOPED_TRACE(d.variant() + " " + d.metric());
    EXPECT_EQ(d.baseline(), "base");
    EXPECT_EQ(d.pairs(), 4u);
    if (d.variant() == "slow" && d.metric().starts_with("latency_")) {
      // Every latency metric is clearly worse with twice the service time.
      EXPECT_TRUE(d.significant());
      EXPECT_EQ(d.better(), "base");
      EXPECT_GT(d.ci95().lower(), 0);
      ++slow_checked;
    }
    if (d.variant() == "slow" && d.metric() == "latency_mean_ms") {
      // The CI of the paired difference covers (or lands near) the exact difference.
      EXPECT_NEAR(d.difference(), slow_ms - base_ms, 0.15 * (slow_ms - base_ms));
    }
    if (d.variant() == "same") {
      // Same configuration, same seeds: the pairs are identical (common random numbers).
      EXPECT_FALSE(d.significant());
      EXPECT_EQ(d.better(), "");
      EXPECT_EQ(d.difference(), 0.0);
      EXPECT_EQ(d.ci95().half_width(), 0.0);
      ++same_checked;
    }
  }
  EXPECT_EQ(slow_checked, 4);
  EXPECT_EQ(same_checked, 6);
}

TEST_F(ExperimentsTest, CompareTextCsvAndReport) {
  CommandOutput r = ingresslab(std::string(kCompare) + " --report " + path("compare.html"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("significant: base better"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not significant"), std::string::npos) << r.out;
  const std::string html = read_file(dir_ / "compare.html");
  EXPECT_NE(html.find("id=\"differences\""), std::string::npos);
  // The latency CDF per variant and the per-hop stacked breakdown, among the run charts.
  EXPECT_EQ(count_of(html, "<svg"), 4u);
  EXPECT_NE(html.find("aria-label=\"End-to-end latency CDF\""), std::string::npos);
  EXPECT_NE(html.find("aria-label=\"Per-hop latency breakdown"), std::string::npos);
  for (const char* variant : {"base", "slow", "same"}) {
    EXPECT_NE(
        html.find("data-key=\"variants." + std::string(variant) + ".end_to_end.latency_ms.p99\""),
        std::string::npos)
        << variant;
  }

  r = ingresslab(std::string(kCompare) + " --format csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header, "variant,scope,name,metric,value");
  size_t rows = 0, differences = 0;
  for (std::string line; std::getline(lines, line);) {
    ++rows;
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 4) << line;
    if (line.starts_with("slow,difference,vs_base,latency_p99_ms,")) ++differences;
  }
  EXPECT_GT(rows, 30u);
  EXPECT_EQ(differences, 1u);
}

TEST_F(ExperimentsTest, CompareUsageErrors) {
  CommandOutput r = ingresslab("compare compare-mm1.yaml --variant nosuch --duration 1s");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;
  r = ingresslab("compare compare-mm1.yaml --set services[backend].pod.nosuchfield=3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nosuchfield"), std::string::npos) << r.err;
  r = ingresslab("compare small.yaml --variant ipvs");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("two or more"), std::string::npos) << r.err;
  r = ingresslab("compare compare-mm1.yaml --bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
}

// ---- sweep ----

TEST_F(ExperimentsTest, SweepOfMM1FollowsTheoryAndFindsTheKnee) {
  // mu = 1000/s; lambda = 100..900/s. p99 = ln(100) / (mu - lambda), mean = 1 / (mu - lambda).
  const CommandOutput r = ingresslab("sweep '" + kTheory +
                                     "/mm1.yaml' --set workload.rps=100..900:100 --duration 100s "
                                     "--replications 4 --format json -o " +
                                     path("sweep.json") + " --report " + path("sweep.html"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = parse_json<experiment::SweepResult>(read_file(dir_ / "sweep.json"));
  ASSERT_EQ(s.points_size(), 9);
  ASSERT_EQ(s.axes_size(), 1);
  EXPECT_EQ(s.axes(0).path(), "workload.rps");
  const double mu = 1000;
  for (const auto& p : s.points()) {
    SCOPED_TRACE("lambda " + std::to_string(p.x()));
    const double lambda = p.x();
    const auto& l = p.result().end_to_end().latency_ms();
    EXPECT_NEAR(l.mean(), mm1_mean_s(lambda, mu) * 1e3, 0.08 * mm1_mean_s(lambda, mu) * 1e3);
    EXPECT_NEAR(l.p99(), mm1_p99_s(lambda, mu) * 1e3, 0.12 * mm1_p99_s(lambda, mu) * 1e3);
    bool has_pod = false;
    for (const auto& h : p.result().hops()) {
      if (h.name() != "pod") continue;
      has_pod = true;
      EXPECT_NEAR(h.utilization(), lambda / mu, 0.03);
    }
    EXPECT_TRUE(has_pod);
  }
  // The knee: the first lambda whose p99 is >= 2x the p99 at the first point, i.e.
  // (mu - lambda0) / (mu - lambda) >= 2.
  const double factor = s.knee_factor();
  EXPECT_EQ(factor, 2.0);
  double expected_knee = -1;
  for (const auto& p : s.points()) {
    if (mm1_p99_s(p.x(), mu) >= factor * mm1_p99_s(s.points(0).x(), mu)) {
      expected_knee = p.x();
      break;
    }
  }
  ASSERT_GT(expected_knee, 0);
  ASSERT_EQ(s.knees_size(), 1);
  EXPECT_TRUE(s.knees(0).found());
  EXPECT_EQ(s.knees(0).x(), expected_knee);
  // The report: both curves, the knee marked, the numbers of the JSON.
  const std::string html = read_file(dir_ / "sweep.html");
  EXPECT_EQ(count_of(html, "<svg"), 2u);
  EXPECT_NE(html.find("data-key=\"knees.0.x\">" + std::to_string(static_cast<int>(expected_knee))),
            std::string::npos);
  for (int i = 0; i < s.points_size(); ++i) {
    const std::string key = "points." + std::to_string(i) + ".result.end_to_end.latency_ms.p99";
    EXPECT_NE(html.find("data-key=\"" + key + "\">" +
                        ms3(s.points(i).result().end_to_end().latency_ms().p99()) + "<"),
              std::string::npos)
        << key;
  }
  // `report` renders the saved JSON to the same page (it carries the command and scenario).
  const CommandOutput again =
      ingresslab("report " + path("sweep.json") + " -o " + path("sweep-again.html"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_file(dir_ / "sweep-again.html"), html);
}

TEST_F(ExperimentsTest, SweepCsvHasOneRowPerPointHopMetric) {
  const CommandOutput r = ingresslab(
      "sweep compare-mm1.yaml --set workload.rps=200,400 --duration 2s "
      "--replications 2 --format csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("variant,scope,name,metric,value\n"));
  EXPECT_NE(r.out.find("workload.rps=200,end_to_end,end_to_end,latency_p99_ms,"),
            std::string::npos);
  EXPECT_NE(r.out.find("workload.rps=400,hop,pod,utilization,"), std::string::npos);
}

TEST_F(ExperimentsTest, SweepUsageErrorsNameThePath) {
  CommandOutput r = ingresslab("sweep compare-mm1.yaml --set workload.rps=900..100:100");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("workload.rps"), std::string::npos) << r.err;
  r = ingresslab("sweep compare-mm1.yaml --set ingress.nosuch=1..3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ingress.nosuch"), std::string::npos) << r.err;
  r = ingresslab("sweep compare-mm1.yaml --set ingress.replicas=1..3:0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ingress.replicas"), std::string::npos) << r.err;
  r = ingresslab("sweep compare-mm1.yaml --set ingress.replicas=0,1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ingress.replicas"), std::string::npos) << r.err;
  r = ingresslab("sweep compare-mm1.yaml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nothing to sweep"), std::string::npos) << r.err;
}

// ---- plan ----

TEST_F(ExperimentsTest, PlanPicksTheConcurrencyErlangCPredicts) {
  // scenarios/theory/mmc.yaml: one pod, FIFO with `concurrency` servers, exponential 1 ms
  // service, Poisson arrivals. At lambda = 3200/s the smallest c with p99 <= the SLO, from the
  // M/M/c sojourn-time law (Erlang C):
  const double lambda = 3200, mu = 1000, slo_ms = 5.8;
  int expected = -1;
  for (int c = 1; c <= 8; ++c) {
    if (mmc_p99_s(c, lambda, mu) * 1e3 <= slo_ms) {
      expected = c;
      break;
    }
  }
  ASSERT_GT(expected, 1);
  // The SLO is not within simulation noise of either neighbour (else the test proves nothing).
  ASSERT_LT(mmc_p99_s(expected, lambda, mu) * 1e3, 0.9 * slo_ms);
  ASSERT_GT(mmc_p99_s(expected - 1, lambda, mu) * 1e3, 1.1 * slo_ms);
  const CommandOutput r =
      ingresslab("plan '" + kTheory +
                 "/mmc.yaml' --target-rps 3200 --slo p99=5.8ms --slo success=99% "
                 "--vary services[backend].pod.concurrency=1..8 --runner-ups 1 --duration 15s "
                 "--replications 3 --format json -o " +
                 path("plan.json") + " --report " + path("plan.html"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto p = parse_json<experiment::PlanResult>(read_file(dir_ / "plan.json"));
  ASSERT_GE(p.best(), 0);
  const auto& best = p.candidates(p.best());
  EXPECT_EQ(best.settings().at("services[backend].pod.concurrency"), std::to_string(expected));
  EXPECT_EQ(best.status(), "meets");
  // Unstable candidates (c <= lambda / mu) were pruned without simulation.
  int pruned = 0;
  for (const auto& c : p.candidates()) {
    const int servers = std::stoi(c.settings().at("services[backend].pod.concurrency"));
    if (servers * mu <= lambda) {
      EXPECT_EQ(c.status(), "pruned") << servers;
      EXPECT_FALSE(c.has_result());
      ++pruned;
    }
    if (servers == expected - 1) {
      EXPECT_EQ(c.status(), "fails");
    }
  }
  EXPECT_EQ(pruned, 3);
  EXPECT_EQ(p.pruned(), 3u);
  EXPECT_EQ(p.runner_ups_size(), 1);
  EXPECT_EQ(p.bottleneck_hop().substr(0, 3), "pod");
  // Headroom: the rate at which the M/M/c p99 reaches the SLO, within the bisection tolerance
  // plus simulation noise.
  double lo = lambda, hi = expected * mu;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (mmc_p99_s(expected, mid, mu) * 1e3 <= slo_ms ? lo : hi) = mid;
  }
  EXPECT_NEAR(p.headroom_rps(), lo, 0.06 * lo);
  const std::string html = read_file(dir_ / "plan.html");
  EXPECT_NE(html.find("data-key=\"best.settings\"><b>services[backend].pod.concurrency=" +
                      std::to_string(expected)),
            std::string::npos);
  EXPECT_GE(count_of(html, "<svg"), 3u);
}

TEST_F(ExperimentsTest, PlanExitsOneWhenNothingMeetsTheSlo) {
  // p99 of an exponential 1 ms service alone is ln(100) ms = 4.6 ms: 1 ms is impossible.
  const CommandOutput r = ingresslab("plan '" + kTheory +
                                     "/mmc.yaml' --target-rps 3200 --slo p99=1ms --vary "
                                     "services[backend].pod.concurrency=4..6 --duration 2s "
                                     "--replications 2");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("NO candidate"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("no candidate meets"), std::string::npos) << r.err;
}

TEST_F(ExperimentsTest, PlanUsageErrorsNameThePath) {
  const std::string plan = "plan '" + kTheory + "/mmc.yaml' --target-rps 3200 ";
  CommandOutput r = ingresslab(plan + "--slo p99=5ms --vary services[backend].pod.nosuch=1..3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;
  r = ingresslab(plan + "--slo p98=5ms");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("p98"), std::string::npos) << r.err;
  r = ingresslab(plan + "--slo p99=fast");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("p99=fast"), std::string::npos) << r.err;
  r = ingresslab(plan + "--slo p99=5ms --vary ingress.replicas=3..1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ingress.replicas"), std::string::npos) << r.err;
  r = ingresslab(plan + "--slo p99=5ms --cost gpu=3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("gpu"), std::string::npos) << r.err;
  r = ingresslab("plan '" + kTheory + "/mmc.yaml' --slo p99=5ms");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--target-rps"), std::string::npos) << r.err;
}

// ---- report ----

TEST_F(ExperimentsTest, ReportOfSavedRunHasTheJsonNumbers) {
  CommandOutput r = ingresslab("run small.yaml --duration 2s --replications 2 --format json -o " +
                               path("run.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = ingresslab("report " + path("run.json") + " -o " + path("run.html") +
                 " --scenario small.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto run = parse_json<result::RunResult>(read_file(dir_ / "run.json"));
  const std::string html = read_file(dir_ / "run.html");
  const auto& l = run.end_to_end().latency_ms();
  for (const auto& [key, v] : std::vector<std::pair<std::string, double>>{
           {"p50", l.p50()}, {"p99", l.p99()}, {"p999", l.p999()}, {"mean", l.mean()}}) {
    EXPECT_NE(html.find("data-key=\"end_to_end.latency_ms." + key + "\">" + ms3(v) + "<"),
              std::string::npos)
        << key;
  }
  for (const auto& [name, v] : run.variants()) {
    EXPECT_NE(html.find("data-key=\"variants." + name + ".end_to_end.latency_ms.p99\">" +
                        ms3(v.end_to_end().latency_ms().p99()) + "<"),
              std::string::npos)
        << name;
  }
  EXPECT_NE(html.find("name: cli-small"), std::string::npos);
  EXPECT_EQ(count_of(html, "<svg"), 4u);
}

TEST_F(ExperimentsTest, ReportOfSavedCompareHasTheDifferences) {
  CommandOutput r = ingresslab(
      "compare compare-mm1.yaml --variant base --variant slow "
      "--replications 3 --duration 3s --format json -o " +
      path("compare.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = ingresslab("report " + path("compare.json") + " -o " + path("compare.html"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto c = parse_json<experiment::CompareResult>(read_file(dir_ / "compare.json"));
  const std::string html = read_file(dir_ / "compare.html");
  for (const auto& d : c.differences()) {
    if (!d.metric().starts_with("latency_")) continue;
    const std::string text = (d.difference() < 0 ? "−" : "+") + ms3(std::abs(d.difference()));
    EXPECT_NE(
        html.find("data-key=\"differences." + d.variant() + "." + d.metric() + "\">" + text + "<"),
        std::string::npos)
        << d.metric() << " " << text;
  }
  EXPECT_NE(html.find("data-key=\"variants.slow.end_to_end.latency_ms.p99\">" +
                      ms3(c.variants().at("slow").end_to_end().latency_ms().p99()) + "<"),
            std::string::npos);
  EXPECT_NE(html.find("ingresslab compare compare-mm1.yaml"), std::string::npos);
}

// Every experiment report opens in a real browser: non-blank, charts drawn, no console errors.
TEST_F(ExperimentsTest, ExperimentReportsRenderInAHeadlessBrowser) {
  const std::string browser = testing::find_chromium();
  if (browser.empty()) {
    GTEST_SKIP() << "chromium is not installed (apt-get install chromium to run this check)";
  }
  ASSERT_EQ(ingresslab("compare compare-mm1.yaml --replications 2 --duration 2s --report " +
                       path("compare.html"))
                .exit_code,
            0);
  ASSERT_EQ(ingresslab("sweep '" + kTheory +
                       "/mm1.yaml' --set workload.rps=200..800:300 --duration 5s "
                       "--replications 2 --report " +
                       path("sweep.html"))
                .exit_code,
            0);
  ASSERT_EQ(ingresslab("plan '" + kTheory +
                       "/mmc.yaml' --target-rps 3200 --slo p99=5.8ms --vary "
                       "services[backend].pod.concurrency=4..6 --duration 3s --replications 2 "
                       "--report " +
                       path("plan.html"))
                .exit_code,
            0);
  for (const char* page : {"compare.html", "sweep.html", "plan.html"}) {
    SCOPED_TRACE(page);
    const std::string html = read_file(dir_ / page);
    ASSERT_GE(count_of(html, "<svg"), 2u);
    // Self-contained: nothing fetched from the network (the SVG's xmlns is a name, not a fetch).
    for (const char* fetch : {"src=\"http", "href=\"http", "url(http", "@import"}) {
      EXPECT_EQ(html.find(fetch), std::string::npos) << fetch;
    }
    const testing::BrowserRendering r = testing::render_in_chromium(browser, dir_ / page, dir_);
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_TRUE(r.console.empty()) << "console: " << r.console.front();
    EXPECT_GT(r.colours, 16u) << "the page rendered (nearly) blank";
  }
}

TEST_F(ExperimentsTest, ReportRejectsWhatIsNotAResult) {
  std::ofstream(dir_ / "bad.json") << "{\"kind\": \"sweep\", \"points\": 3}";
  CommandOutput r = ingresslab("report " + path("bad.json") + " -o " + path("x.html"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("sweep"), std::string::npos) << r.err;
  std::ofstream(dir_ / "text.json") << "not json";
  r = ingresslab("report " + path("text.json") + " -o " + path("x.html"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not JSON"), std::string::npos) << r.err;
  r = ingresslab("report " + path("missing.json") + " -o " + path("x.html"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(fs::exists(dir_ / "x.html"));
}

// ---- progress and Ctrl-C ----

TEST_F(ExperimentsTest, CtrlCLeavesPartialResultsMarked) {
  // Many short replications: SIGINT after a second stops the ones not started; the output is
  // written, marked partial, with the pairs that finished.
  const std::string out = (dir_ / "partial.json").string();
  const std::string err = (dir_ / "partial.err").string();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen(err.c_str(), "w", stderr);
    execl(INGRESSLAB_BIN, INGRESSLAB_BIN, "compare", "compare-mm1.yaml", "--variant", "base",
          "--variant", "slow", "--replications", "1000", "--threads", "1", "--duration", "20s",
          "--format", "json", "-o", out.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait for the first progress line (printed after 1 s of work): the handler is installed and
  // replications are running.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (read_file(err).find("/2000 done") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal";
  EXPECT_EQ(WEXITSTATUS(status), 0) << read_file(err);
  const auto c = parse_json<experiment::CompareResult>(read_file(out));
  EXPECT_TRUE(c.partial());
  EXPECT_TRUE(c.variants().at("base").run().partial());
  EXPECT_GT(c.variants().at("base").run().replications(), 0u);
  EXPECT_LT(c.variants().at("base").run().replications(), 1000u);
  const std::string stderr_text = read_file(err);
  EXPECT_NE(stderr_text.find("interrupted"), std::string::npos) << stderr_text;
  // Not a TTY: plain progress lines, "compare: N/2000 done".
  EXPECT_NE(stderr_text.find("compare: "), std::string::npos) << stderr_text;
  EXPECT_NE(stderr_text.find("/2000 done"), std::string::npos) << stderr_text;
}

}  // namespace
}  // namespace ingresslab
