// ParamReader on hand-built ParamNode trees: defaults, parsing, diagnostics, docs, resolution.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/distribution.h"
#include "sim/core/params.h"
#include "sim/core/time.h"

using namespace dsim;
using Dim = Distribution::Dim;

namespace {

SourceLoc at(int line, int column = 5) {
  return SourceLoc{"s.yaml", line, column};
}

ParamNode scalar(std::string text, int line) {
  return ParamNode::make_scalar(std::move(text), at(line, 12));
}

ParamNode map_of(std::vector<std::pair<std::string, ParamNode>> entries, int line = 1) {
  ParamNode m = ParamNode::make_map(at(line, 3));
  for (auto& [k, v] : entries)
    m.set(k, std::move(v));
  return m;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The diagnostic whose message contains `part`; fails the test when there is none.
const Diagnostic* find_diag(const Diagnostics& d, const std::string& part) {
  for (const auto& e : d.all()) {
    if (contains(e.message, part)) return &e;
  }
  FAIL_CHECK("no diagnostic mentions '" << part << "'; got:\n" << d.render());
  return nullptr;
}

// Checks that there is a diagnostic containing every part, at the given line.
void expect_diag(const Diagnostics& d, const std::vector<std::string>& parts, int line) {
  const Diagnostic* e = find_diag(d, parts.front());
  if (!e) return;
  INFO(e->message);
  for (const auto& p : parts)
    CHECK(contains(e->message, p));
  CHECK(e->loc.file == "s.yaml");
  CHECK(e->loc.line == line);
}

const std::string* resolved_scalar(const ParamReader& r, const std::string& key) {
  const ParamNode* n = r.resolved().find(key);
  if (!n || n->kind != ParamNode::Kind::kScalar) return nullptr;
  return &n->scalar;
}

const ParamDoc* find_doc(const ParamReader& r, const std::string& key) {
  for (const auto& d : r.docs()) {
    if (d.key == key) return &d;
  }
  return nullptr;
}

// Reads every kind of parameter with fixed defaults; used for the default, doc and
// resolution tests.
struct AllParams {
  Duration timeout;
  std::optional<Duration> deadline;
  double factor;
  int64_t replicas;
  double loss;
  double arrivals;
  uint64_t payload;
  double link;
  bool pipelined;
  std::string mode;
  std::string target;
  std::string label;
  Distribution think;
  std::vector<std::pair<std::string, double>> mix;
  std::vector<std::pair<std::string, Distribution>> service;

  explicit AllParams(ParamReader& r) {
    timeout = r.duration("timeout", ms(150), "how long to wait");
    deadline = r.optional_duration("deadline", "give up after");
    factor = r.number("factor", 0.5, "a factor", 0, 10);
    replicas = r.integer("replicas", 3, "copies", 1, 9);
    loss = r.probability("loss", 0.01, "drop probability");
    arrivals = r.rate("arrivals", 200, "request rate");
    payload = r.size("payload", 65536, "message size");
    link = r.bandwidth("link", 1e10, "link speed");
    pipelined = r.boolean("pipelined", true, "pipeline requests");
    mode = r.choice("mode", "fast", {"fast", "safe"}, "the mode");
    target = r.group("target", "the servers");
    label = r.text("label", "none", "a label");
    think =
        r.distribution("think", Distribution::exponential(5e6).with_dim(Dim::kTime), "think time");
    mix = r.weights("mix", {{"get", 0.8}, {"put", 0.2}}, "operation mix");
    service = r.distribution_map("service", Distribution::constant(1e6).with_dim(Dim::kTime),
                                 "service time");
  }
};

struct Fixture {
  Diagnostics diags;
  ParamEnv env;
  Fixture() {
    env.diagnostics = &diags;
    env.group_names = {"servers", "clients"};
  }
};

}  // namespace

TEST_CASE("params: defaults when the keys are absent", "[params]") {
  for (bool null_node : {true, false}) {
    INFO((null_node ? "null node" : "empty map"));
    Fixture f;
    const ParamNode empty = ParamNode::make_map(at(1));
    ParamReader r(null_node ? nullptr : &empty, &f.env, "groups[0].params", at(1));
    AllParams p(r);
    r.finish();
    CHECK(p.timeout == ms(150));
    CHECK_FALSE(p.deadline.has_value());
    CHECK(p.factor == 0.5);
    CHECK(p.replicas == 3);
    CHECK(p.loss == 0.01);
    CHECK(p.arrivals == 200);
    CHECK(p.payload == 65536);
    CHECK(p.link == 1e10);
    CHECK(p.pipelined);
    CHECK(p.mode == "fast");
    CHECK(p.label == "none");
    CHECK(p.think.mean() == 5e6);
    CHECK(p.mix == std::vector<std::pair<std::string, double>>{{"get", 0.8}, {"put", 0.2}});
    REQUIRE(p.service.size() == 1);
    CHECK(p.service[0].first.empty());
    CHECK(p.service[0].second.mean() == 1e6);
    // The only error: the required group is missing.
    REQUIRE(f.diags.all().size() == 1);
    CHECK(p.target.empty());
    const auto& d = f.diags.all()[0];
    CHECK(contains(d.message, "missing required key 'target'"));
    CHECK(contains(d.message, "groups[0].params.target"));
    CHECK(d.loc.line == 1);
  }
}

TEST_CASE("params: parsed values when present", "[params]") {
  Fixture f;
  ParamNode mix = map_of({{"get", scalar("3", 20)}, {"put", scalar("1", 21)}}, 19);
  ParamNode service =
      map_of({{"default", scalar("2ms", 23)}, {"write", scalar("uniform(5ms, 7ms)", 24)}}, 22);
  const ParamNode node = map_of({
      {"timeout", scalar("1.5s", 2)},
      {"deadline", scalar("10s", 3)},
      {"factor", scalar("2.5", 4)},
      {"replicas", scalar("5", 5)},
      {"loss", scalar("5%", 6)},
      {"arrivals", scalar("100/30min", 7)},
      {"payload", scalar("1KB", 8)},
      {"link", scalar("100MB/s", 9)},
      {"pipelined", scalar("no", 10)},
      {"mode", scalar("safe", 11)},
      {"target", scalar("clients", 12)},
      {"label", scalar("hello world", 13)},
      {"think", scalar("normal(mean=10ms, stddev=2ms)", 14)},
      {"mix", std::move(mix)},
      {"service", std::move(service)},
  });
  ParamReader r(&node, &f.env, "p");
  AllParams p(r);
  r.finish();
  INFO(f.diags.render());
  CHECK(f.diags.ok());
  CHECK(p.timeout == ms(1500));
  CHECK(p.deadline == seconds(10));
  CHECK(p.factor == 2.5);
  CHECK(p.replicas == 5);
  CHECK(p.loss == Approx(0.05));
  CHECK(p.arrivals == Approx(100.0 / 1800));
  CHECK(p.payload == 1000);
  CHECK(p.link == 8e8);
  CHECK_FALSE(p.pipelined);
  CHECK(p.mode == "safe");
  CHECK(p.target == "clients");
  CHECK(p.label == "hello world");
  CHECK(p.think.kind() == Distribution::Kind::kNormal);
  CHECK(p.think.mean() == 1e7);
  CHECK(p.mix == std::vector<std::pair<std::string, double>>{{"get", 3}, {"put", 1}});
  REQUIRE(p.service.size() == 2);
  CHECK(p.service[0].first.empty());  // "default" replaces the fallback
  CHECK(p.service[0].second.mean() == 2e6);
  CHECK(p.service[1].first == "write");
  CHECK(p.service[1].second.mean() == 6e6);
  CHECK(r.has("timeout"));
  CHECK_FALSE(r.has("nonsense"));
}

TEST_CASE("params: boolean spellings", "[params]") {
  const std::pair<const char*, bool> cases[] = {{"true", true},   {"yes", true}, {"on", true},
                                                {"false", false}, {"no", false}, {"off", false}};
  for (const auto& [text, value] : cases) {
    Fixture f;
    const ParamNode node = map_of({{"b", scalar(text, 2)}});
    ParamReader r(&node, &f.env, "");
    CHECK(r.boolean("b", !value, "") == value);
    CHECK(f.diags.ok());
  }
}

TEST_CASE("params: bad values are diagnosed at the value with the key path", "[params]") {
  Fixture f;
  ParamNode list = ParamNode::make_list(at(14, 9));
  list.items.push_back(scalar("1ms", 15));
  const ParamNode node = map_of({
      {"timeout", scalar("5", 2)},         // no unit
      {"deadline", scalar("-5ms", 3)},     // negative
      {"factor", scalar("20", 4)},         // above max
      {"replicas", scalar("2.5", 5)},      // not an integer
      {"loss", scalar("1.5", 6)},          // above 1
      {"arrivals", scalar("fast", 7)},     // not a rate
      {"payload", scalar("5", 8)},         // no unit
      {"link", scalar("10", 9)},           // no unit
      {"pipelined", scalar("maybe", 10)},  // not a boolean
      {"mode", scalar("reckless", 11)},    // not an option
      {"target", scalar("nobody", 12)},    // no such group
      {"label", ParamNode::make_map(at(13))},
      {"think", std::move(list)},
  });
  ParamReader r(&node, &f.env, "groups[1].params");
  AllParams p(r);
  r.finish();
  // Every bad value keeps its default.
  CHECK(p.timeout == ms(150));
  CHECK_FALSE(p.deadline.has_value());
  CHECK(p.factor == 0.5);
  CHECK(p.replicas == 3);
  CHECK(p.loss == 0.01);
  CHECK(p.arrivals == 200);
  CHECK(p.payload == 65536);
  CHECK(p.link == 1e10);
  CHECK(p.pipelined);
  CHECK(p.mode == "fast");
  CHECK(p.target.empty());
  CHECK(p.label == "none");
  CHECK(p.think.mean() == 5e6);

  const std::string k = "groups[1].params.";
  expect_diag(f.diags, {k + "timeout", "needs a time unit"}, 2);
  expect_diag(f.diags, {k + "deadline", "negative"}, 3);
  expect_diag(f.diags, {k + "factor", "between 0 and 10", "20"}, 4);
  expect_diag(f.diags, {k + "replicas", "integer", "2.5"}, 5);
  expect_diag(f.diags, {k + "loss", "probability"}, 6);
  expect_diag(f.diags, {k + "arrivals", "rate"}, 7);
  expect_diag(f.diags, {k + "payload", "size unit"}, 8);
  expect_diag(f.diags, {k + "link", "bandwidth"}, 9);
  expect_diag(f.diags, {k + "pipelined", "true or false", "maybe"}, 10);
  expect_diag(f.diags, {k + "mode", "reckless", "fast, safe"}, 11);
  expect_diag(f.diags, {k + "target", "nobody", "servers, clients"}, 12);
  expect_diag(f.diags, {k + "label", "a map"}, 13);
  expect_diag(f.diags, {k + "think", "a list"}, 14);
  CHECK(f.diags.all().size() == 13);
  // The column is the value's.
  const Diagnostic* d = find_diag(f.diags, k + "timeout");
  REQUIRE(d);
  CHECK(d->loc.column == 12);
  CHECK(f.diags.render().find("s.yaml:2:12: error: " + k + "timeout: ") != std::string::npos);
}

TEST_CASE("params: range checks of numbers, integers and durations", "[params]") {
  Fixture f;
  const ParamNode node = map_of({
      {"low", scalar("0", 2)},
      {"high", scalar("100", 3)},
      {"neg", scalar("-1", 4)},
      {"short", scalar("5ms", 5)},
      {"ok", scalar("7", 6)},
  });
  ParamReader r(&node, &f.env, "m");
  CHECK(r.integer("low", 5, "", 1) == 5);
  CHECK(r.integer("high", 5, "", std::numeric_limits<int64_t>::min(), 10) == 5);
  CHECK(r.number("neg", 1, "", 0) == 1);
  CHECK(r.duration("short", seconds(1), "", ms(10)) == seconds(1));
  CHECK(r.integer("ok", 5, "", 1, 9) == 7);
  r.finish();
  expect_diag(f.diags, {"m.low", "at least 1", "0"}, 2);
  expect_diag(f.diags, {"m.high", "at most 10", "100"}, 3);
  expect_diag(f.diags, {"m.neg", "-1"}, 4);
  expect_diag(f.diags, {"m.short", "at least 10ms", "5ms"}, 5);
  CHECK(f.diags.all().size() == 4);
}

TEST_CASE("params: distribution errors", "[params]") {
  Fixture f;
  const ParamNode node = map_of({
      {"a", scalar("gamma(1ms)", 2)},
      {"b", scalar("exponential(mean=5)", 3)},
      {"c", map_of({{"uniform(1ms", scalar("", 4)}}, 4)},
  });
  ParamReader r(&node, &f.env, "w");
  const auto def = Distribution::constant(1e6).with_dim(Dim::kTime);
  CHECK(r.distribution("a", def, "").mean() == 1e6);
  CHECK(r.distribution("b", def, "").mean() == 1e6);
  CHECK(r.distribution("c", def, "").mean() == 1e6);
  expect_diag(f.diags, {"w.a", "unknown distribution 'gamma'"}, 2);
  expect_diag(f.diags, {"w.b", "needs a time unit"}, 3);
  // A YAML flow map swallowed the commas: the message says to quote the value.
  expect_diag(f.diags, {"w.c", "quote"}, 4);
  // Numbers and sizes by dimension.
  const ParamNode n2 = map_of({{"k", scalar("zipf(100, s=1)", 2)}, {"z", scalar("64KiB", 3)}});
  ParamReader r2(&n2, &f.env, "");
  CHECK(r2.distribution("k", Distribution::constant(1), "", Dim::kNumber).kind() ==
        Distribution::Kind::kZipf);
  CHECK(r2.distribution("z", Distribution::constant(1), "", Dim::kBytes).mean() == 65536);
}

TEST_CASE("params: finish reports unknown keys with the valid ones", "[params]") {
  Fixture f;
  const ParamNode node = map_of({
      {"timeout", scalar("1s", 2)},
      {"timout", scalar("2s", 3)},
      {"retries", scalar("3", 4)},
  });
  ParamReader r(&node, &f.env, "groups[0].params");
  r.duration("timeout", ms(1), "");
  r.integer("attempts", 1, "");
  CHECK(f.diags.ok());
  r.finish();
  REQUIRE(f.diags.all().size() == 2);
  expect_diag(f.diags, {"unknown key 'timout'", "groups[0].params", "timeout, attempts"}, 3);
  expect_diag(f.diags, {"unknown key 'retries'", "timeout, attempts"}, 4);
  // With no keys read, the list says so.
  Fixture g;
  const ParamNode one = map_of({{"x", scalar("1", 2)}});
  ParamReader none(&one, &g.env, "");
  none.finish();
  expect_diag(g.diags, {"unknown key 'x'", "none"}, 2);
}

TEST_CASE("params: doc mode records docs and returns defaults", "[params]") {
  Fixture f;
  f.env.doc_mode = true;
  // Even with values present, doc mode reads nothing.
  const ParamNode node = map_of({{"timeout", scalar("9s", 2)}, {"bogus", scalar("1", 3)}});
  ParamReader r(&node, &f.env, "");
  CHECK(r.doc_mode());
  AllParams p(r);
  r.finish();
  CHECK(f.diags.ok());  // no missing group, no unknown key
  CHECK(p.timeout == ms(150));
  CHECK(p.target.empty());
  CHECK_FALSE(r.has("timeout"));
  const std::vector<std::string> keys = {"timeout",  "deadline", "factor", "replicas",  "loss",
                                         "arrivals", "payload",  "link",   "pipelined", "mode",
                                         "target",   "label",    "think",  "mix",       "service"};
  REQUIRE(r.docs().size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i)
    CHECK(r.docs()[i].key == keys[i]);  // in reading order
  auto doc = [&](const std::string& key) {
    const ParamDoc* d = find_doc(r, key);
    REQUIRE(d);
    return *d;
  };
  CHECK(doc("timeout").type == "duration");
  CHECK(doc("timeout").default_text == format_duration(ms(150)));
  CHECK(doc("timeout").help == "how long to wait");
  CHECK(doc("arrivals").type == "rate");
  CHECK(doc("arrivals").default_text == "200/s");
  CHECK(doc("payload").default_text == "64KiB");
  CHECK(doc("link").default_text == "10Gbps");
  CHECK(doc("replicas").default_text == "3");
  CHECK(doc("factor").default_text == "0.5");
  CHECK(doc("loss").default_text == "0.01");
  CHECK(doc("pipelined").default_text == "true");
  CHECK(doc("mode").default_text == "fast");
  CHECK(contains(doc("mode").type, "fast, safe"));
  CHECK(doc("target").type == "group");
  CHECK(doc("target").default_text.empty());  // required
  CHECK(doc("label").default_text == "none");
  CHECK(doc("think").type == "distribution of times");
  CHECK(doc("think").default_text == "exponential(mean=5ms)");
  CHECK(contains(doc("mix").default_text, "get: 0.8"));
  CHECK(contains(doc("mix").default_text, "put: 0.2"));
  CHECK(contains(doc("service").type, "distribution of times"));
  CHECK(doc("service").default_text == "1ms");
}

TEST_CASE("params: resolved() holds every key's effective value", "[params]") {
  Fixture f;
  const ParamNode node = map_of({
      {"timeout", scalar("1500ms", 2)},
      {"loss", scalar("5%", 3)},
      {"pipelined", scalar("yes", 4)},
      {"target", scalar("servers", 5)},
      {"think", scalar("uniform(1ms, 3ms)", 6)},
      {"payload", scalar("2KiB", 7)},
  });
  ParamReader r(&node, &f.env, "");
  AllParams p(r);
  r.finish();
  CHECK(f.diags.ok());
  const ParamNode& res = r.resolved();
  CHECK(res.kind == ParamNode::Kind::kMap);
  // Given values, normalised so that they parse back to the same value.
  REQUIRE(resolved_scalar(r, "timeout"));
  CHECK(*resolved_scalar(r, "timeout") == format_duration(ms(1500)));
  REQUIRE(resolved_scalar(r, "loss"));
  CHECK(std::stod(*resolved_scalar(r, "loss")) == Approx(0.05));
  CHECK(*resolved_scalar(r, "pipelined") == "true");
  CHECK(*resolved_scalar(r, "target") == "servers");
  CHECK(*resolved_scalar(r, "think") == "uniform(1ms, 3ms)");
  CHECK(*resolved_scalar(r, "payload") == "2KiB");
  // Defaults for the rest.
  CHECK(*resolved_scalar(r, "factor") == "0.5");
  CHECK(*resolved_scalar(r, "replicas") == "3");
  CHECK(*resolved_scalar(r, "arrivals") == "200/s");
  CHECK(*resolved_scalar(r, "link") == "10Gbps");
  CHECK(*resolved_scalar(r, "mode") == "fast");
  CHECK(*resolved_scalar(r, "label") == "none");
  CHECK(*resolved_scalar(r, "service") == "1ms");
  const ParamNode* mix = res.find("mix");
  REQUIRE(mix);
  REQUIRE(mix->kind == ParamNode::Kind::kMap);
  REQUIRE(mix->entries.size() == 2);
  CHECK(mix->entries[0].key == "get");
  CHECK(std::stod(mix->entries[0].value.scalar) == 0.8);
  // Every key that has a value is present (an absent optional has none).
  for (const char* key : {"timeout", "factor", "replicas", "loss", "arrivals", "payload", "link",
                          "pipelined", "mode", "target", "label", "think", "mix", "service"}) {
    CHECK(res.find(key) != nullptr);
  }
  // Feeding the resolved map back in gives the same values and no errors.
  Fixture g;
  ParamReader again(&res, &g.env, "");
  AllParams q(again);
  again.finish();
  INFO(g.diags.render());
  CHECK(g.diags.ok());
  CHECK(q.timeout == p.timeout);
  CHECK(q.loss == p.loss);
  CHECK(q.payload == p.payload);
  CHECK(q.link == p.link);
  CHECK(q.arrivals == p.arrivals);
  CHECK(q.think.mean() == p.think.mean());
  CHECK(q.mix == p.mix);
  CHECK(q.service.size() == p.service.size());
}

TEST_CASE("params: weights shapes", "[params]") {
  const std::vector<std::pair<std::string, double>> def = {{"a", 1}};
  {
    Fixture f;
    const ParamNode node =
        map_of({{"mix", map_of({{"get", scalar("80%", 3)}, {"put", scalar("0.2", 4)}}, 2)}});
    ParamReader r(&node, &f.env, "");
    const auto w = r.weights("mix", def, "");
    CHECK(f.diags.ok());
    REQUIRE(w.size() == 2);
    CHECK(w[0].first == "get");
    CHECK(w[0].second == Approx(0.8));
    CHECK(w[1].first == "put");
    CHECK(w[1].second == Approx(0.2));
  }
  {
    // Weights above 1 are plain numbers; a zero weight is allowed alongside others.
    Fixture f;
    const ParamNode node =
        map_of({{"mix", map_of({{"x", scalar("5", 3)}, {"y", scalar("0", 4)}}, 2)}});
    ParamReader r(&node, &f.env, "");
    const auto w = r.weights("mix", def, "");
    CHECK(f.diags.ok());
    REQUIRE(w.size() == 2);
    CHECK(w[0].second == 5);
    CHECK(w[1].second == 0);
  }
  {
    Fixture f;
    const ParamNode node = map_of({
        {"neg", map_of({{"get", scalar("-1", 3)}}, 2)},
        {"zero", map_of({{"get", scalar("0", 5)}, {"put", scalar("0", 6)}}, 4)},
        {"flat", scalar("0.5", 7)},
        {"empty", ParamNode::make_map(at(8))},
        {"nested", map_of({{"get", map_of({}, 10)}}, 9)},
    });
    ParamReader r(&node, &f.env, "wl");
    CHECK(r.weights("neg", def, "") == def);
    CHECK(r.weights("zero", def, "") == def);
    CHECK(r.weights("flat", def, "") == def);
    CHECK(r.weights("empty", def, "") == def);
    CHECK(r.weights("nested", def, "") == def);
    expect_diag(f.diags, {"wl.neg.get", ">= 0"}, 3);
    expect_diag(f.diags, {"wl.zero", "all be 0"}, 4);
    expect_diag(f.diags, {"wl.flat", "map of name: weight"}, 7);
    expect_diag(f.diags, {"wl.empty", "map of name: weight"}, 8);
    expect_diag(f.diags, {"wl.nested.get", "weight"}, 10);
    CHECK(f.diags.all().size() == 5);
  }
}

TEST_CASE("params: distribution_map shapes", "[params]") {
  const auto def = Distribution::constant(1e6).with_dim(Dim::kTime);
  {
    // One distribution for every name.
    Fixture f;
    const ParamNode node = map_of({{"svc", scalar("exponential(mean=3ms)", 2)}});
    ParamReader r(&node, &f.env, "");
    const auto m = r.distribution_map("svc", def, "");
    CHECK(f.diags.ok());
    REQUIRE(m.size() == 1);
    CHECK(m[0].first.empty());
    CHECK(m[0].second.mean() == 3e6);
    CHECK(*resolved_scalar(r, "svc") == "exponential(mean=3ms)");
  }
  {
    // A map by name, in file order; names not listed take the default.
    Fixture f;
    const ParamNode node =
        map_of({{"svc", map_of({{"read", scalar("2ms", 3)}, {"write", scalar("5ms", 4)}}, 2)}});
    ParamReader r(&node, &f.env, "");
    const auto m = r.distribution_map("svc", def, "");
    CHECK(f.diags.ok());
    REQUIRE(m.size() == 3);
    CHECK(m[0].first.empty());
    CHECK(m[0].second.mean() == 1e6);
    CHECK(m[1].first == "read");
    CHECK(m[1].second.mean() == 2e6);
    CHECK(m[2].first == "write");
    CHECK(m[2].second.mean() == 5e6);
    const ParamNode* res = r.resolved().find("svc");
    REQUIRE(res);
    CHECK(res->kind == ParamNode::Kind::kMap);
    CHECK(res->entries.size() == 2);
  }
  {
    Fixture f;
    ParamNode list = ParamNode::make_list(at(6));
    const ParamNode node = map_of({
        {"bad", map_of({{"read", scalar("2", 3)}, {"write", scalar("5ms", 4)}}, 2)},
        {"nested", map_of({{"read", map_of({}, 6)}}, 5)},
        {"list", std::move(list)},
        {"text", scalar("nope(1)", 8)},
    });
    ParamReader r(&node, &f.env, "p");
    const auto bad = r.distribution_map("bad", def, "");
    REQUIRE(bad.size() == 2);  // the good entry is kept
    CHECK(bad[1].first == "write");
    CHECK(r.distribution_map("nested", def, "").size() == 1);
    CHECK(r.distribution_map("list", def, "").size() == 1);
    const auto t = r.distribution_map("text", def, "");
    REQUIRE(t.size() == 1);
    CHECK(t[0].second.mean() == 1e6);
    expect_diag(f.diags, {"p.bad.read", "needs a time unit"}, 3);
    expect_diag(f.diags, {"p.nested.read", "a map"}, 6);
    expect_diag(f.diags, {"p.list", "a list"}, 6);
    expect_diag(f.diags, {"p.text", "unknown distribution"}, 8);
    CHECK(f.diags.all().size() == 4);
  }
}

TEST_CASE("params: nested maps, adopt, raw and cross-field errors", "[params]") {
  Fixture f;
  ParamNode raw_list = ParamNode::make_list(at(8));
  raw_list.items.push_back(scalar("a", 9));
  const ParamNode node = map_of({
      {"election", map_of({{"timeout", scalar("300ms", 3)}, {"extra", scalar("1", 4)}}, 2)},
      {"min", scalar("5ms", 6)},
      {"max", scalar("2ms", 7)},
      {"peers", std::move(raw_list)},
  });
  ParamReader r(&node, &f.env, "groups[0].params", at(1));
  ParamReader child = r.map("election", "leader election");
  CHECK(child.path() == "groups[0].params.election");
  CHECK(child.duration("timeout", ms(150), "base timeout") == ms(300));
  CHECK(child.duration("jitter", ms(10), "random extra") == ms(10));
  child.finish();
  r.adopt("election", child);
  const Duration lo = r.duration("min", ms(1), "");
  const Duration hi = r.duration("max", ms(9), "");
  if (lo > hi) r.error("max", "must not be below min");
  const ParamNode* peers = r.raw("peers", "list of names", "the peers");
  REQUIRE(peers);
  CHECK(peers->kind == ParamNode::Kind::kList);
  CHECK(r.raw("absent", "list", "") == nullptr);
  r.error("missing_key", "a rule about a key that is not there");
  r.finish();

  expect_diag(f.diags, {"groups[0].params.election: unknown key 'extra'", "timeout, jitter"}, 4);
  expect_diag(f.diags, {"groups[0].params.max: must not be below min"}, 7);
  // An error about an absent key points at the map.
  expect_diag(f.diags, {"groups[0].params.missing_key"}, 1);
  CHECK(f.diags.all().size() == 3);

  // Docs of the nested map are prefixed; the map's own entry is replaced.
  CHECK(find_doc(r, "election") == nullptr);
  REQUIRE(find_doc(r, "election.timeout"));
  CHECK(find_doc(r, "election.timeout")->help == "base timeout");
  REQUIRE(find_doc(r, "election.jitter"));
  CHECK(find_doc(r, "election.jitter")->default_text == format_duration(ms(10)));
  REQUIRE(find_doc(r, "peers"));
  CHECK(find_doc(r, "peers")->type == "list of names");
  // The resolved map nests too.
  const ParamNode* e = r.resolved().find("election");
  REQUIRE(e);
  REQUIRE(e->kind == ParamNode::Kind::kMap);
  REQUIRE(e->find("timeout"));
  CHECK(e->find("timeout")->scalar == format_duration(ms(300)));
  REQUIRE(e->find("jitter"));
  CHECK(e->find("jitter")->scalar == format_duration(ms(10)));
  CHECK(r.resolved().find("peers") != nullptr);

  // An absent nested map reads defaults, and errors point at the owner.
  Fixture g;
  const ParamNode empty = map_of({}, 30);
  ParamReader top(&empty, &g.env, "x");
  ParamReader sub = top.map("sub", "");
  CHECK(sub.duration("t", ms(4), "") == ms(4));
  sub.error("t", "bad");
  expect_diag(g.diags, {"x.sub.t: bad"}, 30);
}

TEST_CASE("params: a node that is not a map", "[params]") {
  Fixture f;
  const ParamNode s = scalar("oops", 4);
  ParamReader r(&s, &f.env, "groups[2].params");
  CHECK(r.duration("timeout", ms(7), "") == ms(7));
  r.finish();
  REQUIRE(f.diags.all().size() == 1);
  expect_diag(f.diags, {"groups[2].params", "expected a map", "'oops'"}, 4);
  // A null node and a null value are the same as absent.
  Fixture g;
  const ParamNode null_node;
  ParamReader n(&null_node, &g.env, "");
  CHECK(n.integer("k", 2, "") == 2);
  const ParamNode with_null = map_of({{"k", ParamNode()}});
  ParamReader m(&with_null, &g.env, "");
  CHECK(m.integer("k", 2, "") == 2);
  CHECK_FALSE(m.has("k"));
  m.finish();
  CHECK(g.diags.ok());
}

TEST_CASE("params: without a Diagnostics sink errors are dropped", "[params]") {
  ParamEnv env;  // no diagnostics
  const ParamNode node = map_of({{"t", scalar("bad", 2)}, {"u", scalar("1", 3)}});
  ParamReader r(&node, &env, "");
  CHECK(r.duration("t", ms(3), "") == ms(3));
  r.error("t", "x");
  r.finish();
  CHECK(r.group("g", "") == "");
}

TEST_CASE("params: ParamNode, SourceLoc and Diagnostics", "[params]") {
  ParamNode m = ParamNode::make_map();
  m.set("a", scalar("1", 2));
  m.set("b", scalar("2", 3));
  m.set("a", scalar("3", 4));  // replaces in place
  REQUIRE(m.entries.size() == 2);
  CHECK(m.entries[0].key == "a");
  CHECK(m.find("a")->scalar == "3");
  CHECK(m.find("b")->scalar == "2");
  CHECK(m.find("c") == nullptr);
  CHECK(m.entries[1].key_loc.line == 3);
  // set() turns a scalar into a map.
  ParamNode s = scalar("x", 1);
  s.set("k", scalar("v", 2));
  CHECK(s.kind == ParamNode::Kind::kMap);
  CHECK(s.scalar.empty());
  CHECK(ParamNode().kind_name() == "nothing");
  CHECK(scalar("v", 1).kind_name() == "'v'");
  CHECK(ParamNode::make_list().kind_name() == "a list");
  CHECK(ParamNode::make_map().kind_name() == "a map");

  CHECK(SourceLoc{"f.yaml", 3, 7}.str() == "f.yaml:3:7");
  CHECK(SourceLoc{"", 3, 7}.str() == "<input>:3:7");
  CHECK(SourceLoc{"f.yaml", 0, 0}.str() == "f.yaml");
  CHECK(SourceLoc{}.str() == "<input>");

  Diagnostics d;
  CHECK(d.ok());
  CHECK(d.render().empty());
  d.error({"f.yaml", 3, 7}, "first");
  d.error({"g.yaml", 1, 1}, "second");
  CHECK_FALSE(d.ok());
  CHECK(d.all().size() == 2);
  CHECK(d.render() == "f.yaml:3:7: error: first\ng.yaml:1:1: error: second\n");
}

TEST_CASE("params: groups are found by name, indexed or not", "[params]") {
  ParamEnv env;
  env.group_names = {"web", "db", "cache", "db"};
  env.group_models = {"server", "kv_store", "server", "server"};
  // Not indexed: a linear search; indexed: a binary one. Both give the first of a name.
  for (const bool indexed : {false, true}) {
    INFO(indexed);
    if (indexed) env.index_groups();
    CHECK(env.find_group("web") == 0u);
    CHECK(env.find_group("db") == 1u);
    CHECK(env.find_group("cache") == 2u);
    CHECK_FALSE(env.find_group("nobody"));
    CHECK_FALSE(env.find_group(""));
    CHECK(env.model_of("db") == "kv_store");
    CHECK(env.model_of("nobody").empty());
  }
}

TEST_CASE("params: append adds an entry at the end", "[params]") {
  ParamNode m = ParamNode::make_map();
  m.append("b", scalar("1", 2));
  m.append("a", scalar("2", 3));
  REQUIRE(m.entries.size() == 2);
  CHECK(m.entries[0].key == "b");
  CHECK(m.entries[1].key == "a");
  CHECK(m.find("a")->scalar == "2");
}
