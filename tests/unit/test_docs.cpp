// Every model is documented: a `### `name`` entry in the README's "Models", and every one
// of its parameters in a table row, in the README or on the model's own page
// (docs/models/<name>.md) when it has one.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "models/builtin.h"

namespace {

std::string read(const std::string& path) {
  std::ifstream in(std::string(DSIM_SOURCE_DIR) + "/" + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("README documents every model and parameter") {
  const std::string readme = read("README.md");
  REQUIRE_FALSE(readme.empty());
  dsim::ModelRegistry registry;
  dsim::register_builtin_models(registry);
  for (const auto* f : registry.all()) {
    INFO("model " << f->name);
    CHECK(readme.find("### `" + f->name + "`") != std::string::npos);
    const std::string docs = readme + read("docs/models/" + f->name + ".md");
    for (const auto& p : f->params()) {
      INFO("param " << p.key);
      CHECK(docs.find("| `" + p.key + "` |") != std::string::npos);
    }
  }
}
