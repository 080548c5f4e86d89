#include "tests/cli/browser.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace ingresslab::testing {

namespace fs = std::filesystem;

std::string find_chromium() {
  for (const char* candidate : {"chromium", "chromium-browser"}) {
    const std::string probe = std::string("command -v ") + candidate + " >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return candidate;
  }
  return "";
}

BrowserRendering render_in_chromium(const std::string& browser, const fs::path& html,
                                    const fs::path& work_dir, int width, int height) {
  BrowserRendering r;
  const fs::path png = work_dir / (html.stem().string() + ".png");
  const fs::path log = work_dir / (html.stem().string() + ".chromium.log");
  const fs::path profile = work_dir / "chromium-profile";
  // --enable-logging=stderr makes the page's console messages appear in the log as
  // "...:INFO:CONSOLE:1] "message", source: ..." lines.
  const std::string command =
      "timeout 120 " + browser +
      " --headless --no-sandbox --disable-gpu --disable-background-networking "
      "--disable-component-update --disable-sync --no-first-run --enable-logging=stderr --v=0 "
      "--user-data-dir='" +
      profile.string() + "' --screenshot='" + png.string() +
      "' --window-size=" + std::to_string(width) + "," + std::to_string(height) + " 'file://" +
      html.string() + "' >'" + log.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) {
    if (line.find(":CONSOLE") != std::string::npos) r.console.push_back(line);
  }
  if (status != 0) {
    r.error = "chromium exited with status " + std::to_string(status) + ":\n" + text.str();
    return r;
  }
  if (!r.screenshot.load(QString::fromStdString(png.string())) || r.screenshot.isNull()) {
    r.error = "chromium wrote no screenshot at " + png.string() + ":\n" + text.str();
    return r;
  }
  std::set<QRgb> colours;
  for (int y = 0; y < r.screenshot.height(); y += 2) {
    for (int x = 0; x < r.screenshot.width(); x += 2) {
      colours.insert(r.screenshot.pixel(x, y));
    }
  }
  r.colours = colours.size();
  return r;
}

}  // namespace ingresslab::testing
