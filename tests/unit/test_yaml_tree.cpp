// YAML text -> ParamNode tree (parse_yaml): one document of UTF-8 text, within limits on
// nesting and on what aliases expand to, duplicate keys reported.
#include <catch2/catch.hpp>

#include <string>

#include "sim/core/params.h"
#include "sim/scenario/yaml_tree.h"

using namespace dsim;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Parses text that must fail with exactly one error; returns it.
Diagnostic one_error(const std::string& text) {
  Diagnostics diag;
  const auto tree = parse_yaml(text, "t.yaml", diag);
  INFO(diag.render());
  CHECK_FALSE(tree);
  REQUIRE(diag.all().size() == 1);
  return diag.all()[0];
}

// A list of `width` copies of the list before it, `levels` times over: width^levels
// values once every alias is repeated, in a few hundred bytes of text.
std::string laughs(int width, int levels) {
  std::string text = "l0: &l0 [lol]\n";
  for (int i = 1; i <= levels; ++i) {
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < width; ++k)
      text += (k ? ", *l" : "*l") + std::to_string(i - 1);
    text += "]\n";
  }
  return text;
}

std::string nested(int depth) {
  return "deep: " + std::string(static_cast<size_t>(depth), '[') +
         std::string(static_cast<size_t>(depth), ']') + "\n";
}

}  // namespace

TEST_CASE("yaml: aliases expand within a budget") {
  {
    // 10^3 values: read, each alias repeated in the tree.
    Diagnostics diag;
    const auto tree = parse_yaml(laughs(10, 3), "t.yaml", diag);
    INFO(diag.render());
    REQUIRE(tree);
    const ParamNode* top = tree->find("l3");
    REQUIRE(top);
    CHECK(top->items.size() == 10);
    CHECK(top->items[9].items[9].items[0].items[0].scalar == "lol");
  }
  // 10^9 values ("billion laughs"): refused at the value repeated past the budget (a value
  // an alias repeats is where its anchor defines it).
  const Diagnostic d = one_error(laughs(10, 9));
  CHECK(contains(d.message, "expands to more than 1000000 values"));
  CHECK(d.loc.file == "t.yaml");
  CHECK(d.loc.line == 1);
}

TEST_CASE("yaml: an alias inside what it names is refused") {
  const Diagnostic d = one_error("a: &x [1, *x]\n");
  CHECK(contains(d.message, "an alias names the list or map that holds it"));
}

TEST_CASE("yaml: nesting is limited and said so") {
  Diagnostics diag;
  // 64 levels: the top map and 63 lists.
  CHECK(parse_yaml(nested(63), "t.yaml", diag));
  INFO(diag.render());
  CHECK(diag.ok());
  // Past the limit, and far past it (where yaml-cpp's own guard stops its parser).
  for (const int depth : {65, 100, 5000}) {
    const Diagnostic d = one_error(nested(depth));
    CHECK(contains(d.message, "nested too deeply: at most 64 levels"));
    CHECK(d.loc.line == 1);
  }
}

TEST_CASE("yaml: a scenario is UTF-8 text") {
  {
    const Diagnostic d = one_error(std::string("a: 1\nb: x\0y\n", 12));
    CHECK(d.message == "the file holds a NUL byte here; a scenario is text");
    CHECK(d.loc.line == 2);
    CHECK(d.loc.column == 5);
  }
  {
    const Diagnostic d = one_error("a: 1\nname: caf\xE9\n");
    CHECK(contains(d.message, "a byte that is not UTF-8"));
    CHECK(d.loc.line == 2);
    CHECK(d.loc.column == 10);
  }
  {
    // Columns count characters, not bytes.
    const Diagnostic d = one_error("name: \xC3\xA9\xC3\xA9\xFF\n");
    CHECK(d.loc.column == 9);
  }
  CHECK(contains(one_error("\xFF\xFE"
                           "a\0:\0 \0"
                           "1\0")
                     .message,
                 "UTF-16 or UTF-32"));
  Diagnostics diag;
  CHECK(parse_yaml("name: caf\xC3\xA9\n", "t.yaml", diag));
  CHECK(diag.ok());
}

TEST_CASE("yaml: one document per file") {
  const Diagnostic d = one_error("a: 1\n---\nb: 2\n");
  CHECK(contains(d.message, "a second YAML document"));
  CHECK(d.loc.line == 3);
  Diagnostics diag;
  // A leading '---' and a closing '...' are one document.
  const auto tree = parse_yaml("---\na: 1\n...\n", "t.yaml", diag);
  INFO(diag.render());
  REQUIRE(tree);
  CHECK(tree->find("a"));
  // An empty text is one empty document.
  CHECK(parse_yaml("", "t.yaml", diag));
  CHECK(diag.ok());
}

TEST_CASE("yaml: every duplicate key is reported where it stands") {
  Diagnostics diag;
  const auto tree = parse_yaml("a: 1\nb: 2\na: 3\nc: {x: 1, x: 2}\nb: 4\n", "t.yaml", diag);
  REQUIRE(tree);
  REQUIRE(diag.all().size() == 3);
  CHECK(diag.all()[0].message == "duplicate key 'a'");
  CHECK(diag.all()[0].loc.line == 3);
  CHECK(diag.all()[1].message == "duplicate key 'x'");
  CHECK(diag.all()[1].loc.line == 4);
  CHECK(diag.all()[2].loc.line == 5);
  // The first of each key is kept.
  CHECK(tree->find("a")->scalar == "1");
  CHECK(tree->entries.size() == 3);
}

TEST_CASE("yaml: a text on which yaml-cpp's LoadAll never returns is read once") {
  // Found by fuzzing: a stray ',' after a block mapping made LoadAll find document after
  // document without end, until memory ran out. The documents are now counted with the
  // parser, two at most.
  const std::string text =
      "# a comment\n    model: client\n ,   params: {target: web}\n  - name: c\n";
  Diagnostics diag;
  (void)parse_yaml(text, "t.yaml", diag);
  CHECK(diag.all().size() <= 1);
}
