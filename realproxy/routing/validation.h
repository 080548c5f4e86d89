// Validation of one Ingress object, as the API server does it on create.
//
// Transcribed from kubernetes pkg/apis/networking/validation/validation.go (ValidateIngressCreate,
// ValidateIngressSpec, validateIngressRules, validateHTTPIngressPath, validateIngressBackend,
// validateIngressTLS), plus metadata name/namespace checks and one rule of ours: a rule with
// neither `host` nor `http` is rejected (the API server accepts it, but it can route nothing).
// Not checked: annotations (none are mirrored), field sizes the API server bounds elsewhere.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "realproxy/routing/diagnostic.h"
#include "realproxy/routing/ingress.h"

namespace ingresslab::routing {

// The namespace an object lives in: `object.namespace_`, or "default" if that is empty.
std::string_view effective_namespace(const IngressObject& object);

// The ObjectRef (effective namespace, name) used in diagnostics and routes.
ObjectRef object_ref(const IngressObject& object);

// Appends one Severity::kError diagnostic per problem found in `object` to `*out` (all of them,
// not just the first) and returns true iff there was none. Never throws on any input.
bool validate_ingress(const IngressObject& object, std::vector<Diagnostic>* out);

// Field path of rule `rule_index`'s path `path_index`: "spec.rules[1].http.paths[0]".
std::string path_field(size_t rule_index, size_t path_index);

}  // namespace ingresslab::routing
