// `ingresslab-viz --screenshot`: the real binary, headless (offscreen Qt), on a small scenario.
// Every view renders to a non-blank PNG that differs from the others; bad input exits 2 with a
// message that names the problem.
#include <gtest/gtest.h>

#include <QtGui/QImage>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "tests/realproxy/test_process.h"

namespace ingresslab {
namespace {

namespace fs = std::filesystem;
using realproxy::testing::CommandResult;
using realproxy::testing::run_command;

const std::string kShop = INGRESSLAB_VIZ_TEST_DATA "/shop.yaml";
constexpr auto kTimeout = std::chrono::milliseconds(60000);

class VizCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ingresslab-viz-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandResult viz(std::vector<std::string> args) {
    args.insert(args.begin(), INGRESSLAB_VIZ_BIN);
    return run_command(args, (dir_ / "viz").string(), kTimeout);
  }

  fs::path dir_;
};

// Distinct colours in the image (a blank or single-colour picture has one or two).
size_t colours_of(const QImage& image) {
  std::set<QRgb> colours;
  for (int y = 0; y < image.height(); y += 2)
    for (int x = 0; x < image.width(); x += 2)
      colours.insert(image.pixel(x, y));
  return colours.size();
}

TEST_F(VizCli, EveryViewRendersNonBlankAndDifferent) {
  struct Shot {
    std::string view;
    std::vector<std::string> extra;
  };
  const std::vector<Shot> shots = {
      {"topology", {}},
      {"hop:pod", {}},
      {"waterfall", {}},
      // What if three pods: compared with the scenario as written.
      {"compare", {"--set", "services[api].deployment.replicas=3", "--compare", kShop}},
  };
  std::vector<QImage> images;
  for (const Shot& s : shots) {
    const std::string out = (dir_ / (s.view.substr(0, s.view.find(':')) + ".png")).string();
    std::vector<std::string> args = {kShop,  "--duration",   "1s", "--replications", "1", "--view",
                                     s.view, "--screenshot", out};
    args.insert(args.end(), s.extra.begin(), s.extra.end());
    const CommandResult r = viz(args);
    ASSERT_EQ(r.exit_code, 0) << s.view << "\n" << r.err;
    QImage image(QString::fromStdString(out));
    ASSERT_FALSE(image.isNull()) << s.view;
    EXPECT_GT(image.width(), 300) << s.view;
    EXPECT_GT(image.height(), 300) << s.view;
    EXPECT_GT(colours_of(image), 20u) << s.view << " looks blank";
    images.push_back(image.convertToFormat(QImage::Format_ARGB32));
  }
  for (size_t i = 0; i < images.size(); ++i)
    for (size_t j = i + 1; j < images.size(); ++j)
      EXPECT_NE(images[i], images[j]) << shots[i].view << " and " << shots[j].view << " are equal";
}

TEST_F(VizCli, SvgExportIsAnSvgDocument) {
  const std::string out = (dir_ / "topology.svg").string();
  const CommandResult r =
      viz({kShop, "--duration", "1s", "--replications", "1", "--screenshot", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string svg = realproxy::testing::read_file(out);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("api-0"), std::string::npos);  // the pod's label is drawn as text
}

TEST_F(VizCli, BadInputExitsTwoWithAClearMessage) {
  const std::string png = (dir_ / "x.png").string();
  const std::string garbage = (dir_ / "garbage.json").string();
  realproxy::testing::write_file(garbage, R"({"end_to_end": 5})");
  const std::string bad_scenario = INGRESSLAB_SOURCE_DIR "/tests/data/bad/duplicate_services.yaml";
  struct Case {
    std::vector<std::string> args;
    std::string message;  // part of stderr
  };
  const std::vector<Case> cases = {
      {{"/nonexistent/s.yaml", "--screenshot", png}, "/nonexistent/s.yaml"},
      {{bad_scenario, "--screenshot", png}, "duplicate_services.yaml"},
      {{garbage, "--screenshot", png}, "garbage.json"},
      {{kShop, "--screenshot", png, "--view", "sideways"}, "--view sideways"},
      {{kShop, "--duration", "1s", "--screenshot", png, "--view", "hop:nope"}, "hop:nope"},
      {{kShop, "--duration", "1s", "--screenshot", png, "--view", "compare"}, "nothing to compare"},
      {{kShop, "--screenshot", png, "--duration", "soon"}, "--duration soon"},
      {{kShop, "--screenshot", png, "--set", "services[api].deployment.replicas=-1"}, "replicas"},
      {{kShop, "--screenshot", png, "--bogus"}, "bogus"},
  };
  for (const Case& c : cases) {
    const CommandResult r = viz(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << "stderr: " << r.err;
    EXPECT_FALSE(fs::exists(png)) << c.message;
  }
}

}  // namespace
}  // namespace ingresslab
