// Errors and warnings produced while validating and compiling Ingress objects.
//
// A diagnostic names the object (namespace/name) and the field path in the API server's notation
// (`spec.rules[0].http.paths[1].pathType`), and its message follows the API server's wording
// (`Required value: ...`, `Invalid value: "x": ...`), so a user can find the line to fix.
#pragma once

#include <compare>
#include <string>

namespace ingresslab::routing {

// Identifies an Ingress object. `namespace_` is the effective namespace ("default" if the
// object left it empty).
struct ObjectRef {
  std::string namespace_;
  std::string name;

  // "namespace/name".
  std::string to_string() const;

  friend auto operator<=>(const ObjectRef&, const ObjectRef&) = default;
};

enum class Severity : uint8_t {
  kError,    // the object is invalid and was skipped entirely
  kWarning,  // the object was compiled, but part of it has no effect or is unsupported
};

struct Diagnostic {
  Severity severity = Severity::kError;
  ObjectRef object;
  std::string field;    // e.g. "spec.rules[0].host"; never empty
  std::string message;  // e.g. "Invalid value: \"*\": a wildcard DNS-1123 subdomain must ..."

  // "error: default/cafe: spec.rules[0].host: Invalid value: ...".
  std::string to_string() const;
};

}  // namespace ingresslab::routing
