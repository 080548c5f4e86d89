#include "realproxy/routing/ingress.h"

namespace ingresslab::routing {

std::string_view to_string(PathType type) {
  switch (type) {
    case PathType::kExact:
      return "Exact";
    case PathType::kPrefix:
      return "Prefix";
    case PathType::kImplementationSpecific:
      return "ImplementationSpecific";
    case PathType::kUnset:
      break;
  }
  return "<unset>";
}

}  // namespace ingresslab::routing
