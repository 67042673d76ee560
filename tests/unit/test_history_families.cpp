// History families and the checker registry, with a toy family: a test-only client
// records "tally" operations (each adds an amount), the family reads a setting of its own
// from the scenario's `consistency:` map, and its checker's figures reach the summary,
// where `checks:` can require them. sim/core and sim/run know nothing of the family.
#include <catch2/catch.hpp>

#include "models/builtin.h"
#include "sim/run/runner.h"

using namespace dsim;

namespace {

struct TallyOp {
  NodeId client;
  SimTime invoke, complete = HistoryLog::kNever;
  int64_t amount = 0;
  bool served = false;
};

class TallyLog final : public HistoryLog {
 public:
  TallyLog();
  uint32_t invoke(SimTime at, NodeId client, const void* what) override {
    ops.push_back({client, at, kNever, *static_cast<const int64_t*>(what)});
    return static_cast<uint32_t>(ops.size() - 1);
  }
  void complete(uint32_t i, SimTime at, HistoryOutcome, const void*, uint32_t) override {
    if (ops[i].complete == kNever) ops[i].complete = at;
  }
  void set_served(uint32_t i, bool served) override { ops[i].served = served; }
  size_t size() const override { return ops.size(); }
  uint64_t bytes() const override { return ops.size() * op_bytes(); }
  uint64_t op_bytes() const override { return sizeof(TallyOp); }
  HistorySpan span(size_t i) const override {
    return {ops[i].client, ops[i].invoke, ops[i].complete, ops[i].served};
  }
  std::vector<TallyOp> ops;
};

std::unique_ptr<HistoryLog> make_tally_log() {
  return std::make_unique<TallyLog>();
}
constexpr HistoryFamily kTally{"tally", &make_tally_log};
TallyLog::TallyLog() : HistoryLog(kTally) {}

struct TallySettings {
  int64_t scale = 1;
};

// Every 100 ms, one operation that adds `amount`, answered at once.
class TallyClient final : public Model {
 public:
  static constexpr std::string_view kName = "tally_client";
  static constexpr std::string_view kDescription = "test-only: records tally operations";
  struct Config {
    int64_t amount = 1;
  };
  static Config parse(ParamReader& r) {
    Config c;
    c.amount = r.integer("amount", c.amount, "what each operation adds");
    return c;
  }
  static void declare(const Config&, MetricDecls& d) {
    d.operation("add");
    d.history(kTally.name);
  }
  explicit TallyClient(const Config& c) : config_(c) {}
  void on_start(Context& ctx) override { ctx.set_timer(ms(100), 0); }
  void on_message(Context&, const Envelope&) override {}
  void on_timer(Context& ctx, TimerId, TimerTag) override {
    const OpToken t = ctx.record().begin_op(ctx.intern("add"));
    ctx.record().op_invoke(t, kTally, &config_.amount);
    ctx.record().end_op(t, Outcome::kOk);
    ctx.set_timer(ms(100), 0);
  }

 private:
  const Config& config_;
};

AnalysisOutput check_tally(const HistoryCheckInput& in) {
  const auto& log = *static_cast<const TallyLog*>(in.log);
  const auto& settings = *static_cast<const TallySettings*>(in.settings);
  int64_t sum = 0;
  for (const auto& op : log.ops)
    sum += op.served ? op.amount : 0;
  AnalysisOutput out;
  out.rows.push_back({"run", "", "tally_sum", static_cast<double>(sum * settings.scale)});
  out.text = "  tally: " + std::to_string(sum * settings.scale) + "\n";
  out.files.emplace_back("tally.txt", in.file_header + std::to_string(sum) + "\n");
  return out;
}

ModelRegistry registry_with_tally() {
  ModelRegistry r;
  register_builtin_models(r);
  r.add<TallyClient>();
  HistoryFamilyEntry f;
  f.family = &kTally;
  f.description = "test-only tallies";
  f.parse_settings = [](ParamReader& pr) -> std::shared_ptr<const void> {
    auto s = std::make_shared<TallySettings>();
    s->scale = pr.integer("tally_scale", s->scale, "multiplies the tally", 1);
    return s;
  };
  f.checkers.push_back({"tally", "sums the amounts", {"tally_sum"}, &check_tally});
  r.add_family(std::move(f));
  return r;
}

const std::string kScenario = R"(
name: tallies
description: two tally clients
duration: 10s
groups:
  - {name: counters, model: tally_client, count: 2, params: {amount: 5}}
consistency: {tally_scale: 3, linearizability: false}
checks:
  - tally_sum == 3000
)";

}  // namespace

TEST_CASE(
    "history families: a family's checker reads its log and settings, checks use its figures") {
  const ModelRegistry registry = registry_with_tally();
  Diagnostics diag;
  auto spec = load_scenario_text(kScenario, "tallies.yaml", {}, registry, diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  // Two clients, one operation every 100 ms from 100 ms to 10 s (each ends in the handler
  // that starts it, so the one at 10 s counts too): 100 each, 5 apiece, x3.
  auto figure = [&](const std::string& m) -> std::optional<double> {
    for (const auto& r : out.summary)
      if (r.group == "run" && r.metric == m) return r.value;
    return std::nullopt;
  };
  CHECK(figure("history_ops").value_or(-1) == 200);
  CHECK(figure("tally_sum").value_or(-1) == 3000);
  CHECK(figure("unavailable_intervals") == 0);  // the shared availability analysis read it
  CHECK_FALSE(figure("linearizable"));          // the kv family recorded nothing
  REQUIRE(out.checks.size() == 1);
  CHECK(out.checks[0].passed);
  CHECK(out.verdict_text.find("  tally: 3000\n") != std::string::npos);
  bool file = false;
  for (const auto& [name, content] : out.files)
    file = file || (name == "tally.txt" && content.ends_with("\n1000\n"));
  CHECK(file);
  CHECK(registry.is_checker_metric("tally_sum"));
  CHECK(registry.is_checker_metric("stale_reads"));
  CHECK_FALSE(registry.is_checker_metric("served"));
}

TEST_CASE("history families: consistency keys are the families' own, others are errors") {
  const ModelRegistry registry = registry_with_tally();
  std::string bad = kScenario;
  bad.replace(bad.find("tally_scale: 3"), 14, "tally_scal: 3");
  Diagnostics diag;
  CHECK_FALSE(load_scenario_text(bad, "bad.yaml", {}, registry, diag));
  const std::string text = diag.render();
  CHECK(text.find("unknown key 'tally_scal'") != std::string::npos);
  CHECK(text.find("tally_scale") != std::string::npos);       // the toy family's key
  CHECK(text.find("max_search_steps") != std::string::npos);  // and the kv family's

  // Without the family registered, its key is unknown too.
  ModelRegistry plain;
  register_builtin_models(plain);
  plain.add<TallyClient>();
  Diagnostics diag2;
  CHECK_FALSE(load_scenario_text(kScenario, "tallies.yaml", {}, plain, diag2));
  CHECK(diag2.render().find("unknown key 'tally_scale'") != std::string::npos);
}
