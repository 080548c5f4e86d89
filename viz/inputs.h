// The files the visualizer opens, told apart by extension and content, and RunResult JSON
// reading. No Qt here.
#pragma once

#include <string>

#include "scenarios/proto/result.pb.h"

namespace ingresslab::viz {

enum class InputKind {
  kScenario,  // YAML / JSON / textproto scenario (scenarios/loader.h)
  kResult,    // a RunResult as JSON (`ingresslab run --format json`)
  kTrace,     // a span trace (length-delimited result.Span; binary)
};

// What `path` holds: .yaml/.yml/.textproto/.txtpb/.pbtxt are scenarios; a .json file is a result
// when it parses as a RunResult with an end_to_end, hops or variants member, else a scenario;
// any other file is a trace when its bytes are not text, else a scenario (YAML). Returns false
// and sets *error ("PATH: cannot open: ...", "PATH: empty file") when the file cannot be read.
bool classify_input(const std::string& path, InputKind* kind, std::string* error);

// Reads a RunResult from JSON (protobuf's JSON mapping; unknown fields are ignored, so results
// of newer versions still open). Returns false and sets *error, naming the file, on failure.
bool read_result_json(const std::string& path, result::RunResult* out, std::string* error);

// "scenario", "result" or "trace".
const char* input_kind_name(InputKind kind);

}  // namespace ingresslab::viz
