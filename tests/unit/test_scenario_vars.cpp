// Scenario variables (sim/scenario/vars.h): `${...}` replaced before the scenario is read,
// overridable by --set, gone from the resolved scenario.
#include <catch2/catch.hpp>

#include <string>

#include "sim/scenario/scenario.h"
#include "sim/scenario/vars.h"
#include "sim/scenario/yaml_tree.h"
#include "support/scenarios.h"

using namespace dsim;

namespace {

// The scalar at `path` (map keys) after expanding `text`'s variables.
std::string expanded(const std::string& text, std::initializer_list<const char*> path,
                     Diagnostics& diag) {
  auto tree = parse_yaml(text, "v.yaml", diag);
  REQUIRE(tree);
  expand_vars(*tree, diag);
  const ParamNode* n = &*tree;
  for (const char* key : path) {
    n = n->find(key);
    if (!n) return "<missing>";
  }
  return n->kind == ParamNode::Kind::kScalar ? n->scalar : "<not a scalar>";
}

// `value` expanded with t = 150ms and n = 3 (or the given vars, which it must all use).
std::string ok(const std::string& value, const std::string& vars = "") {
  Diagnostics diag;
  const std::string text =
      vars.empty() ? "vars: {t: 150ms, n: 3}\nuse: \"${t} ${n}\"\nx: \"" + value + "\"\n"
                   : "vars: " + vars + "\nx: \"" + value + "\"\n";
  const std::string out = expanded(text, {"x"}, diag);
  INFO(diag.render());
  CHECK(diag.ok());
  return out;
}

}  // namespace

TEST_CASE("vars: text, arithmetic on durations and numbers, several in one value") {
  CHECK(ok("${t}") == "150ms");
  CHECK(ok("${ t / 2 }") == "75ms");
  CHECK(ok("uniform(${t}, ${2 * t})") == "uniform(150ms, 300ms)");
  CHECK(ok("${t + 5ms}") == "155ms");
  CHECK(ok("${(t - 50ms) * n}") == "300ms");
  CHECK(ok("${t / 50ms}") == "3");
  CHECK(ok("${n * 2.5}") == "7.5");
  CHECK(ok("${-n + 1}") == "-2");
  CHECK(ok("${t / 3}") == "50ms");
  CHECK(ok("${t / 7}") == format_duration(Duration::from_ns(21'428'571)));  // to the ns
  CHECK(ok("${r}/s", "{r: 100}") == "100/s");
  CHECK(ok("${rate}", "{rate: 100/s}") == "100/s");  // any text, used alone
  CHECK(ok("plain") == "plain");
}

TEST_CASE("vars: every mistake is an error at its place, and the block is removed") {
  Diagnostics diag;
  auto tree = parse_yaml(
      "vars: {t: 1s, spare: 2}\na: \"${t * t}\"\nb: \"${nope}\"\nc: \"${t\"\nd: \"${(t}\"\n",
      "v.yaml", diag);
  REQUIRE(tree);
  CHECK_FALSE(expand_vars(*tree, diag));
  const std::string all = diag.render();
  INFO(all);
  CHECK(all.find("v.yaml:2:4: error: a: ${t * t}: multiplies two durations") != std::string::npos);
  CHECK(all.find("b: ${nope}: no variable 'nope' in vars") != std::string::npos);
  CHECK(all.find("c: a '${' is not closed by '}'") != std::string::npos);
  CHECK(all.find("d: ${(t}: a '(' is not closed") != std::string::npos);
  CHECK(all.find("vars.spare: not used") != std::string::npos);
  CHECK(diag.all().size() == 5);
  CHECK_FALSE(tree->find("vars"));
  CHECK(tree->find("a")->kind == ParamNode::Kind::kNull);  // read as absent: no second error
}

TEST_CASE("vars: --set changes a variable everywhere, and the resolved scenario holds values") {
  const std::string text = R"Y(name: v
duration: 10s
vars: {tmin: 150ms}
groups:
  - name: replicas
    model: raft
    count: 3
    params: {election_timeout: "uniform(${tmin}, ${2 * tmin})", heartbeat: "${tmin / 2}"}
)Y";
  Diagnostics diag;
  LoadOptions opts;
  opts.overrides = {"vars.tmin=12ms"};
  auto spec = load_scenario_text(text, "v.yaml", opts, testing::builtin_registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  const std::string resolved = emit_yaml(spec->resolved);
  CHECK(resolved.find("uniform(12ms, 24ms)") != std::string::npos);
  CHECK(resolved.find("heartbeat: 6ms") != std::string::npos);
  CHECK(resolved.find("vars") == std::string::npos);
  CHECK(resolved.find("${") == std::string::npos);
}
