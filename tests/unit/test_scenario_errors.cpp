// Scenario errors: every error of the whole scenario in one pass, in file order.
#include <catch2/catch.hpp>

#include <string>

#include "models/builtin.h"
#include "sim/scenario/scenario.h"

using namespace dsim;

namespace {

// The specs point into the registry: it outlives them.
const ModelRegistry& registry() {
  static const ModelRegistry r = [] {
    ModelRegistry m;
    register_builtin_models(m);
    return m;
  }();
  return r;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

Diagnostics load_errors(const std::string& text) {
  Diagnostics diag;
  CHECK_FALSE(load_scenario_text(text, "s.yaml", LoadOptions{}, registry(), diag));
  return diag;
}

}  // namespace

TEST_CASE("scenario errors: faults, parameters and keys in one pass, in file order") {
  const Diagnostics diag = load_errors(R"Y(faults:
  - {at: 1s, crash: nobody}
duration: soon
groups:
  - {name: c, model: client, params: {timeout: 5, target: s}}
  - {name: s, model: server}
  - {name: s, model: server}
nemesis:
  - {crash: s, rate: 1/min, stop: 1h}
seed: 1
seed: 2
)Y");
  INFO(diag.render());
  const auto& all = diag.all();
  REQUIRE(all.size() == 6);
  CHECK(contains(all[0].message, "faults[0].crash: no group or node named 'nobody'"));
  CHECK(contains(all[1].message, "duration: expected a duration"));
  CHECK(contains(all[2].message, "groups.c.params.timeout"));
  CHECK(contains(all[3].message, "a group named 's' is already defined"));
  CHECK(contains(all[4].message, "nemesis[0].stop"));
  CHECK(all[5].message == "duplicate key 'seed'");
  for (size_t i = 1; i < all.size(); ++i) {
    INFO(i);
    CHECK(all[i - 1].loc.line < all[i].loc.line);
  }
}

TEST_CASE("scenario errors: without groups, a fault is not reported a second time") {
  const Diagnostics diag = load_errors("duration: 10s\nfaults:\n  - {at: 1s, crash: web}\n");
  INFO(diag.render());
  REQUIRE(diag.all().size() == 1);
  CHECK(contains(diag.all()[0].message, "missing required key 'groups'"));
}

TEST_CASE("scenario errors: a bad link does not hide the other errors of a graph") {
  const Diagnostics diag = load_errors(R"Y(duration: soon
network:
  graph:
    hosts: [a, b]
    links:
      - {between: [a, b], latency: 1ms}
      - {between: [a, nowhere], latency: 1ms}
groups:
  - {name: s, model: server, placement: a}
)Y");
  INFO(diag.render());
  REQUIRE(diag.all().size() == 2);
  CHECK(contains(diag.all()[0].message, "duration"));
  CHECK(contains(diag.all()[1].message, "no host or switch named 'nowhere'"));
  CHECK(diag.all()[1].loc.line == 7);
}

TEST_CASE("diagnostics: sort_in_file_order") {
  Diagnostics d;
  d.error(SourceLoc{"a.yaml", 0, 0}, "before");
  d.error(SourceLoc{"a.yaml", 9, 1}, "nine");
  d.error(SourceLoc{"b.yaml", 1, 1}, "other file");
  d.error(SourceLoc{"a.yaml", 0, 0}, "no line");
  d.error(SourceLoc{"a.yaml", 2, 7}, "two, seven");
  d.error(SourceLoc{"a.yaml", 2, 3}, "two, three");
  d.error(SourceLoc{"a.yaml", 2, 3}, "two, three again");
  d.sort_in_file_order(1);
  std::string order;
  for (const auto& e : d.all())
    order += e.message + "|";
  // The first stays; then a.yaml by line and column (ties as found, no line last), b.yaml.
  CHECK(order == "before|two, three|two, three again|two, seven|nine|no line|other file|");
}

namespace {

const std::string kGroups = "duration: 10s\ngroups:\n  - {name: s, model: server}\n";

// The errors of kGroups + `extra`, one string.
std::string errors_with(const std::string& extra, const std::string& file = "s.yaml") {
  Diagnostics diag;
  CHECK_FALSE(load_scenario_text(kGroups + extra, file, LoadOptions{}, registry(), diag));
  return diag.render();
}

bool loads(const std::string& extra, const std::string& file = "s.yaml") {
  Diagnostics diag;
  const bool ok =
      load_scenario_text(kGroups + extra, file, LoadOptions{}, registry(), diag).has_value();
  INFO(diag.render());
  CHECK(diag.ok() == ok);
  return ok;
}

}  // namespace

TEST_CASE("scenario names: one safe path component, one line of UTF-8") {
  CHECK(loads("name: web-tier_2\n"));
  CHECK(loads("name: caf\xC3\xA9 lab\n"));
  CHECK(loads("name: v1.2\n"));
  CHECK(contains(errors_with("name: ../../escape\n"), "holds a path separator"));
  CHECK(contains(errors_with("name: a\\\\b\n"), "holds a path separator"));
  CHECK(contains(errors_with("name: ..\n"), "holds '..'"));
  CHECK(contains(errors_with("name: .hidden\n"), "starts with '.'"));
  CHECK(contains(errors_with("name: \"\"\n"), "is empty"));
  CHECK(contains(errors_with("name: \"a\\nb\"\n"), "the control character U+000A"));
  CHECK(contains(errors_with("name: \"a\\u0085b\"\n"), "the control character U+0085"));
  CHECK(loads("name: " + std::string(200, 'x') + "\n"));
  CHECK(contains(errors_with("name: " + std::string(201, 'x') + "\n"), "201 bytes long"));
  // Without name:, the file's name must follow the same rules.
  CHECK(loads("", "runs/ok.yaml"));
  CHECK(contains(errors_with("", "dir/.hidden.yaml"), "named after its file"));
  // Descriptions may span lines; other texts may not.
  CHECK(loads("description: |\n  one\n  two\n"));
  CHECK(contains(errors_with("description: \"bell\\a\"\n"), "U+0007"));
}

TEST_CASE("scenario texts: names in maps of a model's params are one line of UTF-8") {
  const std::string err =
      errors_with("  - {name: c, model: client, params: {target: s, ops: {\"re\\nad\": 1}}}\n");
  CHECK(contains(err, "groups.c.params.ops: a name in this map holds the control character"));
}

TEST_CASE("rates and periods finer than the clock's resolution are refused") {
  const std::string client = "  - {name: c, model: client, params: {target: s, rate: ";
  CHECK(loads(client + "1e9/s}}\n"));
  CHECK(contains(errors_with(client + "2e9/s}}\n"), "finer than the clock's resolution"));
  CHECK(contains(errors_with(client + "1e308/s}}\n"), "rate 1e308/s is above 1e9/s"));
  CHECK(contains(errors_with("network: {latency: \"exponential(rate=5e9/s)\"}\n"),
                 "exponential: rate 5e9/s is above 1e9/s"));
  // A repeating fault: at most 10^6 starts.
  CHECK(loads("faults:\n  - {at: 1s, restart: s, every: 1ms, until: 2s}\n"));
  CHECK(contains(errors_with("faults:\n  - {at: 1s, restart: s, every: 1ns}\n"),
                 "would start the fault 9000000000 times"));
  CHECK(contains(errors_with("faults:\n  - {at: 0s, restart: s, every: 0.1ns}\n"),
                 "finer than the clock's resolution"));
  // A nemesis: about 10^6 faults at most, a fault's mean duration included.
  CHECK(loads("nemesis:\n  - {crash: s, rate: 1e9/s, duration: 1s}\n"));
  CHECK(contains(errors_with("nemesis:\n  - {restart: s, rate: 1e9/s}\n"),
                 "would start about 10000000000 faults"));
  CHECK(contains(errors_with("nemesis:\n  - {restart: s, interval: 0s}\n"),
                 "would start faults without end"));
}
