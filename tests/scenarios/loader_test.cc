// load_scenario_text and the reading guards: the nesting pre-check, strict JSON, the YAML node
// budgets against alias bombs, `--set`-style assignments, and the per-file variant check.
#include "scenarios/loader.h"

#include <gtest/gtest.h>

#include <string>

#include "scenarios/json_syntax.h"
#include "scenarios/yaml_reader.h"

namespace ingresslab::scenarios {
namespace {

constexpr const char* kServices = R"(services:
  - name: web
    ports: [{port: 80}]
routing:
  ingresses:
    - metadata: {name: web}
      spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}
workload: {clients: [{closed_loop: {users: 10}}]}
)";

LoadedScenario load(const std::string& text, Format format = Format::kYaml) {
  return load_scenario_text(text, format, "test", ".");
}

bool mentions(const Diagnostics& d, const std::string& text) {
  return d.to_string().find(text) != std::string::npos;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += s;
  return out;
}

// --- the nesting pre-check -------------------------------------------------------------------

TEST(NestingTest, ApostrophesAndQuotesInValidFilesAreText) {
  const LoadedScenario loaded = load(R"(# It's a comment: [[[ {{{ "
name: it's 'quoted' [[ text
description: "it's [[[ not {{{ \" nested"
outputs: {trace: 'that''s [[ fine'}
# Don't stop checking here.
)" + std::string(kServices) +
                                     R"(variants:
  - name: o'brien  # it's fine
    description: |
      a block scalar's text: [[[[ {{{{ ' "
        more of it, indented more
    set: {run.duration: 1s}
)");
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  EXPECT_EQ(loaded.scenario.name(), "it's 'quoted' [[ text");
  EXPECT_EQ(loaded.scenario.description(), "it's [[[ not {{{ \" nested");
  EXPECT_EQ(loaded.scenario.outputs().trace(), "that's [[ fine");
  EXPECT_EQ(loaded.scenario.variants(0).description(),
            "a block scalar's text: [[[[ {{{{ ' \"\n  more of it, indented more\n");
}

TEST(NestingTest, DeepNestingIsFoundAfterCommentsApostrophesAndBlockScalars) {
  const std::string deep = repeat("[", 200) + repeat("]", 200);
  for (const std::string& before : {
           std::string("# a comment\n"),
           std::string("# it's a comment\n"),
           std::string("description: it's\n"),
           std::string("description: \"quoted\" # and 'a comment\n"),
           std::string("description: |\n  block 'text\n"),
       }) {
    const LoadedScenario loaded = load(before + "name: " + deep + "\n");
    EXPECT_TRUE(mentions(loaded.diagnostics, "nested too deeply (more than 128 levels"))
        << before << loaded.diagnostics.to_string();
    ASSERT_FALSE(loaded.diagnostics.items().empty());
    EXPECT_GT(loaded.diagnostics.items().front().position.line, 1) << before;
  }
  // Brackets inside a quoted value or a block scalar are not nesting.
  EXPECT_FALSE(mentions(load("name: '" + deep + "'\n").diagnostics, "nested too deeply"));
  EXPECT_FALSE(
      mentions(load("description: >\n  " + deep + "\nname: x\n").diagnostics, "nested too deeply"));
  // Deep indentation.
  EXPECT_TRUE(mentions(load("a:\n" + std::string(600, ' ') + "b: 1\n").diagnostics,
                       "nested too deeply (indentation over 512 columns)"));
}

TEST(NestingTest, TheProblemIsPositioned) {
  const LoadedScenario loaded = load("name: x\nrun: " + repeat("{a: ", 150) + "\n");
  ASSERT_EQ(loaded.diagnostics.items().size(), 1u) << loaded.diagnostics.to_string();
  EXPECT_EQ(loaded.diagnostics.items()[0].to_string(),
            "test:2:518: nested too deeply (more than 128 levels of [ and {)");
}

// --- JSON ------------------------------------------------------------------------------------

TEST(JsonTest, StrictSyntax) {
  for (const char* ok : {R"({"a": [1, -2.5e+3, 0, "x\u00e9\n", true, false, null], "b": {}})", "[]",
                         " \"s\" ", "\xEF\xBB\xBF{}", "0", "{\"a\":{\"b\":[[]]}}"}) {
    EXPECT_FALSE(check_json_syntax(ok).has_value()) << ok << ": " << check_json_syntax(ok)->message;
  }
  const struct {
    const char* text;
    int line, column;
    const char* message;
  } bad[] = {
      {"[1, 2,]", 1, 7, "trailing comma before ']'"},
      {"{\"a\": 1,\n}", 2, 1, "trailing comma before '}'"},
      {"{a: 1}", 1, 2, "expected a key in double quotes, got 'a'"},
      {"{\"a\" 1}", 1, 6, "expected ':' after the key, got '1'"},
      {"['x']", 1, 2, "strings must be in double quotes"},
      {"[01]", 1, 2, "invalid number: no leading zeros"},
      {"[1.]", 1, 2, "invalid number: a digit must follow '.'"},
      {"[+1]", 1, 2, "expected a value, got '+'"},
      {"[tru]", 1, 2, "unexpected word 'tru'"},
      {"[nullx]", 1, 2, "unexpected word 'nullx'"},
      {"{\"a\": 1} {}", 1, 10, "unexpected '{' after the JSON value"},
      {"{\"a\": [1}", 1, 9, "expected ',' or ']', got '}'"},
      {"{\"a\": [1", 1, 9, "unexpected end of input (unclosed '[')"},
      {"\"é\\x\"", 1, 3, "invalid escape '\\x'"},
      {"\"a\nb\"", 1, 3, "unterminated string"},
      {"[\"\\u12g4\"]", 1, 3, "invalid \\u escape"},
      {"{\n  // c\n}", 2, 3, "got a comment (JSON has none)"},
      {"  ", 1, 3, "no JSON value"},
  };
  for (const auto& b : bad) {
    const auto e = check_json_syntax(b.text);
    ASSERT_TRUE(e.has_value()) << b.text;
    EXPECT_NE(e->message.find(b.message), std::string::npos) << b.text << ": " << e->message;
    EXPECT_EQ(e->position.line, b.line) << b.text;
    EXPECT_EQ(e->position.column, b.column) << b.text;
  }
}

TEST(JsonTest, ScenarioFilesAreCheckedBeforeReading) {
  const LoadedScenario trailing = load("{\"name\": \"x\",}", Format::kJson);
  ASSERT_EQ(trailing.diagnostics.items().size(), 1u) << trailing.diagnostics.to_string();
  EXPECT_EQ(trailing.diagnostics.items()[0].to_string(),
            "test:1:14: JSON syntax error: trailing comma before '}'");
  // Valid JSON is read by the YAML reader, with positions.
  const LoadedScenario typed = load("{\n  \"run\": {\"replications\": \"x\"}\n}", Format::kJson);
  EXPECT_TRUE(mentions(typed.diagnostics, "test:2:27: run.replications: expected an integer"))
      << typed.diagnostics.to_string();
}

// --- alias bombs and large documents ---------------------------------------------------------

// A mixture nested `levels` deep with `fan` aliased components per level: fan^levels leaves.
std::string mixture_bomb(int fan, int levels) {
  std::string inner = "&d0 {constant: 1ms}";
  for (int level = 1; level <= levels; ++level) {
    std::string components;
    for (int k = 0; k < fan; ++k) {
      components += std::string(k ? ", " : "") + "{weight: 1, distribution: " +
                    (k == 0 ? inner : "*d" + std::to_string(level - 1)) + "}";
    }
    inner = "&d" + std::to_string(level) + " {mixture: {components: [" + components + "]}}";
  }
  return inner;
}

TEST(BudgetTest, AliasBombsAreRefused) {
  const LoadedScenario mixture =
      load("services:\n  - name: web\n    pod: {service_time: " + mixture_bomb(9, 7) + "}\n");
  EXPECT_TRUE(mentions(mixture.diagnostics, "document too large: more than 250000 values"))
      << mixture.diagnostics.to_string().substr(0, 1000);
  EXPECT_EQ(mixture.diagnostics.error_count(), 1u);
  // Plain values: 200 hosts, in 200 TLS entries, in 200 Ingresses (8 million strings).
  std::string hosts = "&h [";
  for (int i = 0; i < 200; ++i)
    hosts += std::string(i ? ", " : "") + "h" + std::to_string(i) + ".example.com";
  hosts += "]";
  const std::string tls = "[&t {hosts: " + hosts + "}" + repeat(", *t", 199) + "]";
  const LoadedScenario strings = load("routing:\n  ingresses:\n    - &i {spec: {tls: " + tls +
                                      "}}\n" + repeat("    - *i\n", 199));
  EXPECT_TRUE(mentions(strings.diagnostics, "document too large: more than 1000000 list values"))
      << strings.diagnostics.to_string().substr(0, 1000);
}

TEST(BudgetTest, LargeDataSetsFit) {
  std::string samples;
  for (int i = 0; i < 200'000; ++i)
    samples += std::string(i ? ", " : "") + std::to_string(i % 1000) + "us";
  const LoadedScenario loaded =
      load("services:\n  - name: web\n    ports: [{port: 80}]\n    pod:\n      service_time:\n" +
           std::string("        empirical:\n          samples: [") + samples + ", -1ms]\n" +
           std::string(kServices).substr(std::string(kServices).find("routing:")));
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics.to_string().substr(0, 1000);
  EXPECT_EQ(loaded.scenario.services(0).pod().service_time().empirical().samples_size(), 200'001);
  // A problem with one of them is still reported at its line and column.
  const ResolvedScenario r = resolve_scenario(loaded, "", {});
  ASSERT_EQ(r.diagnostics.error_count(), 1u) << r.diagnostics.to_string();
  const Diagnostic& d = r.diagnostics.items()[0];
  EXPECT_EQ(d.field_path, "services[0].pod.service_time.empirical.samples[200000]");
  EXPECT_EQ(d.position.line, 7);
  EXPECT_EQ(d.position.column,
            static_cast<int>(std::string("          samples: [").size() + samples.size() + 3));
}

TEST(BudgetTest, RepeatedReadErrorsAreSummarised) {
  // One unknown field, met 9^4 times through aliases.
  std::string bomb = mixture_bomb(9, 4);
  bomb.replace(bomb.find("constant"), 8, "constantt");
  const LoadedScenario loaded =
      load("services:\n  - name: web\n    pod: {service_time: " + bomb + "}\n");
  EXPECT_EQ(loaded.diagnostics.error_count(), 201u);
  EXPECT_EQ(loaded.diagnostics.items().back().message,
            "6361 more problems not shown (the first 200 are)");
}

// --- assignments -----------------------------------------------------------------------------

TEST(AssignTest, ProblemsAreFieldPathAndMessage) {
  scenario::Scenario s;
  EXPECT_EQ(assign_field_path(&s, "cluster.kube_proxy.mode", "userspace"),
            "cluster.kube_proxy.mode: unknown value 'userspace' (expected one of: iptables, ipvs, "
            "nftables)");
  EXPECT_EQ(assign_field_path(&s, "ingress.replicas", "three"),
            "ingress.replicas: expected an integer, got 'three'");
  s.add_services()->set_name("web");
  EXPECT_EQ(assign_field_path(&s, "services[web]", "{nam: x}"),
            "services[web].nam: unknown field 'nam' (did you mean 'name'?)");
  EXPECT_EQ(assign_field_path(&s, "services[web].deployment.replicas", "0"), "");
  EXPECT_TRUE(s.services(0).deployment().has_replicas());
}

// --- variants --------------------------------------------------------------------------------

TEST(VariantsTest, DuplicateNamesAreReportedWhenLoading) {
  const LoadedScenario loaded = load(std::string(kServices) + R"(variants:
  - {name: a, set: {run.duration: 1s}}
  - {name: a, set: {run.duration: 2s}}
)");
  ASSERT_EQ(loaded.diagnostics.items().size(), 1u) << loaded.diagnostics.to_string();
  EXPECT_EQ(loaded.diagnostics.items()[0].to_string(),
            "test:11:6: variants[1].name: duplicate variant name 'a' (also variants[0])");
}

}  // namespace
}  // namespace ingresslab::scenarios
