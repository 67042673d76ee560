// Per-node access links (network.access_latency): each node's latency is drawn once, from
// its own stream, and a message from a to b waits access(a) before its path and arrives
// access(b) after it. Through the whole engine, the phold workloads then count exactly.
#include <catch2/catch.hpp>

#include <memory>
#include <utility>
#include <vector>

#include "models/builtin.h"
#include "sim/core/engine.h"
#include "sim/core/network.h"
#include "sim/run/runner.h"

using namespace dsim;

namespace {

Distribution time_dist(Distribution d) {
  return d.with_dim(Distribution::Dim::kTime);
}

struct Blob {
  static constexpr std::string_view kName = "blob";
  uint32_t bytes;
  uint32_t size_bytes() const { return bytes; }
};

// Node 0 sends `copies` blobs of `bytes` to node 1 and one to itself at the start; every
// node logs (itself, time) for each message it receives.
class Sender final : public Model {
 public:
  explicit Sender(std::vector<std::pair<NodeId, SimTime>>* log, int copies = 1, uint32_t bytes = 0)
      : log_(log), copies_(copies), bytes_(bytes) {}
  void on_start(Context& ctx) override {
    if (ctx.self() != 0) return;
    ctx.send(0, Blob{bytes_});
    for (int i = 0; i < copies_; ++i)
      ctx.send(1, Blob{bytes_});
  }
  void on_message(Context& ctx, const Envelope&) override {
    log_->emplace_back(ctx.self(), ctx.now());
  }
  void on_timer(Context&, TimerId, TimerTag) override {}

 private:
  std::vector<std::pair<NodeId, SimTime>>* log_;
  int copies_;
  uint32_t bytes_;
};

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

TEST_CASE("network: access latencies are drawn once per node, from the node's own stream") {
  NetworkConfig cfg;
  cfg.access_latency = time_dist(Distribution::uniform(1e6, 2e6));
  Network net(cfg);
  net.set_seed(3);
  net.prepare(5);
  REQUIRE(net.access().enabled());
  for (NodeId a = 0; a < 5; ++a) {
    CHECK(net.access().of(a) >= ms(1));
    CHECK(net.access().of(a) <= ms(2));
    for (NodeId b = 0; b < 5; ++b) {
      if (a != b) CHECK(net.access().between(a, b) == net.access().of(a) + net.access().of(b));
    }
  }
  CHECK(net.access().of(0) != net.access().of(1));

  // More nodes do not change the first ones' draws.
  Network bigger(cfg);
  bigger.set_seed(3);
  bigger.prepare(50);
  for (NodeId id = 0; id < 5; ++id)
    CHECK(bigger.access().of(id) == net.access().of(id));
}

TEST_CASE("network: without access links there is nothing per node") {
  NetworkConfig cfg;
  cfg.latency = time_dist(Distribution::constant(5000));
  Network net(cfg);
  net.prepare(2);
  CHECK_FALSE(net.access().enabled());
  CHECK(net.access().of(0) == Duration::zero());
  CHECK(net.access().between(0, 1) == Duration::zero());
}

TEST_CASE("network: a hop takes access(from) + the path + access(to), to oneself neither") {
  // Node 0 sends to 1 and to itself at t = 0; each delivery's time is logged.
  NetworkConfig cfg;
  cfg.latency = time_dist(Distribution::constant(1000));
  cfg.access_latency = time_dist(Distribution::uniform(1e6, 2e6));
  EngineConfig ec;
  ec.seed = 9;
  ec.end = SimTime::zero() + seconds(1);
  ec.network = cfg;
  Engine engine(ec);
  std::vector<std::pair<NodeId, SimTime>> arrivals;
  engine.add_group("hosts", 2, [&arrivals] { return std::make_unique<Sender>(&arrivals); });
  engine.run();
  REQUIRE(arrivals.size() == 2);
  const AccessLinks& access = engine.network().access();
  CHECK(arrivals[0] == std::pair{NodeId{0}, SimTime::zero()});
  CHECK(arrivals[1] ==
        std::pair{NodeId{1}, SimTime::zero() + access.of(0) + nanoseconds(1000) + access.of(1)});
}

TEST_CASE("network: the sender's access link comes before a queueing link") {
  // Two 1000-byte messages from 0 to 1 at t = 0 over a 1 MB/s pair link (1 ms each):
  // both enter the link after access(0), then the second waits for the first.
  NetworkConfig cfg;
  cfg.bandwidth_bps = 8e6;
  cfg.access_latency = time_dist(Distribution::uniform(1e6, 2e6));
  EngineConfig ec;
  ec.seed = 4;
  ec.end = SimTime::zero() + seconds(1);
  ec.network = cfg;
  Engine engine(ec);
  std::vector<std::pair<NodeId, SimTime>> arrivals;
  engine.add_group("hosts", 2,
                   [&arrivals] { return std::make_unique<Sender>(&arrivals, 2, 1000); });
  engine.run();
  const AccessLinks& access = engine.network().access();
  const SimTime enter = SimTime::zero() + access.of(0);
  std::vector<SimTime> at_1;
  for (const auto& [node, t] : arrivals) {
    if (node == 1) at_1.push_back(t);
  }
  REQUIRE(at_1.size() == 2);
  CHECK(at_1[0] == enter + ms(1) + access.of(1));
  CHECK(at_1[1] == enter + ms(2) + access.of(1));
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
