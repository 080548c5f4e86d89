// libFuzzer target: the scenario loader must turn any bytes into a scenario or diagnostics —
// never crash, hang, or trip a sanitizer. The first byte picks the format.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scenarios/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using ingresslab::scenarios::Format;
  const Format format = data[0] % 8 == 0   ? Format::kTextproto
                        : data[0] % 8 == 1 ? Format::kJson
                                           : Format::kYaml;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  // base_dir points nowhere: manifests referenced by fuzzed input must fail cleanly.
  const auto loaded =
      ingresslab::scenarios::load_scenario_text(text, format, "fuzz.yaml", "/nonexistent-fuzz");
  if (loaded.ok()) {
    (void)ingresslab::scenarios::resolve_scenario(loaded, "", {{"run.seed", "7"}});
    for (const auto& v : loaded.scenario.variants()) {
      (void)ingresslab::scenarios::resolve_scenario(loaded, v.name(), {});
    }
  }
  return 0;
}
