// scenario.resolved.yaml, which a run writes so that it can be repeated exactly, holds every
// parameter's effective value, defaults included. Every shipped scenario and fuzz seed must
// load again from its resolved form and resolve to the same values; a check that refuses a
// key merely for being present (rather than for its value) breaks this.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sim/scenario/scenario.h"
#include "sim/scenario/yaml_tree.h"
#include "tests/support/scenarios.h"

using namespace dsim;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> scenario_files() {
  std::vector<fs::path> files;
  for (const char* dir : {"scenarios", "tests/fuzz/seeds"}) {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(DSIM_SOURCE_DIR) / dir)) {
      if (e.is_regular_file() && e.path().extension() == ".yaml" &&
          e.path().filename() != "sweep.yaml")
        files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The "# set: key=value" lines a fuzz seed starts with, as overrides.
LoadOptions overrides_of(const std::string& text) {
  LoadOptions options;
  std::istringstream in(text);
  std::string line;
  const std::string prefix = "# set: ";
  while (std::getline(in, line) && line.rfind(prefix, 0) == 0)
    options.overrides.push_back(line.substr(prefix.size()));
  return options;
}

// The tree with every map's keys sorted, as text.
std::string canonical(ParamNode node) {
  const auto sort_keys = [](auto& self, ParamNode& n) -> void {
    for (auto& item : n.items)
      self(self, item);
    for (auto& entry : n.entries)
      self(self, entry.value);
    std::stable_sort(n.entries.begin(), n.entries.end(),
                     [](const auto& a, const auto& b) { return a.key < b.key; });
  };
  sort_keys(sort_keys, node);
  return emit_yaml(node);
}

}  // namespace

TEST_CASE("resolved: every scenario and fuzz seed loads again from its resolved form",
          "[scenario]") {
  const auto files = scenario_files();
  REQUIRE(files.size() > 60);
  for (const fs::path& file : files) {
    INFO(file.string());
    std::ifstream in(file, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Diagnostics diag;
    auto spec = load_scenario_text(text, file.string(), overrides_of(text),
                                   testing::builtin_registry(), diag);
    INFO(diag.render());
    REQUIRE(spec);
    const std::string resolved = emit_yaml(spec->resolved);
    Diagnostics again;
    auto reloaded =
        load_scenario_text(resolved, (file.parent_path() / "scenario.resolved.yaml").string(), {},
                           testing::builtin_registry(), again);
    INFO(again.render());
    REQUIRE(reloaded);
    CHECK(canonical(spec->resolved) == canonical(reloaded->resolved));
  }
}
