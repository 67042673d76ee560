// The documentation holds together: every model has a page (docs/models/<name>.md) whose
// parameter table is the one the code generates, and a row in README.md's table of models;
// every relative Markdown link in README.md, docs/ and scenarios/README.md reaches an existing
// file and heading; no bare `[00N]:line` citation is left in the sources or the docs; every
// scenario is indexed in scenarios/README.md.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "models/builtin.h"
#include "sim/app/params_markdown.h"

namespace {

namespace fs = std::filesystem;

std::string read(const std::string& path) {
  std::ifstream in(std::string(DSIM_SOURCE_DIR) + "/" + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* const kBegin = "<!-- params:begin -->\n";
const char* const kEnd = "<!-- params:end -->";

/// GitHub's anchor for a heading: lowercase, spaces to '-', punctuation dropped (letters,
/// digits, '-' and '_' kept).
std::string anchor_of(const std::string& heading) {
  std::string out;
  for (unsigned char c : heading) {
    if (std::isalnum(c) != 0) {
      out += static_cast<char>(std::tolower(c));
    } else if (c == ' ') {
      out += '-';
    } else if (c == '-' || c == '_') {
      out += static_cast<char>(c);
    }
  }
  return out;
}

/// The lines of a Markdown text outside fenced code blocks.
std::vector<std::string> prose_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  bool fenced = false;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, 3, "```") == 0) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) out.push_back(line);
  }
  return out;
}

/// The anchors of a Markdown file's headings; a repeated one gets -1, -2, ... as on GitHub.
std::set<std::string> anchors_of(const std::string& text) {
  std::set<std::string> out;
  std::map<std::string, int> seen;
  const std::regex heading(R"(^#{1,6}\s+(.*?)\s*#*\s*$)");
  for (const auto& line : prose_lines(text)) {
    std::smatch m;
    if (!std::regex_match(line, m, heading)) continue;
    const std::string base = anchor_of(m[1].str());
    const int n = seen[base]++;
    out.insert(n == 0 ? base : base + "-" + std::to_string(n));
  }
  return out;
}

/// The Markdown files whose links are checked, relative to the source directory.
std::vector<std::string> linked_pages() {
  std::vector<std::string> pages = {"README.md", "scenarios/README.md"};
  for (const auto& e : fs::recursive_directory_iterator(fs::path(DSIM_SOURCE_DIR) / "docs")) {
    if (e.path().extension() == ".md") {
      pages.push_back(fs::relative(e.path(), DSIM_SOURCE_DIR).generic_string());
    }
  }
  return pages;
}

}  // namespace

TEST_CASE("every model has a page whose parameter table is current") {
  dsim::ModelRegistry registry;
  dsim::register_builtin_models(registry);
  REQUIRE_FALSE(registry.all().empty());
  for (const auto* f : registry.all()) {
    const std::string page = "docs/models/" + f->name + ".md";
    INFO(page << ": run make docs to regenerate its parameter table");
    const std::string text = read(page);
    REQUIRE_FALSE(text.empty());
    const auto begin = text.find(kBegin);
    const auto end = text.find(kEnd);
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    REQUIRE(begin < end);
    const std::string table =
        text.substr(begin + std::strlen(kBegin), end - begin - std::strlen(kBegin));
    CHECK(table == dsim::params_markdown(*f));
  }
}

TEST_CASE("the parameter table has a row per parameter and escapes its cells") {
  dsim::ModelRegistry registry;
  dsim::register_builtin_models(registry);
  const auto* raft = registry.find("raft");
  REQUIRE(raft != nullptr);
  const std::string table = dsim::params_markdown(*raft);
  CHECK(table.rfind("| param | type | default | meaning |\n|---|---|---|---|\n", 0) == 0);
  for (const auto& p : raft->params())
    CHECK(table.find("| `" + p.key + "` |") != std::string::npos);
  CHECK(dsim::markdown_cell("a|b\nc") == "a\\|b c");
}

TEST_CASE("README.md links every model's page") {
  const std::string readme = read("README.md");
  REQUIRE_FALSE(readme.empty());
  dsim::ModelRegistry registry;
  dsim::register_builtin_models(registry);
  for (const auto* f : registry.all()) {
    INFO("model " << f->name << " is missing from README.md's table of models");
    CHECK(readme.find("](docs/models/" + f->name + ".md)") != std::string::npos);
  }
}

TEST_CASE("anchors follow GitHub's rules") {
  CHECK(anchor_of("Quorum replication (Dynamo)") == "quorum-replication-dynamo");
  CHECK(anchor_of("Analytic models: `dsim analyze`") == "analytic-models-dsim-analyze");
  CHECK(anchors_of("# A\n## B\n```\n# not a heading\n```\n### B\n") ==
        std::set<std::string>{"a", "b", "b-1"});
}

TEST_CASE("every relative link in the docs reaches an existing file and heading") {
  const std::regex link(R"(\[[^\]]*\]\(([^)\s]+)\))"), code_span("`[^`]*`");
  std::size_t checked = 0;
  for (const auto& page : linked_pages()) {
    for (const auto& raw : prose_lines(read(page))) {
      const std::string line = std::regex_replace(raw, code_span, "");
      for (auto it = std::sregex_iterator(line.begin(), line.end(), link);
           it != std::sregex_iterator(); ++it) {
        const std::string target = (*it)[1].str();
        if (std::regex_search(target, std::regex("^[a-z]+:"))) continue;  // a URL
        const auto hash = target.find('#');
        const std::string path = target.substr(0, hash);
        const std::string fragment = hash == std::string::npos ? "" : target.substr(hash + 1);
        const std::string file =
            path.empty()
                ? page
                : (fs::path(page).parent_path() / path).lexically_normal().generic_string();
        INFO(page << ": link " << target << " (to " << file << ")");
        ++checked;
        REQUIRE(fs::exists(fs::path(DSIM_SOURCE_DIR) / file));
        if (!fragment.empty()) CHECK(anchors_of(read(file)).count(fragment) == 1);
      }
    }
  }
  CHECK(checked > 100);
}

TEST_CASE("no bare line-number citation is left in the docs and sources") {
  // Sources are cited by name and section, never as `[002]:7915`.
  const auto cites = [](const std::string& text) {
    for (auto at = text.find("[00"); at != std::string::npos; at = text.find("[00", at + 1)) {
      if (at + 6 < text.size() && std::isdigit(static_cast<unsigned char>(text[at + 3])) != 0 &&
          text.compare(at + 4, 2, "]:") == 0 &&
          std::isdigit(static_cast<unsigned char>(text[at + 6])) != 0) {
        return true;
      }
    }
    return false;
  };
  std::size_t files = 0;
  for (const char* dir : {"docs", "scenarios", "models", "sim"}) {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(DSIM_SOURCE_DIR) / dir)) {
      if (!e.is_regular_file()) continue;
      const std::string path = fs::relative(e.path(), DSIM_SOURCE_DIR).generic_string();
      ++files;
      INFO(path);
      CHECK_FALSE(cites(read(path)));
    }
  }
  CHECK_FALSE(cites(read("README.md")));
  CHECK(cites("as [002]:7915 says"));
  CHECK(files > 100);
}

TEST_CASE("scenarios/README.md indexes every scenario and only scenarios that exist") {
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
