// Whole-sweep verdicts: min/median/max over the replications, pass counts per check, the
// worst replication of each figure and check, and the command that repeats it. Every
// expectation is worked out by hand from the records below.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <sstream>

#include "sim/sweep/results.h"
#include "sim/sweep/stats.h"
#include "sim/sweep/terminal.h"
#include "sim/sweep/verdicts.h"

using namespace dsim;
using namespace dsim::sweep;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Two points of four replications (seeds 100.. at point 0, 200.. at point 1).
//   point 0: p99 5, 9, 7, 10; availability 1, 0.9, 0.95, 0.99; events 100, 40, 60, 80;
//            messages_dropped 0, 3, 0, 5
//   point 1: p99 4, unknown, 6, 6; the rest as at point 0
// Checks: latency_ms_p99 < 8, availability >= 0.95, run.events > 30,
// run.messages_dropped == 0; check rows hold what CheckSpec::holds says.
std::vector<RunRecord> records() {
  const double p99[2][4] = {{5, 9, 7, 10}, {4, kNaN, 6, 6}};
  const double avail[4] = {1, 0.9, 0.95, 0.99};
  const double events[4] = {100, 40, 60, 80};
  const double dropped[4] = {0, 3, 0, 5};
  std::vector<RunRecord> recs;
  for (uint32_t p = 0; p < 2; ++p) {
    for (uint32_t r = 0; r < 4; ++r) {
      RunRecord rec{p, r, 100u * (p + 1) + r, {}};
      rec.rows = {{"all", "all", "latency_ms_p99", p99[p][r]},
                  {"all", "all", "availability", avail[r]},
                  {"run", "", "events", events[r]},
                  {"run", "", "messages_dropped", dropped[r]},
                  {"run", "check", "latency_ms_p99 < 8", p99[p][r] < 8 ? 1.0 : 0.0},
                  {"run", "check", "availability >= 0.95", avail[r] >= 0.95 ? 1.0 : 0.0},
                  {"run", "check", "run.events > 30", 1},
                  {"run", "check", "run.messages_dropped == 0", dropped[r] == 0 ? 1.0 : 0.0}};
      recs.push_back(std::move(rec));
    }
  }
  return recs;
}

SweepMeta meta() {
  SweepMeta m;
  m.name = "verdicts";
  m.root_seed = 100;
  m.points = 2;
  m.replications = 4;
  m.columns = {"groups.web.params.service"};
  m.point_values = {{"uniform(1ms, 3ms)"}, {"2ms"}};
  return m;
}

const FigureVerdict& figure(const PointVerdict& pv, const std::string& metric) {
  for (const auto& f : pv.figures) {
    if (f.metric == metric) return f;
  }
  FAIL("no figure " << metric);
  static const FigureVerdict none;
  return none;
}

const CheckVerdict& check(const PointVerdict& pv, const std::string& text) {
  for (const auto& c : pv.checks) {
    if (c.check == text) return c;
  }
  FAIL("no check " << text);
  static const CheckVerdict none;
  return none;
}

}  // namespace

TEST_CASE("sweep verdicts: min, median, max and the worst replication of each figure") {
  const auto v = point_verdicts(records());
  REQUIRE(v.size() == 2);
  // A check `< 8` on p99: the largest is the worst.
  const FigureVerdict& p99 = figure(v[0], "latency_ms_p99");
  CHECK(p99.stats.n == 4);
  CHECK(p99.stats.min == 5);
  CHECK(p99.stats.median == 8);
  CHECK(p99.stats.max == 10);
  CHECK(p99.worst.replication == 3);
  CHECK(p99.worst.seed == 103);
  CHECK(p99.worst.value == 10);
  // A check `>= 0.95` on availability: the smallest.
  const FigureVerdict& avail = figure(v[0], "availability");
  CHECK(avail.stats.median == Approx(0.97));
  CHECK(avail.worst.replication == 1);
  CHECK(avail.worst.value == 0.9);
  // `events > 30`: the smallest, although a figure without a check would take the largest.
  CHECK(figure(v[0], "events").worst.replication == 1);
  // `== 0`: the furthest from 0.
  CHECK(figure(v[0], "messages_dropped").worst.replication == 3);
  // An unknown value is the worst; min, median and max are over the known ones.
  const FigureVerdict& p99b = figure(v[1], "latency_ms_p99");
  CHECK(p99b.stats.n == 3);
  CHECK(p99b.stats.min == 4);
  CHECK(p99b.stats.median == 6);
  CHECK(p99b.stats.max == 6);
  CHECK(p99b.worst.replication == 1);
  CHECK(p99b.worst.seed == 201);
  CHECK(std::isnan(p99b.worst.value));
}

TEST_CASE("sweep verdicts: without a check, the largest is the worst unless more is better") {
  std::vector<RunRecord> recs;
  const double values[3] = {2, 8, 8};
  for (uint32_t r = 0; r < 3; ++r) {
    recs.push_back({0,
                    r,
                    10u + r,
                    {{"all", "all", "latency_ms_p50", values[r]},
                     {"all", "all", "throughput_per_s", values[2 - r]},
                     {"run", "", "events", values[r]}}});
  }
  const auto v = point_verdicts(recs);
  CHECK(figure(v[0], "latency_ms_p50").worst.replication == 1);  // ties: the first
  CHECK(figure(v[0], "throughput_per_s").worst.replication == 2);
  CHECK(figure(v[0], "events").worst.seed == 11);
  CHECK(v[0].checks.empty());
  CHECK(more_is_better("availability"));
  CHECK(more_is_better("reads_ok"));
  CHECK(more_is_better("linearizable"));
  CHECK_FALSE(more_is_better("stale_read_rate"));
  CHECK_FALSE(more_is_better("unavailable_seconds"));
}

TEST_CASE("sweep verdicts: pass counts and the worst replication of each check") {
  const auto v = point_verdicts(records());
  const CheckVerdict& lat = check(v[0], "latency_ms_p99 < 8");
  CHECK(lat.runs == 4);
  CHECK(lat.passed == 2);
  CHECK(lat.failed() == 2);
  CHECK(lat.worst.replication == 3);  // 10 fails by 2, 9 by 1
  CHECK(lat.worst.seed == 103);
  CHECK(lat.worst.value == 10);
  const CheckVerdict& avail = check(v[0], "availability >= 0.95");
  CHECK(avail.passed == 3);
  CHECK(avail.worst.replication == 1);
  // Passed everywhere: the one that passed by least (40 is 10 above 30).
  const CheckVerdict& events = check(v[0], "run.events > 30");
  CHECK(events.passed == 4);
  CHECK(events.worst.replication == 1);
  CHECK(events.worst.value == 40);
  // At point 1 the unknown p99 fails, and is the worst.
  const CheckVerdict& lat1 = check(v[1], "latency_ms_p99 < 8");
  CHECK(lat1.passed == 3);
  CHECK(lat1.worst.replication == 1);
  CHECK(lat1.worst.seed == 201);
  CHECK(std::isnan(lat1.worst.value));
  // The check's own row in sweep.csv has the same worst replication.
  CHECK(figure(v[0], "latency_ms_p99 < 8").worst.replication == 3);
  CHECK(figure(v[0], "latency_ms_p99 < 8").stats.mean == 0.5);
}

TEST_CASE("sweep verdicts: margins say how far a value is on the passing side") {
  std::string err;
  const auto lt = parse_check("x < 8", &err);
  const auto ge = parse_check("x >= 0.5", &err);
  const auto eq = parse_check("x == 0", &err);
  const auto ne = parse_check("x != 1", &err);
  REQUIRE((lt && ge && eq && ne));
  CHECK(check_margin(*lt, 5) == 3);
  CHECK(check_margin(*lt, 10) == -2);
  CHECK(check_margin(*ge, 0.25) == -0.25);
  CHECK(check_margin(*eq, -3) == -3);
  CHECK(check_margin(*ne, 4) == 3);
  CHECK(check_margin(*lt, kNaN) == -std::numeric_limits<double>::infinity());
}

TEST_CASE("sweep verdicts: the rerun command, quoted for a shell") {
  CHECK(shell_word("groups.web.params.workers=4") == "groups.web.params.workers=4");
  CHECK(shell_word("rate=200/s") == "rate=200/s");
  CHECK(shell_word("s=uniform(1ms, 3ms)") == "'s=uniform(1ms, 3ms)'");
  CHECK(shell_word("it's") == "'it'\\''s'");
  CHECK(shell_word("") == "''");
  CHECK(rerun_command(meta(), 0, 77, "out dir/sweep.yaml") ==
        "dsim run 'out dir/sweep.yaml' --seed 77 --set "
        "'groups.web.params.service=uniform(1ms, 3ms)'");
  CHECK(rerun_command(meta(), 1, 5, "sweep.yaml") ==
        "dsim run sweep.yaml --seed 5 --set groups.web.params.service=2ms");
}

TEST_CASE("sweep verdicts: sweep.csv and checks.csv carry them at full precision") {
  const std::string sweep = render_sweep_csv(meta(), records());
  CHECK_THAT(sweep, Catch::Contains(",min,median,max,worst,worst_replication,worst_seed\n"));
  // n, mean 7.75, stddev, CI, then min 5, median 8, max 10, worst 10 in r3 (seed 103).
  CHECK_THAT(sweep, Catch::Contains("0,\"uniform(1ms, 3ms)\",all,all,latency_ms_p99,4,7.75,"));
  CHECK_THAT(sweep, Catch::Contains(",5,8,10,10,3,103\n"));
  // events (checked `> 30`): min 40, median 70, max 100, worst 40 in r1 (seed 101).
  CHECK_THAT(sweep, Catch::Contains("0,\"uniform(1ms, 3ms)\",run,,events,4,70,"));
  CHECK_THAT(sweep, Catch::Contains(",40,70,100,40,1,101\n"));
  // An unknown worst value is an empty cell.
  CHECK_THAT(sweep, Catch::Contains("1,2ms,all,all,latency_ms_p99,3,"));
  CHECK_THAT(sweep, Catch::Contains(",4,6,6,,1,201\n"));

  const std::string checks = render_checks_csv(meta(), records());
  CHECK_THAT(checks, Catch::Contains("\npoint,groups.web.params.service,check,runs,passed,failed,"
                                     "worst_replication,worst_seed,worst_value,rerun\n"));
  // The command holds a comma: its cell is quoted.
  CHECK_THAT(checks, Catch::Contains("\n0,\"uniform(1ms, 3ms)\",latency_ms_p99 < 8,4,2,2,3,103,10,"
                                     "\"dsim run sweep.yaml --seed 103 --set "
                                     "'groups.web.params.service=uniform(1ms, 3ms)'\"\n"));
  CHECK_THAT(checks, Catch::Contains("\n1,2ms,latency_ms_p99 < 8,4,3,1,1,201,,dsim run sweep.yaml "
                                     "--seed 201 --set groups.web.params.service=2ms\n"));
  CHECK_THAT(checks, Catch::Contains("\n1,2ms,run.events > 30,4,4,0,1,201,40,"));
}

TEST_CASE("sweep verdicts: the terminal says which checks failed where, and how to rerun") {
  const std::string text = render_sweep_summary(meta(), records(), "out/");
  CHECK_THAT(text, Catch::Contains("point 0: groups.web.params.service=uniform(1ms, 3ms)\n"));
  CHECK_THAT(text, Catch::Contains("  check 'latency_ms_p99 < 8': 2 of 4 passed; worst r3 "
                                   "(seed 103): 10\n    rerun: dsim run out/sweep.yaml --seed "
                                   "103 --set 'groups.web.params.service=uniform(1ms, 3ms)'\n"));
  CHECK_THAT(text, Catch::Contains("  check 'run.events > 30': 4 of 4 passed; closest to failing "
                                   "r1 (seed 101): 40\n  check"));
  CHECK_THAT(text, Catch::Contains("check 'latency_ms_p99 < 8' failed in 3 of 8 runs, at 2 of 2 "
                                   "points: point 0 (2 of 4), point 1 (1 of 4)\n"));
  CHECK_THAT(text, Catch::Contains("check 'run.messages_dropped == 0' failed in 4 of 8 runs"));
  CHECK_FALSE(text.find("check 'run.events > 30' failed") != std::string::npos);
  // Rounded for people: p99 at point 0 is 7.750 ± 3.528 (t(0.975, 3) = 3.1824 times the
  // standard deviation 2.2174 over 2), then min, median, max and the worst run.
  const size_t at = text.find("\n  p99 ms", text.find("point 0:"));
  REQUIRE(at != std::string::npos);
  std::istringstream line(text.substr(at + 1, text.find('\n', at + 1) - at - 1));
  std::vector<std::string> words;
  for (std::string w; line >> w;)
    words.push_back(w);
  CHECK(words == std::vector<std::string>{"p99", "ms", "7.750", "±", "3.528", "5.000", "8.000",
                                          "10.000", "r3", "(seed", "103)"});
}

TEST_CASE("sweep verdicts: a run without the checked figure fails its check by most") {
  // r1 produced no p99 at all (nothing succeeded): its check failed, and dsim run would
  // call that check bad input, which the terminal says beside the command.
  std::vector<RunRecord> recs = {
      {0, 0, 7, {{"all", "all", "latency_ms_p99", 30}, {"run", "check", "latency_ms_p99 < 8", 0}}},
      {0, 1, 8, {{"run", "check", "latency_ms_p99 < 8", 0}}},
      {0, 2, 9, {{"all", "all", "latency_ms_p99", 5}, {"run", "check", "latency_ms_p99 < 8", 1}}}};
  const auto v = point_verdicts(recs);
  const CheckVerdict& c = check(v[0], "latency_ms_p99 < 8");
  CHECK(c.passed == 1);
  CHECK(c.worst.replication == 1);
  CHECK(c.worst.missing);
  CHECK(std::isnan(c.worst.value));
  const FigureVerdict& p99 = figure(v[0], "latency_ms_p99");
  CHECK(p99.stats.n == 2);
  CHECK(p99.worst.replication == 0);
  SweepMeta m;
  m.name = "missing";
  m.replications = 3;
  m.point_values = {{}};
  const std::string text = render_sweep_summary(m, recs, "d");
  CHECK_THAT(text, Catch::Contains("worst r1 (seed 8): unknown\n    rerun: dsim run d/sweep.yaml "
                                   "--seed 8\n    (that run did not produce the checked figure)"));
}
