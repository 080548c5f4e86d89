// Semantic checks on a scenario after defaults are filled: references resolve, ranges hold,
// distributions are well-formed, placements fit the nodes, Ingress objects are valid Ingress v1.
#pragma once

#include <string>

#include "scenarios/diagnostics.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::scenarios {

// Fills what defaults cannot express field by field: the default three nodes and zone when none
// are given, Node.count expansion (`web` x3 -> web-1..web-3), nodes' default zone, the scenario
// name from the file name, workers = ceil(cpu_cores), a request mix with one entry per Ingress
// rule path when none is given, default retry conditions. Idempotent.
// Also: with no zones listed, the zones the nodes name (in order), else `zone-a`; a client
// group's name (`clients-<index>`) and zone (the first); a RequestClass's empty host (the first
// Ingress host); ServicePort.target_port = port when 0 (as Kubernetes does). A Node.count out of
// its range, or one that would make more than 100000 nodes, is left for validation to report.
// REQUIRES: apply_defaults() ran first (normalisation reads defaulted fields).
void normalize_scenario(scenario::Scenario* scenario, const std::string& file_path);

// Adds one diagnostic per problem found (never stops at the first), positioned through
// `source_map` and named by field path, e.g.
//   services[1].pod.service_time.lognormal.p99: must be > mean (got 2ms <= 5ms)
// A path never written (a required list left out) is positioned at the start of the document.
// Past 200 diagnostics (one mistake repeated through YAML aliases) the rest are only counted.
// Ingress objects are checked by realproxy/routing's validator (ingress_convert.h), their
// messages mapped onto routing.ingresses[i]... paths. REQUIRES: normalize_scenario() ran first.
void validate_scenario(const scenario::Scenario& scenario, const SourceMap& source_map,
                       Diagnostics* diagnostics);

// Checks what only the scenario as loaded (before a variant is chosen) has: every variant has a
// name, and no two share one. resolve_scenario() drops `variants` before validate_scenario()
// runs, so load_scenario_text() runs this, once per file, on LoadedScenario::scenario.
// (validate_scenario() also runs it, which finds nothing once variants are dropped.)
void validate_variants(const scenario::Scenario& scenario, const SourceMap& source_map,
                       Diagnostics* diagnostics);

}  // namespace ingresslab::scenarios
