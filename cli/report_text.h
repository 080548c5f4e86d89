// Rendering a RunResult for people (text) and for spreadsheets (CSV); JSON is the protobuf JSON
// mapping of result.proto with its field names.
#pragma once

#include <string>

#include "scenarios/proto/result.pb.h"

namespace ingresslab::cli {

// A readable report: end-to-end and per-hop latency with CIs, throughput, success, errors,
// utilisation per component, the bottleneck marked. Variants follow the base, then a comparison.
std::string render_text(const result::RunResult& result);
// One row per (variant, hop, metric): variant,scope,name,metric,value.
std::string render_csv(const result::RunResult& result);
// The JSON contract (proto field names, every field printed).
std::string render_json(const result::RunResult& result);

}  // namespace ingresslab::cli
