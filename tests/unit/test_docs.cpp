// Every model is documented: a `### `name`` entry in the README's "Models", and every one
// of its parameters in a table row, in the README or on the model's own page
// (docs/models/<name>.md) when it has one. Every scenario is indexed in scenarios/README.md.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
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

TEST_CASE("scenarios/README.md indexes every scenario, and only scenarios that exist") {
  namespace fs = std::filesystem;
  const std::string index = read("scenarios/README.md");
  REQUIRE_FALSE(index.empty());
  const fs::path root = fs::path(DSIM_SOURCE_DIR) / "scenarios";
  // A table row names its scenario first, relative to scenarios/ or to its section's
  // folder (given in the heading as `folder/`).
  std::set<std::string> listed;
  std::string folder;
  std::istringstream lines(index);
  const std::regex heading(R"(^## .*\(`([a-z_]+)/`)"), row(R"(^\| `([a-z0-9_/]+\.yaml)` \|)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (line.rfind("## ", 0) == 0) folder = std::regex_search(line, m, heading) ? m[1].str() : "";
    if (!std::regex_search(line, m, row)) continue;
    const std::string name = m[1].str();
    const std::string path =
        name.find('/') == std::string::npos && !folder.empty() ? folder + "/" + name : name;
    INFO("listed: " << path);
    CHECK(fs::exists(root / path));
    listed.insert(path);
  }
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.path().extension() != ".yaml") continue;
    const std::string path = fs::relative(e.path(), root).generic_string();
    INFO("scenario " << path << " is missing from scenarios/README.md");
    CHECK(listed.count(path) == 1);
  }
}
