// The corpus of broken scenario files in tests/data/bad/: each must be refused with the errors it
// names, at a line of the file, without crashing, hanging or stopping at the first problem.
//
// A file states what it expects in leading comment lines (or, for files that cannot hold a
// comment — binary, empty, JSON — in a sidecar `<name>.expect` with the same lines, `#` optional):
//   # expect: <substring of a diagnostic, as Diagnostic::to_string() prints it>   (one or more)
//   # no-position: <why>   the expected diagnostics cannot have a line (e.g. an empty document)
//   # known-gap: <why>     the loader does not catch this yet: the case is skipped while its
//                          expectations fail, and fails once they pass (remove the line then)
// Each file runs through what `ingresslab validate` does: load_scenario_file (which also checks
// the variant names), then resolve_scenario for the base and for every variant.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "scenarios/loader.h"

namespace ingresslab::scenarios {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(INGRESSLAB_SOURCE_DIR) / "tests" / "data" / "bad";

struct BadFile {
  fs::path path;
  std::vector<std::string> expects;
  std::string known_gap;
  bool no_position = false;
  bool sidecar = false;
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Reads the directives of `text`: its leading lines that start with `#` (all lines of a sidecar).
void read_directives(const std::string& text, bool sidecar, BadFile* out) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.starts_with('#') && !sidecar) break;
    std::string body = line.starts_with('#') ? line.substr(1) : line;
    body.erase(0, body.find_first_not_of(' '));
    const auto value = [&](const std::string& key) {
      std::string v = body.substr(key.size());
      v.erase(0, v.find_first_not_of(' '));
      return v;
    };
    if (body.starts_with("expect:")) {
      out->expects.push_back(value("expect:"));
    } else if (body.starts_with("known-gap:")) {
      out->known_gap = value("known-gap:");
    } else if (body.starts_with("no-position:")) {
      out->no_position = true;
    }
  }
}

std::vector<BadFile> corpus() {
  std::vector<BadFile> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(kCorpus, ec)) {
    if (!e.is_regular_file() || e.path().extension() == ".expect") continue;
    BadFile f;
    f.path = e.path();
    const fs::path sidecar = fs::path(e.path().string() + ".expect");
    f.sidecar = fs::exists(sidecar);
    read_directives(read_all(f.sidecar ? sidecar : e.path()), f.sidecar, &f);
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(),
            [](const BadFile& a, const BadFile& b) { return a.path < b.path; });
  return out;
}

// Everything `ingresslab validate <file>` reports.
std::vector<Diagnostic> validate_file(const fs::path& path) {
  const LoadedScenario loaded = load_scenario_file(path.string());
  std::vector<Diagnostic> out = loaded.diagnostics.items();
  if (!loaded.ok()) return out;
  std::vector<std::string> names = {""};
  for (const auto& v : loaded.scenario.variants()) {
    if (!v.name().empty()) names.push_back(v.name());
  }
  const size_t inherited = loaded.diagnostics.items().size();
  for (const std::string& name : names) {
    const ResolvedScenario r = resolve_scenario(loaded, name, {});
    out.insert(out.end(), r.diagnostics.items().begin() + static_cast<std::ptrdiff_t>(inherited),
               r.diagnostics.items().end());
  }
  return out;
}

// Names the parameter in gtest's messages.
void PrintTo(const BadFile& f, std::ostream* os) {
  *os << f.path.filename();
}

bool is_yaml(const fs::path& p) {
  return p.extension() == ".yaml" || p.extension() == ".yml";
}

class BadFileTest : public testing::TestWithParam<BadFile> {};

TEST_P(BadFileTest, IsRefusedWithItsErrors) {
  const BadFile& f = GetParam();
  ASSERT_FALSE(f.expects.empty()) << f.path << " states no `expect:`";
  const std::vector<Diagnostic> diagnostics = validate_file(f.path);
  std::string all;
  for (const Diagnostic& d : diagnostics)
    all += "  " + d.to_string() + "\n";

  std::vector<std::string> failures;
  if (std::none_of(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
        return d.severity == Diagnostic::Severity::kError;
      })) {
    failures.push_back("no error reported");
  }
  const bool need_line = is_yaml(f.path) && !f.sidecar && !f.no_position;
  for (const std::string& expected : f.expects) {
    bool found = false;
    bool with_line = false;
    for (const Diagnostic& d : diagnostics) {
      if (d.to_string().find(expected) == std::string::npos) continue;
      found = true;
      with_line = with_line || d.position.line > 0;
    }
    if (!found) {
      failures.push_back("no diagnostic contains '" + expected + "'");
    } else if (need_line && !with_line) {
      failures.push_back("'" + expected + "' is reported without a line");
    }
  }
  std::string report;
  for (const std::string& failure : failures)
    report += "  " + failure + "\n";

  if (!f.known_gap.empty()) {
    if (failures.empty()) {
      ADD_FAILURE() << f.path.filename() << " now passes: remove its known-gap line ("
                    << f.known_gap << ")";
    } else {
      GTEST_SKIP() << "known gap: " << f.known_gap << "\n" << report << "diagnostics:\n" << all;
    }
    return;
  }
  EXPECT_TRUE(failures.empty()) << f.path << ":\n" << report << "diagnostics:\n" << all;
}

std::string test_name(const testing::TestParamInfo<BadFile>& info) {
  std::string name = info.param.path.filename().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadFileTest, testing::ValuesIn(corpus()), test_name);

TEST(BadFilesCorpusTest, IsLargeAndEveryFileStatesItsExpectations) {
  const std::vector<BadFile> files = corpus();
  EXPECT_GE(files.size(), 45u) << "corpus at " << kCorpus;
  for (const BadFile& f : files)
    EXPECT_FALSE(f.expects.empty()) << f.path;
  // Every sidecar belongs to a file.
  for (const fs::directory_entry& e : fs::directory_iterator(kCorpus)) {
    if (e.path().extension() != ".expect") continue;
    EXPECT_TRUE(fs::exists(fs::path(e.path()).replace_extension())) << e.path() << " has no file";
  }
}

}  // namespace
}  // namespace ingresslab::scenarios
