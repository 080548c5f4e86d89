// docs/scenario-reference.md is generated from the proto comments; it must match what
// `ingresslab schema` prints, so the user reference never drifts from the schema.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "scenarios/proto/scenario.pb.h"
#include "scenarios/reference.h"

namespace ingresslab::scenarios {
namespace {

TEST(Reference, DocsFileMatchesGeneratedReference) {
  std::ifstream in(INGRESSLAB_SOURCE_DIR "/docs/scenario-reference.md", std::ios::binary);
  ASSERT_TRUE(in) << "docs/scenario-reference.md missing";
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), render_scenario_reference_markdown())
      << "docs/scenario-reference.md is stale: run\n"
         "  build/bin/ingresslab schema -o docs/scenario-reference.md";
}

// Every message of the schema has a section, and every field a row.
TEST(Reference, EveryMessageAndFieldIsDocumented) {
  const std::string doc = render_scenario_reference_markdown();
  const auto* file = scenario::Scenario::descriptor()->file();
  for (int i = 0; i < file->message_type_count(); ++i) {
    const auto* m = file->message_type(i);
    EXPECT_NE(doc.find("## " + m->name() + "\n"), std::string::npos) << m->name();
    for (int k = 0; k < m->field_count(); ++k) {
      EXPECT_NE(doc.find("| `" + m->field(k)->name() + "` |"), std::string::npos)
          << m->name() << "." << m->field(k)->name();
    }
  }
}

}  // namespace
}  // namespace ingresslab::scenarios
