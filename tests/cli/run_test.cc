// `ingresslab run` end to end: the real binary on a small scenario (one variant, 3 s, 2
// replications), its three formats, the HTML report, and the errors a user can cause.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <QtGui/QImage>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "scenarios/proto/result.pb.h"
#include "tests/cli/browser.h"
#include "tests/cli/cli_test.h"

namespace ingresslab {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Struct;
using google::protobuf::Value;
using testing::CommandOutput;
using testing::count_of;
using testing::ms3;
using testing::read_file;

// Short and with replications, so CIs exist; the same in every test so results are comparable.
constexpr const char* kRun = "run small.yaml --duration 3s --replications 2";

class RunCommandTest : public testing::CliTest {
 protected:
  // The run with the JSON and the HTML report of the same run.
  void run_with_report() {
    const CommandOutput r =
        ingresslab(std::string(kRun) + " --format json -o '" + (dir_ / "result.json").string() +
                   "' --report '" + (dir_ / "report.html").string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_TRUE(fs::exists(dir_ / "report.html")) << r.err;
    html_ = read_file(dir_ / "report.html");
    json_ = read_file(dir_ / "result.json");
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json_, &result_).ok());
  }

  std::string html_;
  std::string json_;
  result::RunResult result_;
};

// ---- the HTML report ----

TEST_F(RunCommandTest, ReportHasEveryChartAsNonEmptyInlineSvg) {
  run_with_report();
  // CDF, per-hop breakdown, utilisation per component, throughput/errors over time.
  constexpr size_t kCharts = 4;
  EXPECT_EQ(count_of(html_, "<figure class=\"chart\">"), kCharts);
  std::vector<std::string> svgs;
  for (size_t start = html_.find("<svg"); start != std::string::npos;
       start = html_.find("<svg", start + 1)) {
    const size_t end = html_.find("</svg>", start);
    ASSERT_NE(end, std::string::npos) << "unclosed <svg>";
    svgs.push_back(html_.substr(start, end + 6 - start));
  }
  ASSERT_EQ(svgs.size(), kCharts);
  for (const std::string& svg : svgs) {
    const size_t shapes = count_of(svg, "<rect") + count_of(svg, "<path") +
                          count_of(svg, "<polyline") + count_of(svg, "<polygon");
    EXPECT_GE(shapes, 5u) << svg.substr(0, 300);
    EXPECT_GE(count_of(svg, "<text"), 3u) << svg.substr(0, 300);
    EXPECT_NE(svg.find("viewBox="), std::string::npos);
    EXPECT_EQ(svg.find("<?xml"), std::string::npos);  // no XML declaration inside HTML
  }
  EXPECT_EQ(count_of(html_, "<svg"), kCharts);
}

TEST_F(RunCommandTest, ReportFetchesNothing) {
  run_with_report();
  // Only in-page links (#…) and data: are allowed in src/href; no stylesheet or script includes.
  const std::regex reference("\\b(src|href)\\s*=\\s*[\"']?\\s*([^\"'\\s>]*)", std::regex::icase);
  for (auto it = std::sregex_iterator(html_.begin(), html_.end(), reference);
       it != std::sregex_iterator(); ++it) {
    const std::string target = (*it)[2].str();
    EXPECT_TRUE(target.starts_with("#") || target.starts_with("data:"))
        << "external reference: " << it->str();
  }
  EXPECT_EQ(html_.find("<script"), std::string::npos);
  EXPECT_EQ(html_.find("<link"), std::string::npos);
  EXPECT_EQ(html_.find("@import"), std::string::npos);
  EXPECT_EQ(html_.find("url("), std::string::npos);
}

TEST_F(RunCommandTest, ReportNumbersAreTheJsonNumbers) {
  run_with_report();
  ASSERT_EQ(result_.variants_size(), 2);
  // Headline: the base run.
  const auto& e2e = result_.end_to_end().latency_ms();
  EXPECT_NE(html_.find("data-key=\"end_to_end.latency_ms.p99\">" + ms3(e2e.p99()) + "<"),
            std::string::npos)
      << "p99 " << ms3(e2e.p99()) << " not in the headline";
  EXPECT_NE(html_.find("data-key=\"end_to_end.latency_ms.p50\">" + ms3(e2e.p50()) + "<"),
            std::string::npos);
  EXPECT_NE(html_.find("data-key=\"end_to_end.latency_ms.p999\">" + ms3(e2e.p999()) + "<"),
            std::string::npos);
  // Comparison table: every variant's p99.
  for (const auto& [name, variant] : result_.variants()) {
    const std::string p99 = ms3(variant.end_to_end().latency_ms().p99());
    EXPECT_NE(
        html_.find("data-key=\"variants." + name + ".end_to_end.latency_ms.p99\">" + p99 + "<"),
        std::string::npos)
        << name << " p99 " << p99;
  }
  // The rest of the page: the scenario (escaped) and how to reproduce.
  EXPECT_NE(html_.find("name: cli-small"), std::string::npos);
  // The exact command, from the directory it ran in.
  EXPECT_NE(html_.find(std::string("ingresslab ") + kRun + " --format json -o "),
            std::string::npos);
  EXPECT_NE(html_.find("cd " + fs::current_path().string()), std::string::npos);
  EXPECT_TRUE(html_.find("Best on p99") != std::string::npos ||
              html_.find("All variants tie on p99") != std::string::npos);
}

TEST_F(RunCommandTest, ReportToMissingDirectoryIsAUsageError) {
  const CommandOutput r = ingresslab(std::string(kRun) + " --report '" +
                                     (dir_ / "no-such-dir" / "report.html").string() + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--report"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "checked before simulating, so nothing is printed";
}

TEST_F(RunCommandTest, ReportThatCannotBeWrittenIsAUsageError) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  const CommandOutput r = ingresslab(std::string(kRun) + " --report /dev/full");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;
}

// Chromium, when present, draws the page: proof the inline SVG is valid to a browser and the
// page logs no console errors.
TEST_F(RunCommandTest, ReportRendersInAHeadlessBrowser) {
  const std::string browser = testing::find_chromium();
  if (browser.empty()) {
    GTEST_SKIP() << "chromium is not installed: the headless rendering check is skipped "
                    "(apt-get install chromium to run it)";
  }
  run_with_report();
  const testing::BrowserRendering r =
      testing::render_in_chromium(browser, dir_ / "report.html", dir_);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.console.empty()) << "console: " << r.console.front();
  const QImage& image = r.screenshot;
  // The first series colour (base's CDF line, the first hop's bars) filling areas below the
  // header (whose links share the colour): the browser drew the inline SVG.
  size_t chart_blue = 0;
  for (int y = 600; y < image.height(); y += 2) {
    for (int x = 0; x < image.width(); x += 2) {
      const QRgb pixel = image.pixel(x, y);
      if (std::abs(qRed(pixel) - 0x4e) < 8 && std::abs(qGreen(pixel) - 0x79) < 8 &&
          std::abs(qBlue(pixel) - 0xa7) < 8) {
        ++chart_blue;
      }
    }
  }
  EXPECT_GT(r.colours, 16u) << "the screenshot is (nearly) one colour";
  EXPECT_GT(chart_blue, 1000u) << "no chart drawn in the first 2000 px";
  std::fprintf(stderr, "screenshot: %zu colours, %zu chart-blue samples\n", r.colours, chart_blue);
}

// ---- the other formats ----

TEST_F(RunCommandTest, CsvHasHeaderAndRows) {
  const CommandOutput r = ingresslab(std::string(kRun) + " --format csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header, "variant,scope,name,metric,value");
  size_t rows = 0;
  std::set<std::string> variants;
  bool has_p99 = false;
  for (std::string line; std::getline(lines, line);) {
    ++rows;
    ASSERT_EQ(std::count(line.begin(), line.end(), ','), 4) << line;
    variants.insert(line.substr(0, line.find(',')));
    if (line.find(",end_to_end,end_to_end,latency_p99_ms,") != std::string::npos) has_p99 = true;
  }
  EXPECT_GT(rows, 20u);
  EXPECT_EQ(variants, (std::set<std::string>{"base", "ipvs"}));
  EXPECT_TRUE(has_p99);
}

// The JSON contract scripts rely on (result.proto field names).
TEST_F(RunCommandTest, JsonParsesAndHasTheContractKeys) {
  const CommandOutput r = ingresslab(std::string(kRun) + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  result::RunResult typed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &typed).ok());
  Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok());

  auto has = [](const Struct& s, const std::string& key) { return s.fields().count(key) > 0; };
  auto object = [](const Struct& s, const std::string& key) -> const Struct& {
    return s.fields().at(key).struct_value();
  };
  auto check_run = [&](const Struct& run, const std::string& where) {
    SCOPED_TRACE(where);
    ASSERT_TRUE(has(run, "end_to_end"));
    const Struct& e2e = object(run, "end_to_end");
    EXPECT_TRUE(has(e2e, "throughput_rps"));
    EXPECT_TRUE(has(e2e, "success_ratio"));
    ASSERT_TRUE(has(e2e, "latency_ms"));
    const Struct& latency = object(e2e, "latency_ms");
    for (const char* key : {"mean", "p50", "p90", "p99", "p999", "ci95_mean"}) {
      EXPECT_TRUE(has(latency, key)) << "end_to_end.latency_ms." << key;
    }
    ASSERT_TRUE(has(run, "hops"));
    const auto& hops = run.fields().at("hops").list_value().values();
    ASSERT_FALSE(hops.empty());
    size_t with_utilization = 0;
    for (const Value& hop : hops) {
      EXPECT_TRUE(has(hop.struct_value(), "name"));
      EXPECT_TRUE(has(hop.struct_value(), "latency_ms"));
      // Absent for pure delays (network hops), present for hops with servers.
      if (has(hop.struct_value(), "utilization")) ++with_utilization;
    }
    EXPECT_GT(with_utilization, 0u) << "hops[].utilization";
    ASSERT_TRUE(has(run, "routes"));
    const auto& routes = run.fields().at("routes").list_value().values();
    ASSERT_EQ(routes.size(), 2);
    for (const Value& route : routes) {
      for (const char* key : {"host", "path", "service", "latency_ms", "requests"}) {
        EXPECT_TRUE(has(route.struct_value(), key)) << "routes[]." << key;
      }
    }
  };
  check_run(json, "top level (base)");
  ASSERT_TRUE(has(json, "variants"));
  const Struct& variants = object(json, "variants");
  EXPECT_EQ(variants.fields().size(), 2u);
  for (const char* name : {"base", "ipvs"}) {
    ASSERT_TRUE(has(variants, name)) << "variants." << name;
    check_run(object(variants, name), std::string("variants.") + name);
  }
  EXPECT_EQ(typed.variants().at("ipvs").variant(), "ipvs");
}

// ---- usage errors: exit 2 and a message that names the problem ----

TEST_F(RunCommandTest, UnknownFormatIsAUsageError) {
  const CommandOutput r = ingresslab(std::string(kRun) + " --format xml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("xml"), std::string::npos) << r.err;
}

TEST_F(RunCommandTest, UnknownOptionIsAUsageError) {
  const CommandOutput r = ingresslab(std::string(kRun) + " --no-such-option");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-such-option"), std::string::npos) << r.err;
}

TEST_F(RunCommandTest, MistypedCommandIsNamed) {
  const CommandOutput r = ingresslab("rnu small.yaml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'rnu'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("run, validate"), std::string::npos) << r.err;
}

TEST_F(RunCommandTest, SetOfUnknownFieldIsAUsageError) {
  const CommandOutput r = ingresslab(std::string(kRun) + " --set nosuchfield=1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nosuchfield"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace ingresslab
