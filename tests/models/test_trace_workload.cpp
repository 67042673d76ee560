// Trace-driven workloads (models/kit/trace_feed.h): kv_client and client with `trace` send
// one operation per row, at the row's time, from node (row mod count), with the row's key,
// op and size; a cache run on a trace hits exactly as its replay does; what the trace
// replaces is refused beside it.
#include <catch2/catch.hpp>

#include <fstream>

#include "models/cache/replay.h"
#include "models/kv/client.h"
#include "models/queueing/client.h"
#include "support/recording_context.h"
#include "support/scenarios.h"

using namespace dsim;
using dsim::testing::RecordingContext;
using kit::TraceOp;
using kit::TraceRow;

namespace {

TraceRow row(int64_t at_ms, uint64_t key, uint64_t size, TraceOp op = TraceOp::kGet) {
  return TraceRow{SimTime::zero() + ms(at_ms), key, size, op};
}

kit::SharedTrace shared(std::vector<TraceRow> rows) {
  return std::make_shared<const std::vector<TraceRow>>(std::move(rows));
}

// Node `index` of a client group of `count` nodes (ids 1..count), the store group "db".
RecordingContext client_node(uint32_t index, uint32_t count) {
  RecordingContext ctx{index + 1};
  std::vector<NodeId> users;
  for (uint32_t i = 0; i < count; ++i)
    users.push_back(i + 1);
  ctx.groups["users"] = users;
  ctx.groups["db"] = {20};
  ctx.set_group("users", index);
  return ctx;
}

// Fires every timer (answers never come: attempts time out, which sends nothing).
template <class M>
void run_out(RecordingContext& ctx, M& model) {
  while (ctx.fire_next(model)) {
  }
}

// Writes `text` to a scratch file and returns its absolute path.
std::string trace_file(const std::string& name, const std::string& text) {
  const auto p = dsim::testing::scratch_path("trace_workload", name);
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

std::string load_errors(const std::string& yaml) {
  Diagnostics diag;
  const auto spec = load_scenario_text(yaml, "s.yaml", {}, dsim::testing::builtin_registry(), diag);
  CHECK_FALSE(spec);
  return diag.render();
}

}  // namespace

TEST_CASE("trace workload: kv_client sends its rows of a trace, at their times, as written") {
  const auto rows = shared({row(0, 5, 10), row(1, 6, 20, TraceOp::kPut), row(1, 7, 30),
                            row(4, 8, 40, TraceOp::kPut), row(4, 9, 50), row(9, 10, 60)});
  kv::KvClient::Config c;
  c.target = "db";
  c.first_key = 1000;
  c.trace = rows;
  c.mix = {{"get", 1}, {"put", 1}};
  for (uint32_t index = 0; index < 2; ++index) {
    RecordingContext ctx = client_node(index, 2);
    kv::KvClient client(c);
    client.on_start(ctx);
    run_out(ctx, client);
    std::vector<const RecordingContext::Sent*> requests;
    for (const auto& s : ctx.sent) {
      if (s.msg.get<kv::KvRequest>()) requests.push_back(&s);
    }
    REQUIRE(requests.size() == 3);  // rows index, index + 2, index + 4
    for (size_t k = 0; k < requests.size(); ++k) {
      const TraceRow& r = (*rows)[index + 2 * k];
      const auto& req = *requests[k]->msg.get<kv::KvRequest>();
      INFO("node " << index << ", row " << index + 2 * k);
      CHECK(requests[k]->at == r.time);
      CHECK(req.key == r.key + 1000);
      CHECK(req.op == (r.op == TraceOp::kPut ? kv::KvOpKind::kPut : kv::KvOpKind::kGet));
      if (r.op == TraceOp::kPut) CHECK(req.value_bytes == r.size);
    }
    CHECK(ctx.recorder().ops.size() == 3);
  }
}

TEST_CASE("trace workload: a node keeps one timer set, its next row's") {
  std::vector<TraceRow> many;
  for (int64_t i = 0; i < 100; ++i)
    many.push_back(row(i, static_cast<uint64_t>(i), 1));
  kv::KvClient::Config c;
  c.target = "db";
  c.trace = shared(many);
  c.calls.timeout = seconds(10);
  RecordingContext ctx = client_node(0, 1);
  kv::KvClient client(c);
  client.on_start(ctx);
  CHECK(ctx.pending().size() == 1);
  ctx.fire_next(client);
  CHECK(ctx.pending().size() == 2);  // the next row's and the attempt's timeout
}

TEST_CASE("trace workload: client sends rows as read, write and delete with their keys") {
  const auto rows = shared({row(2, 11, 1), row(3, 12, 1, TraceOp::kPut),
                            row(3, 13, 1, TraceOp::kDelete), row(7, 14, 1)});
  queueing::Client::Config c;
  c.target = "db";
  c.trace = rows;
  c.ops = {{"read", 1}, {"write", 1}, {"delete", 1}};
  RecordingContext ctx = client_node(0, 1);
  queueing::Client client(c);
  client.on_start(ctx);
  run_out(ctx, client);
  const auto sent = ctx.sent_of<queueing::Request>();
  REQUIRE(sent.size() == rows->size());
  const char* names[] = {"read", "write", "delete", "read"};
  for (size_t k = 0; k < sent.size(); ++k) {
    CHECK(ctx.symbol_name(sent[k].second.op) == names[k]);
    CHECK(sent[k].second.key == (*rows)[k].key);
  }
  CHECK(ctx.sent[1].at == SimTime::zero() + ms(3));
}

TEST_CASE("trace workload: a run makes exactly one operation per row, split over the nodes") {
  std::string text = "time,key,size,op\n";
  for (int i = 0; i < 999; ++i) {
    text += std::to_string(i) + "ms,user:" + std::to_string(i % 37) + "," +
            std::to_string(100 + i) + (i % 3 == 0 ? ",put\n" : ",get\n");
  }
  const std::string path = trace_file("run.csv", text);
  const auto out = dsim::testing::run_text(R"yaml(
name: trace_run
duration: 5s
groups:
  - {name: users, model: kv_client, count: 3, params: {target: db, trace: )yaml" +
                                           path + R"yaml(}}
  - {name: db, model: kv_store}
)yaml");
  using dsim::testing::summary_figure;
  CHECK(summary_figure(out, "users", "put", "requests") == 333);
  CHECK(summary_figure(out, "users", "get", "requests") == 666);
  CHECK(summary_figure(out, "users", "all", "requests") == 999);
}

TEST_CASE("trace workload: a cache run on a trace hits exactly as the trace's replay") {
  // Zero latency and rows 1 ms apart: each miss is fetched and admitted before the next
  // row, so the run's cache sees the trace's sequence as a replay does.
  std::string text;
  uint64_t x = 12345;
  for (int i = 0; i < 3000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t u = (x >> 33) % 1000;
    const uint64_t key = u * u / 1000;  // skewed toward small keys
    text += std::to_string(i) + "ms," + std::to_string(key) + ",1024\n";
  }
  const std::string path = trace_file("cache.csv", text);
  const auto out = dsim::testing::run_text(R"yaml(
name: trace_cache
duration: 4s
network: {latency: 0ms}
groups:
  - {name: users, model: kv_client, count: 2, params: {target: cache, trace: )yaml" +
                                           path + R"yaml(}}
  - name: cache
    model: cache
    params: {origin: db, capacity: 1MiB, capacity_objects: 100, object_size: 1KiB, eviction: lru}
  - {name: db, model: kv_store}
)yaml");
  std::string err;
  const auto rows = kit::read_trace(path, &err);
  REQUIRE(rows);
  cache::EvictionOptions o;
  o.capacity_bytes = 1024 * 1024;
  o.capacity_objects = 100;
  const cache::ReplayResult r = cache::replay(*rows, cache::EvictionKind::kLru, o);
  const auto hits = dsim::testing::summary_figure(out, "cache", "", "hits");
  const auto misses = dsim::testing::summary_figure(out, "cache", "", "misses");
  REQUIRE(hits);
  REQUIRE(misses);
  CHECK(r.gets == 3000);
  CHECK(static_cast<uint64_t>(*hits + *misses) == 3000);
  CHECK(r.hits == static_cast<uint64_t>(*hits));
  CHECK(r.hits > 0);
}

TEST_CASE("trace workload: deletes, a rate beside the trace and a bad file are refused") {
  const std::string del = trace_file("del.csv", "# a comment\n0,1,1\n1ms,2,1,delete\n");
  std::string errors = load_errors(
      "duration: 1s\ngroups:\n  - {name: u, model: kv_client, params: {target: db, trace: " + del +
      "}}\n  - {name: db, model: kv_store}\n");
  CHECK_THAT(errors, Catch::Contains(del + ":3: a delete"));
  CHECK_THAT(errors, Catch::Contains("no delete"));
  const std::string ok = trace_file("ok.csv", "0,1,1\n");
  errors = load_errors(
      "duration: 1s\ngroups:\n  - {name: u, model: client, params: {target: s, "
      "rate: 5/s, keys: uniform(9), trace: " +
      ok + "}}\n  - {name: s, model: server}\n");
  CHECK_THAT(errors, Catch::Contains("rate: cannot be given with trace"));
  CHECK_THAT(errors, Catch::Contains("keys: cannot be given with trace"));
  const std::string bad = trace_file("bad.csv", "0,1,1\n2ms,1,1\n1ms,1,1\n");
  errors = load_errors(
      "duration: 1s\ngroups:\n  - {name: u, model: client, params: {target: s, "
      "trace: " +
      bad + "}}\n  - {name: s, model: server}\n");
  CHECK_THAT(errors, Catch::Contains(bad + ":3: time 1ms is earlier"));
}

TEST_CASE("trace workload: start delays the whole trace and stop ends it") {
  const auto rows = shared({row(0, 1, 1), row(5, 2, 1), row(20, 3, 1)});
  kv::KvClient::Config c;
  c.target = "db";
  c.trace = rows;
  c.arrivals.start = ms(100);
  c.arrivals.stop = ms(115);
  RecordingContext ctx = client_node(0, 1);
  kv::KvClient client(c);
  client.on_start(ctx);
  run_out(ctx, client);
  const auto sent = ctx.sent_of<kv::KvRequest>();
  REQUIRE(sent.size() == 2);  // the third row's time, 120ms, is past stop
  CHECK(ctx.sent[0].at == SimTime::zero() + ms(100));
  CHECK(ctx.sent[1].at == SimTime::zero() + ms(105));
}
