// The scenario file reference, generated from the comments in scenarios/proto/*.proto.
//
// protoc writes the descriptor set with source info (comments) at build time; it is embedded in
// the library, so `ingresslab schema` prints exactly what the .proto files say, and
// docs/scenario-reference.md is that output (a test keeps the two identical).
#pragma once

#include <string>

namespace ingresslab::scenarios {

// The whole reference as Markdown: every message of scenario.proto in declaration order, a table
// of its fields (YAML name, type with unit, default, valid range, description), and every enum
// with its values.
std::string render_scenario_reference_markdown();

}  // namespace ingresslab::scenarios
