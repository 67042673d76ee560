// Per-node access links (network.access_latency): each node's latency is drawn once, from
// its own stream, and a message from a to b takes access(a) + access(b) on top of the
// all-pairs latency. Through the whole engine, the phold workloads then count exactly.
#include <catch2/catch.hpp>

#include "models/builtin.h"
#include "sim/core/network.h"
#include "sim/run/runner.h"

using namespace dsim;

namespace {

Distribution time_dist(Distribution d) {
  return d.with_dim(Distribution::Dim::kTime);
}

Transmission msg(NodeId from, NodeId to) {
  return Transmission{from, to, 0, nullptr, SimTime::zero()};
}

RunOutput run_text(const std::string& text) {
  ModelRegistry registry;
  register_builtin_models(registry);
  Diagnostics diag;
  auto spec = load_scenario_text(text, "test.yaml", {}, registry, diag);
  INFO(diag.render());
  REQUIRE(spec);
  return run_scenario(*spec);
}

double figure(const RunOutput& out, const std::string& metric) {
  for (const auto& r : out.summary) {
    if (r.group == "run" && r.metric == metric) return r.value;
  }
  FAIL("no figure " << metric);
  return 0;
}

}  // namespace

TEST_CASE("network: a hop takes both access latencies, drawn once per node") {
  NetworkConfig cfg;
  cfg.latency = time_dist(Distribution::constant(1000));
  cfg.access_latency = time_dist(Distribution::uniform(1e6, 2e6));
  Network net(cfg);
  net.add_nodes(2, 3);
  net.add_nodes(5, 3);
  Rng rng(3, 0);
  for (NodeId a = 0; a < 5; ++a) {
    CHECK(net.access().of(a) >= ms(1));
    CHECK(net.access().of(a) <= ms(2));
    for (NodeId b = 0; b < 5; ++b) {
      const Fate f = net.transmit(msg(a, b), rng);
      REQUIRE(f.delivered);
      if (a == b) {
        CHECK(f.delay == Duration::zero());
      } else {
        CHECK(f.delay == net.access().of(a) + net.access().of(b) + nanoseconds(1000));
        CHECK(f.delay == net.transmit(msg(b, a), rng).delay);
      }
    }
  }
  CHECK(net.access().of(0) != net.access().of(1));

  // Each node's draw comes from its own stream: more nodes do not change the first ones.
  Network bigger(cfg);
  bigger.add_nodes(50, 3);
  for (NodeId id = 0; id < 5; ++id)
    CHECK(bigger.access().of(id) == net.access().of(id));
}

TEST_CASE("network: without access links a hop takes the all-pairs latency alone") {
  NetworkConfig cfg;
  cfg.latency = time_dist(Distribution::constant(5000));
  Network net(cfg);
  net.add_nodes(2, 1);
  Rng rng(1, 0);
  CHECK(net.access().of(0) == Duration::zero());
  CHECK(net.transmit(msg(0, 1), rng).delay == nanoseconds(5000));
}

TEST_CASE("phold net through the engine: with 0.25 ms access links every hop takes 0.5 ms") {
  // 25 tokens over 10 hosts for 20 ms: each token is delivered at 0.5, 1.0, ..., 20.0 ms
  // (an event at the end time still runs), 40 times; and each is always in flight once.
  const RunOutput out = run_text(R"(
duration: 20ms
network: {access_latency: 0.25ms}
groups:
  - {name: hosts, model: phold, count: 10, params: {workload: net, tokens: 25}}
)");
  CHECK(figure(out, "messages_delivered") == 25 * 40);
  CHECK(figure(out, "messages_sent") == 25 * 40 + 25);
  CHECK(figure(out, "events") == 25 * 40);
  CHECK(figure(out, "peak_pending_events") == 25);
}

TEST_CASE("phold timers through the engine: with a 1 ms delay each token fires 20 times") {
  const RunOutput out = run_text(R"(
duration: 20ms
groups:
  - {name: hosts, model: phold, count: 7, params: {workload: timers, tokens: 30, delay: 1ms}}
)");
  CHECK(figure(out, "events") == 30 * 20);
  CHECK(figure(out, "messages_sent") == 0);
  CHECK(figure(out, "peak_pending_events") == 30);
}
