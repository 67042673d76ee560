// The README documents every model and every one of its parameters.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "models/builtin.h"

TEST_CASE("README documents every model and parameter") {
  std::ifstream in(std::string(DSIM_SOURCE_DIR) + "/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  REQUIRE_FALSE(readme.empty());
  dsim::ModelRegistry registry;
  dsim::register_builtin_models(registry);
  for (const auto* f : registry.all()) {
    INFO("model " << f->name);
    CHECK(readme.find("### `" + f->name + "`") != std::string::npos);
    for (const auto& p : f->params()) {
      INFO("param " << p.key);
      CHECK(readme.find("| `" + p.key + "` |") != std::string::npos);
    }
  }
}
