// libFuzzer target: realproxy's Kubernetes manifest reader and configuration builder must turn any
// bytes into a configuration or errors naming file, object and field — never crash, hang, or
// trip a sanitizer.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "realproxy/config/manifests.h"
#include "realproxy/config/proxy_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ingresslab::realproxy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Manifests manifests;
  std::vector<ConfigError> errors;
  // The certificate-file annotations resolve against a directory that does not exist.
  parse_manifest_text(text, "/nonexistent-fuzz/fuzz.yaml", &manifests, &errors);
  (void)build_proxy_config(manifests, std::move(errors), LoadOptions{});
  return 0;
}
