// The knobs of Raft's election experiments (scenarios/raft/election_experiment.yaml),
// against what follows from their definitions.
//
// Unequal logs. With `lagging_followers: k`, the k followers after the leader hold fewer
// entries when it crashes; they cannot win (Raft 5.4.1), the other 4 - k survivors can.
// Each survivor's election timer was last reset by the same heartbeat and runs an
// independent draw of the same timeout distribution (timer jitter and message delays
// shift them by well under 1 ms against a 150 ms range), so the first to time out is
// any one of the four with probability 1/4: an electable one with probability (4 - k)/4.
// Over n trials the count is binomial; it must lie within 4.5 standard deviations.
//
// Lost trials. Crashing the leader every 200 ms, shorter than most failovers, makes many
// crashes miss; each crash is then exactly one of: a failover (finished or not), or a lost
// trial (no leader to hit, or a server hit while the cluster had no effective leader).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "sim/run/runner.h"
#include "support/scenarios.h"

using namespace dsim;

namespace {

struct Result {
  std::map<std::string, double> figures;  // the replicas' group rows
  std::vector<std::vector<std::string>> failovers;
  int crashes_measured = 0;  // crash faults after the warmup, from faults.csv
};

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ','))
    cells.push_back(cell);
  return cells;
}

Result run(const std::string& file, std::vector<std::string> overrides, double warmup_s) {
  Diagnostics diag;
  LoadOptions opts;
  opts.overrides = std::move(overrides);
  opts.overrides.push_back("checks=[]");
  auto spec = load_scenario(std::string(DSIM_SOURCE_DIR) + "/scenarios/raft/" + file, opts,
                            testing::builtin_registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  Result r;
  for (const auto& row : out.summary) {
    if (row.group == "replicas" && row.op.empty()) r.figures[row.metric] = row.value;
  }
  for (const auto& [name, content] : out.files) {
    std::istringstream in(content);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      const auto cells = cells_of(line);
      if (name == "failovers.csv" && cells[0] == "replicas") r.failovers.push_back(cells);
      // time_s,event,fault,kind,targets,detail
      if (name == "faults.csv" && cells.size() >= 4 && cells[3] == "crash" && cells[1] != "end" &&
          std::stod(cells[0]) >= warmup_s)
        ++r.crashes_measured;
    }
  }
  return r;
}

double figure(const Result& r, const std::string& name) {
  const auto it = r.figures.find(name);
  return it == r.figures.end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("raft unequal logs: the first timeout is an electable survivor's with probability e/s",
          "[validation][raft]") {
  for (int lagging : {1, 2}) {
    const Result r = run(
        "election_experiment.yaml",
        {"duration=900s", "groups.replicas.params.lagging_followers=" + std::to_string(lagging)},
        1.0);
    const double n = figure(r, "failovers_eligibility_known");
    const double k = figure(r, "first_candidate_eligible");
    const double p = (4.0 - lagging) / 4.0;
    const double sd = std::sqrt(n * p * (1 - p));
    INFO("lagging " << lagging << ": " << k << " of " << n
                    << " first candidates electable, expected " << n * p << " +- " << sd);
    REQUIRE(n >= 580);  // one trial per 1.5 s
    CHECK(std::abs(k - n * p) <= 4.5 * sd);
    // Nobody held behind ever won, and every trial had 4 survivors, 4 - lagging electable.
    CHECK(figure(r, "ineligible_winners") == 0);
    CHECK(figure(r, "failover_trials_lost") == 0);
    for (const auto& f : r.failovers) {
      if (f.size() < 14 || f[3] != "crash") continue;
      CHECK(f[12] == "4");
      CHECK(f[13] == std::to_string(4 - lagging));
    }
  }
}

TEST_CASE("raft lost trials: every crash is a failover or a counted lost trial",
          "[validation][raft]") {
  const Result r =
      run("failover.yaml", {"duration=120s", "warmup=1s", "faults.0.every=200ms"}, 1.0);
  const double failovers = figure(r, "failovers_crash") + figure(r, "failovers_unfinished");
  const double lost = figure(r, "failover_trials_lost");
  INFO("crashes " << r.crashes_measured << ", failovers " << failovers << ", lost " << lost
                  << " (no target " << figure(r, "failover_trials_lost_no_target")
                  << ", during a failover " << figure(r, "failover_trials_lost_during_failover")
                  << ")");
  CHECK(r.crashes_measured > 500);
  CHECK(lost > 0.25 * r.crashes_measured);  // most failovers outlast 200 ms
  CHECK(figure(r, "failover_trials_lost_no_target") > 0);
  CHECK(figure(r, "failover_trials_lost_no_target") +
            figure(r, "failover_trials_lost_during_failover") ==
        lost);
  CHECK(failovers + lost == r.crashes_measured);
  CHECK(figure(r, "failovers_election") == 0);
}

TEST_CASE("raft identical timeouts: ideal timers never elect, a server's jittery timers do, slowly",
          "[validation][raft]") {
  const std::vector<std::string> base = {"duration=1500s", "faults.0.every=300s",
                                         "groups.replicas.params.election_timeout=150ms"};
  auto with = [&](const std::string& profile) {
    auto o = base;
    o.push_back("clock.profile=" + profile);
    return run("failover.yaml", o, 0.0);
  };
  const Result ideal = with("ideal");
  const Result server = with("server");
  INFO("server clocks: " << figure(server, "failovers") << " failovers, median "
                         << figure(server, "leaderless_ms_p50") << " ms");
  CHECK(figure(ideal, "failovers") == 0);
  CHECK(figure(ideal, "failover_trials_lost_no_target") == 5);  // never a leader to crash
  CHECK(figure(server, "failovers") >= 3);
  // Timers 50 us apart must separate two candidates by a vote's round trip (~2 ms) for a
  // term not to split: most terms split, and a failover takes seconds, not milliseconds.
  CHECK(figure(server, "leaderless_ms_p50") > 1000);
  CHECK(figure(server, "split_votes") > 100);
}
