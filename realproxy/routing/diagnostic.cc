#include "realproxy/routing/diagnostic.h"

namespace ingresslab::routing {

std::string ObjectRef::to_string() const {
  return namespace_ + "/" + name;
}

std::string Diagnostic::to_string() const {
  std::string out = severity == Severity::kError ? "error: " : "warning: ";
  out += object.to_string();
  out += ": ";
  out += field;
  out += ": ";
  out += message;
  return out;
}

}  // namespace ingresslab::routing
