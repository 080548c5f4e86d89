// Every example scenario (and every theory scenario) loads and validates, base and variants; and
// a scenario survives the round trips YAML -> proto -> JSON -> proto and proto -> textproto ->
// proto unchanged (the JSON/textproto writers and our readers agree on the schema).
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "scenarios/loader.h"

namespace ingresslab::scenarios {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> example_files() {
  std::vector<std::string> files;
  for (const char* dir : {"/scenarios", "/scenarios/theory"}) {
    for (const auto& e : fs::directory_iterator(std::string(INGRESSLAB_SOURCE_DIR) + dir)) {
      if (e.path().extension() == ".yaml") files.push_back(e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Examples, EveryExampleAndVariantValidates) {
  const auto files = example_files();
  ASSERT_GE(files.size(), 6u + 9u);
  for (const std::string& f : files) {
    const LoadedScenario loaded = load_scenario_file(f);
    ASSERT_TRUE(loaded.ok()) << f << "\n" << loaded.diagnostics.to_string();
    std::vector<std::string> variants = {""};
    for (const auto& v : loaded.scenario.variants())
      variants.push_back(v.name());
    for (const std::string& v : variants) {
      const ResolvedScenario r = resolve_scenario(loaded, v, {});
      EXPECT_TRUE(r.ok()) << f << " variant '" << v << "'\n" << r.diagnostics.to_string();
    }
  }
}

TEST(Examples, CafeImportsTheExpectedTopology) {
  const LoadedScenario loaded = load_scenario_file(INGRESSLAB_SOURCE_DIR "/scenarios/cafe.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const ResolvedScenario r = resolve_scenario(loaded, "", {});
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  std::map<std::string, uint32_t> replicas;
  for (const auto& s : r.scenario.services())
    replicas[s.name()] = s.deployment().replicas();
  EXPECT_EQ(replicas["coffee-svc"], 2u);
  EXPECT_EQ(replicas["tea-svc"], 3u);
  ASSERT_EQ(r.scenario.routing().ingresses_size(), 1);
  const auto& spec = r.scenario.routing().ingresses(0).spec();
  ASSERT_EQ(spec.rules_size(), 1);
  EXPECT_EQ(spec.rules(0).http().paths_size(), 2);
  EXPECT_EQ(spec.tls(0).hosts(0), "cafe.example.com");
}

TEST(RoundTrip, YamlToProtoToJsonToProto) {
  for (const std::string& f : example_files()) {
    const LoadedScenario loaded = load_scenario_file(f);
    ASSERT_TRUE(loaded.ok()) << f;
    std::string json;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(loaded.scenario, &json, o).ok());
    // Through our reader (positions, units) ...
    const LoadedScenario back =
        load_scenario_text(json, Format::kJson, f + ".json", loaded.base_dir);
    ASSERT_TRUE(back.ok()) << f << "\n" << back.diagnostics.to_string() << json;
    // ... the manifests are imported again on load, so compare before import: re-read the JSON
    // with protobuf's own parser as the reference.
    scenario::Scenario reference;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &reference).ok());
    scenario::Scenario ours = back.scenario;
    // Imported objects appear twice in `ours` (in the JSON and re-imported): compare the parts
    // both contain by clearing what manifest import adds.
    if (reference.routing().manifests_size() > 0) {
      ours.clear_services();
      reference.clear_services();
      ours.mutable_routing()->clear_ingresses();
      reference.mutable_routing()->clear_ingresses();
      ours.mutable_routing()->clear_ingress_classes();
      reference.mutable_routing()->clear_ingress_classes();
    }
    std::string diff;
    google::protobuf::util::MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(reference, ours)) << f << "\n" << diff;
  }
}

TEST(RoundTrip, ProtoToTextprotoToProto) {
  for (const std::string& f : example_files()) {
    const LoadedScenario loaded = load_scenario_file(f);
    ASSERT_TRUE(loaded.ok()) << f;
    scenario::Scenario s = loaded.scenario;
    s.mutable_routing()->clear_manifests();  // already imported: keep the text self-contained
    std::string text;
    ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(s, &text));
    const LoadedScenario back =
        load_scenario_text(text, Format::kTextproto, f + ".textproto", loaded.base_dir);
    ASSERT_TRUE(back.ok()) << f << "\n" << back.diagnostics.to_string();
    std::string diff;
    google::protobuf::util::MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(s, back.scenario)) << f << "\n" << diff;
  }
}

}  // namespace
}  // namespace ingresslab::scenarios
