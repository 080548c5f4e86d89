// Renders an HTML file in headless Chromium (Debian `chromium`) and reports what the browser drew
// and what the page logged, so tests can check a report opens offline, non-blank and without
// console errors.
#pragma once

#include <QtGui/QImage>
#include <filesystem>
#include <string>
#include <vector>

namespace ingresslab::testing {

struct BrowserRendering {
  // Non-empty: the browser could not be run or wrote no screenshot (says why).
  std::string error;
  QImage screenshot;
  // Messages the page wrote to its console (script errors, failed loads), one per line.
  std::vector<std::string> console;
  // Distinct colours in the screenshot (sampled every other pixel).
  size_t colours = 0;
};

// The chromium binary on PATH, or "" when none is installed.
std::string find_chromium();

// Renders `html` (a local file) into a `width`×`height` screenshot. `work_dir` receives the
// browser profile, the screenshot and the log. Killed after 120 s.
BrowserRendering render_in_chromium(const std::string& browser, const std::filesystem::path& html,
                                    const std::filesystem::path& work_dir, int width = 1200,
                                    int height = 2000);

}  // namespace ingresslab::testing
