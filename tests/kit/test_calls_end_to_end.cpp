// Calls through a second node, end to end in the engine: a client calls a relay (the
// example model of docs/writing-a-model.md), which hands the call on to a server. Forwarded,
// the server answers the client directly; proxied, the relay calls the server and answers.
// Every leg's time is constant, so the latency the client records is the sum of the legs.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "docs/examples/relay/relay.h"
#include "models/builtin.h"
#include "sim/run/runner.h"

using namespace dsim;

namespace {

std::string scenario(const std::string& mode, const std::string& extra = "") {
  return R"(
name: relay
description: a client, a relay, two servers
seed: 3
duration: 10s
network: {latency: 1ms}
groups:
  - {name: front, model: relay, count: 1, params: {target: back, delay: 2ms, mode: )" +
         mode + R"(}}
  - {name: back, model: server, count: 2, params: {workers: 1, service: 3ms}}
  - name: users
    model: client
    count: 1
    params: {target: front, arrival: fixed, rate: 10/s, timeout: 1s)" +
         extra + R"(}
)";
}

RunOutput run(const std::string& yaml) {
  ModelRegistry registry;
  register_builtin_models(registry);
  registry.add<examples::Relay>();
  Diagnostics diag;
  auto spec = load_scenario_text(yaml, "relay.yaml", {}, registry, diag);
  INFO(diag.render());
  REQUIRE(spec);
  return run_scenario(*spec);
}

std::optional<double> figure(const RunOutput& out, const std::string& group, const std::string& op,
                             const std::string& metric) {
  for (const auto& r : out.summary) {
    if (r.group == group && r.op == op && r.metric == metric) return r.value;
  }
  return std::nullopt;
}

std::string read(const std::string& path) {
  std::ifstream in(std::string(DSIM_SOURCE_DIR) + "/" + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// Requests start every 100 ms from 100 ms on: 99 complete within the 10 s, the one sent at
// 10 s is still in flight when the run ends.
TEST_CASE("calls: a forwarded call is answered by the server, straight to the caller") {
  const RunOutput out = run(scenario("forward"));
  // 1 ms to the relay + 2 ms there + 1 ms to a server + 3 ms of service + 1 ms back.
  CHECK(figure(out, "users", "request", "ok") == 99);
  CHECK(figure(out, "users", "request", "latency_ms_mean") == 8);
  CHECK(figure(out, "users", "request", "latency_ms_max") == 8);
  CHECK(figure(out, "front", "", "forwarded") == 99);
  CHECK(figure(out, "back", "", "served") == 99);
  CHECK_FALSE(figure(out, "front", "", "late_responses"));
}

TEST_CASE("calls: a proxied call is answered by the relay when the server has answered it") {
  const RunOutput out = run(scenario("proxy"));
  // One more leg: the server answers the relay, which answers the client.
  CHECK(figure(out, "users", "request", "ok") == 99);
  CHECK(figure(out, "users", "request", "latency_ms_mean") == 9);
  CHECK(figure(out, "users", "request", "latency_ms_max") == 9);
  CHECK(figure(out, "front", "", "proxied") == 99);
  CHECK(figure(out, "back", "", "served") == 99);
}

TEST_CASE("calls: a refusal downstream reaches the caller as a refusal, through the relay") {
  // One server with no queue and a service longer than the gap between requests: request k
  // (sent at k x 100 ms) is served when k is odd and refused when k is even, and the relay
  // passes the refusal on. Request 99 is still being served at 10 s.
  std::string yaml = scenario("proxy");
  yaml.replace(yaml.find("workers: 1, service: 3ms"), 24,
               "workers: 1, queue_capacity: 0, service: 150ms");
  yaml.replace(yaml.find("count: 2"), 8, "count: 1");
  const RunOutput out = run(yaml);
  const double ok = figure(out, "users", "request", "ok").value_or(0);
  const double rejected = figure(out, "users", "request", "rejected").value_or(0);
  CHECK(ok == 49);
  CHECK(rejected == 49);
  CHECK(figure(out, "back", "", "rejected") == rejected);
}

TEST_CASE("calls: the example model in docs/writing-a-model.md is the code that builds") {
  const std::string doc = read("docs/writing-a-model.md");
  int checked = 0;
  for (size_t at = doc.find("<!-- file: "); at != std::string::npos;
       at = doc.find("<!-- file: ", at + 1)) {
    const size_t name_end = doc.find(" -->", at);
    const std::string path = doc.substr(at + 11, name_end - at - 11);
    const size_t open = doc.find("```cpp\n", name_end);
    const size_t close = doc.find("\n```\n", open);
    REQUIRE(open != std::string::npos);
    REQUIRE(close != std::string::npos);
    INFO(path);
    CHECK(doc.substr(open + 7, close - open - 7 + 1) == read(path));
    ++checked;
  }
  CHECK(checked == 2);
}
