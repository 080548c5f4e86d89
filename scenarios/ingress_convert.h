// Scenario Ingress objects (scenario.proto `Ingress`, Kubernetes form) -> the route compiler's
// input structs (realproxy/routing/ingress.h), and the ingress-class selection that decides which
// of them the scenario's controller serves.
//
// Validation and the models both go through here, so the simulator routes exactly the objects
// that validation checked:
//   std::vector<routing::Diagnostic> problems;
//   auto objects = to_ingress_objects(scenario.routing(), &problems);
//   routing::CompileResult compiled = routing::compile(objects, compile_options_for(scenario));
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "realproxy/routing/diagnostic.h"
#include "realproxy/routing/ingress.h"
#include "realproxy/routing/route_table.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::scenarios {

// Annotations Kubernetes defines for ingress classes.
inline constexpr std::string_view kLegacyIngressClassAnnotation = "kubernetes.io/ingress.class";
inline constexpr std::string_view kDefaultIngressClassAnnotation =
    "ingressclass.kubernetes.io/is-default-class";

// Converts one Ingress. `file_order` (its index in routing.ingresses) stands in for
// metadata.creationTimestamp when that is empty ("Default: file order"): such objects count as
// created at second `file_order` of the epoch, i.e. older than any dated object, in file order.
// What the routing structs cannot represent is appended to `problems` (Severity::kError, field in
// the API server's notation relative to the object, e.g. "spec.rules[0].http.paths[1].pathType"):
// an unknown pathType (converted as Prefix, so the rest of the path is still checked), both a
// port name and a number (converted as the number), a port number beyond int32, a
// creationTimestamp that is not RFC 3339, a kubernetes.io/ingress.class annotation that
// contradicts spec.ingressClassName. The annotation is honoured as the class when the spec has
// none. Never throws (beyond std::bad_alloc).
routing::IngressObject to_ingress_object(const scenario::Ingress& ingress, size_t file_order,
                                         std::vector<routing::Diagnostic>* problems);

// Every routing.ingresses entry, converted, in order (index i = routing.ingresses[i]).
std::vector<routing::IngressObject> to_ingress_objects(const scenario::Routing& routing,
                                                       std::vector<routing::Diagnostic>* problems);

// True if the IngressClass carries ingressclass.kubernetes.io/is-default-class: "true".
bool is_default_ingress_class(const scenario::IngressClass& ingress_class);

// The class filter of the scenario's controller (IngressController.ingress_class): unset when
// that is empty (every Ingress is served); otherwise only objects of that class, plus objects
// without a class when the default IngressClass (routing.ingress_classes) has that name.
routing::CompileOptions compile_options_for(const scenario::Scenario& scenario);

// Whether compile(…, options) takes `object` into account (the same test compile() applies).
bool is_served(const routing::IngressObject& object, const routing::CompileOptions& options);

// The scenario field path of `api_field` (API notation, as in routing::Diagnostic::field) of
// routing.ingresses[ingress_index]: (2, "spec.rules[0].http.paths[1].pathType") ->
// "routing.ingresses[2].spec.rules[0].http.paths[1].path_type". Keys in brackets are kept as is.
std::string scenario_field_path(size_t ingress_index, std::string_view api_field);

// Seconds since the Unix epoch of an RFC 3339 time ("2024-05-01T12:00:00Z",
// "2024-05-01T14:00:00.5+02:00"; fractions are dropped). False if `text` is not one.
bool parse_rfc3339(std::string_view text, int64_t* seconds);

}  // namespace ingresslab::scenarios
