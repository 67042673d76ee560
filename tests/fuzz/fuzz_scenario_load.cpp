// Fuzz target: the scenario loader and validator on arbitrary bytes, with every built-in
// model (nothing is run). Leading lines `# set: key.path=value` (YAML comments, so the
// rest still reads as the file) become --set overrides, applied in order.
//
// Beyond "no crash, no hang, bounded memory" it checks what the CLI relies on:
//   - a refused scenario says why (at least one error);
//   - an accepted scenario's resolved form (scenario.resolved.yaml, which `dsim analyze
//     run` reloads to repeat a run) loads again, and resolves to the same values (the
//     order of a map's keys aside).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sim/scenario/scenario.h"
#include "sim/scenario/yaml_tree.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

dsim::LoadOptions overrides_of(std::string_view text) {
  constexpr std::string_view kPrefix = "# set: ";
  dsim::LoadOptions options;
  while (text.substr(0, kPrefix.size()) == kPrefix) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(kPrefix.size(), end - kPrefix.size());
    options.overrides.emplace_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return options;
}

// The tree with every map's keys sorted, as text: equal for trees that differ only in the
// order of their keys.
std::string canonical(dsim::ParamNode node) {
  const auto sort_keys = [](auto& self, dsim::ParamNode& n) -> void {
    for (auto& item : n.items)
      self(self, item);
    for (auto& entry : n.entries)
      self(self, entry.value);
    std::stable_sort(n.entries.begin(), n.entries.end(),
                     [](const auto& a, const auto& b) { return a.key < b.key; });
  };
  sort_keys(sort_keys, node);
  return dsim::emit_yaml(node);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dsim;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Diagnostics diag;
  auto spec = load_scenario_text(text, fuzz::kFile, overrides_of(text), fuzz::registry(), diag);
  if (!spec) {
    if (diag.ok()) fuzz::broken("a scenario was refused without an error message");
    (void)diag.render();
    return 0;
  }
  if (!diag.ok()) fuzz::broken("a scenario was accepted with errors", diag.render());

  const std::string resolved = emit_yaml(spec->resolved);
  Diagnostics again;
  auto reloaded =
      load_scenario_text(resolved, "scenario.resolved.yaml", {}, fuzz::registry(), again);
  if (!reloaded) {
    fuzz::broken("the resolved scenario does not load again",
                 again.render() + "--- scenario.resolved.yaml:\n" + resolved);
  }
  const std::string first = canonical(spec->resolved);
  const std::string then = canonical(reloaded->resolved);
  if (first != then) {
    fuzz::broken("the resolved scenario resolves to other values",
                 "--- first (keys sorted):\n" + first + "--- then:\n" + then);
  }
  return 0;
}
