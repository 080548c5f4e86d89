// Importing real Kubernetes YAML into a scenario.
//
// A scenario's `routing.manifests` lists Kubernetes YAML files (multi-document `---`, or
// `kind: List` as `kubectl get -o yaml` writes). Imported kinds:
//   - Ingress (networking.k8s.io/v1)  -> routing.ingresses
//   - IngressClass                     -> routing.ingress_classes
//   - Service (v1)                     -> services[] (name, namespace, ports; targetPort by number,
//                                         or by name resolved through the selected Deployment's
//                                         containerPorts)
//   - Deployment / DaemonSet (apps/v1) -> services[].deployment.replicas for every Service (same
//                                         namespace) whose non-empty selector is a subset of the
//                                         pod template labels; several matching workloads add up.
//                                         A DaemonSet counts one pod per node of the scenario at
//                                         import time (cluster.nodes with `count` expanded, or the
//                                         3 default nodes); placement is left to its default (every
//                                         node, round robin: one pod each)
//   - EndpointSlice (discovery.k8s.io/v1) -> services[].deployment.replicas = ready endpoints
//                                         (conditions.ready true or unset) of the slices that
//                                         name it (label kubernetes.io/service-name), when no
//                                         workload provides them
// Other kinds are skipped with a warning naming the document; other apiVersions of the kinds above
// are errors. Fields the scenario does not model (status, resources, probes…) are ignored. Values
// written in the scenario itself win over imported ones: a Service entry in `services:` with the
// same name (and namespace) is merged field by field on top of the imported entry (a non-empty
// `ports` list replaces the imported ports) and keeps its place; imported Services the scenario
// does not mention follow, in manifest order. The same object (kind, namespace, name) twice is an
// error naming both places.
#pragma once

#include <string>
#include <string_view>

#include "scenarios/loader.h"

namespace ingresslab::scenarios {

// Imports every file in loaded->scenario.routing().manifests() (paths relative to
// loaded->base_dir, or absolute; a directory means its *.yaml and *.yml files, sorted by name)
// into loaded->scenario, with diagnostics (file:line:col, object kind/name, field) added to
// loaded->diagnostics and positions to loaded->source_map. A file that cannot be read is an error
// at the scenario's routing.manifests[i]. Objects in different files see each other (a Service in
// one file selects a Deployment in another). Never throws.
void import_scenario_manifests(LoadedScenario* loaded);

// Imports Kubernetes YAML text (one file's contents) into `scenario`. `file` names it in
// diagnostics; `source_map` may be null. Exposed for tests and for realproxy's config loading.
// Never throws.
void import_manifest_text(std::string_view text, const std::string& file,
                          scenario::Scenario* scenario, Diagnostics* diagnostics,
                          SourceMap* source_map);

}  // namespace ingresslab::scenarios
