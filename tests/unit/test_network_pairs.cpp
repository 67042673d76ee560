// Per-pair state of the network: with `output.links: false` the network keeps none (unless
// a pair link queues), and everything else the run produces stays the same, draw for draw.
#include <catch2/catch.hpp>

#include <string>

#include "sim/core/engine.h"

#include "models/builtin.h"
#include "sim/run/runner.h"

using namespace dsim;

namespace {

// The registry outlives the scenarios loaded with it (their model makers point into it).
const ModelRegistry& registry() {
  static const ModelRegistry r = [] {
    ModelRegistry m;
    register_builtin_models(m);
    return m;
  }();
  return r;
}

ScenarioSpec load(const std::string& text) {
  Diagnostics diag;
  auto spec = load_scenario_text(text, "test.yaml", {}, registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  return *spec;
}

RunOutput run_text(const std::string& text) {
  return run_scenario(load(text));
}

// Pairs of nodes the network kept state for.
size_t pairs_kept(const std::string& text) {
  auto engine = build_engine(load(text));
  engine->run();
  return engine->network().pairs_used();
}

const std::string* file(const RunOutput& out, const std::string& name) {
  for (const auto& [n, content] : out.files) {
    if (n == name) return &content;
  }
  return nullptr;
}

// A lossy, duplicating, reordering all-pairs network with a partition: every path of the
// message code is taken.
std::string scenario(const std::string& network, bool links) {
  return R"(
duration: 2s
network: )" +
         network + R"(
output: {links: )" +
         (links ? "true" : "false") + R"(}
groups:
  - {name: clients, model: client, count: 20, params: {target: servers, rate: 500/s}}
  - {name: servers, model: server, count: 5}
faults:
  - {at: 0.5s, partition: [[clients.0, clients.1], [servers.0]], for: 0.3s}
)";
}

}  // namespace

TEST_CASE("output.links: false keeps no pair state and changes nothing else") {
  for (const std::string network :
       {"{latency: \"uniform(0.1ms, 1ms)\", loss: 0.01, duplicate: 0.01, reorder: 0.02}",
        "{latency: 0.5ms, access_latency: \"uniform(0.05ms, 0.5ms)\"}",
        "{latency: 0.2ms, bandwidth: 100Mbps}"}) {
    INFO(network);
    const RunOutput with = run_text(scenario(network, true));
    const RunOutput without = run_text(scenario(network, false));
    REQUIRE(with.stats.messages_delivered > 10'000);
    CHECK(with.stats.fingerprint == without.stats.fingerprint);
    CHECK(with.stats.events == without.stats.events);
    REQUIRE(file(with, "links.csv"));
    CHECK(file(without, "links.csv") == nullptr);
    const bool queues = network.find("bandwidth") != std::string::npos;
    CHECK(pairs_kept(scenario(network, true)) > 100);
    CHECK((pairs_kept(scenario(network, false)) > 100) == queues);
    for (const char* name : {"summary.csv", "nodes.csv", "latency.csv", "timeseries.csv"}) {
      INFO(name);
      REQUIRE(file(with, name));
      REQUIRE(file(without, name));
      CHECK(*file(with, name) == *file(without, name));
    }
  }
}
