// `dsim analyze`: analytic models (queueing theory, availability Markov chains) on
// their own, or next to the figures of a run they describe.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include "analysis/oracles/availability.h"
#include "analysis/oracles/queueing.h"
#include "analysis/oracles/report.h"
#include "sim/app/commands.h"
#include "sim/app/study_commands.h"
#include "sim/core/text_input.h"
#include "sim/core/units.h"
#include "sim/scenario/scenario.h"

namespace dsim {

namespace {

using oracle::num;

void line(const std::string& what, const std::string& value) {
  std::printf("  %-28s %s\n", what.c_str(), value.c_str());
}

bool parse_or_complain(const std::string& option, const std::string& text, double* out,
                       std::optional<double> (*parse)(std::string_view, std::string*)) {
  std::string err;
  auto v = parse(text, &err);
  if (!v) {
    std::cerr << option << " " << text << ": " << err << "\n";
    return false;
  }
  *out = *v;
  return true;
}

std::optional<double> duration_seconds(std::string_view text, std::string* err) {
  auto d = parse_duration(text, err);
  if (!d) return std::nullopt;
  return d->to_seconds();
}

// summary.csv's text as (group, op, metric) -> value.
std::map<std::tuple<std::string, std::string, std::string>, double> parse_summary(
    const std::string& text) {
  std::map<std::tuple<std::string, std::string, std::string>, double> out;
  std::stringstream in(text);
  std::string l;
  bool header = true;
  while (std::getline(in, l)) {
    if (l.empty() || l[0] == '#') continue;
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> cells;
    std::stringstream ss(l);
    std::string cell;
    while (std::getline(ss, cell, ','))
      cells.push_back(cell);
    if (cells.size() == 4 && !cells[3].empty()) {
      out[{cells[0], cells[1], cells[2]}] = std::strtod(cells[3].c_str(), nullptr);
    }
  }
  return out;
}

int analyze_run(const std::string& dir, const ModelRegistry& registry) {
  Diagnostics diag;
  auto spec = load_scenario(dir + "/scenario.resolved.yaml", {}, registry, diag);
  if (!spec) {
    std::cerr << diag.render() << dir
              << ": not a run directory of this dsim (dsim analyze reads its "
                 "scenario.resolved.yaml and summary.csv)\n";
    return kExitBadInput;
  }
  std::string error;
  const auto text = read_text_file(dir + "/summary.csv", kMaxResultFileBytes, &error);
  if (!text) {
    std::cerr << dir << "/summary.csv: cannot read: " << error << "\n";
    return kExitBadInput;
  }
  const auto sim = parse_summary(*text);
  TheoryInput in;
  for (const auto& g : spec->groups)
    in.groups.push_back({g.name, g.model, g.count, g.config.get()});
  in.network_latency = spec->network.latency;
  in.network_loss = spec->network.loss;
  in.figure = [&sim](const std::string& g, const std::string& o,
                     const std::string& m) -> std::optional<double> {
    auto it = sim.find({g, o, m});
    if (it == sim.end()) return std::nullopt;
    return it->second;
  };
  std::printf("%s: scenario %s, seed %llu\n", dir.c_str(), spec->name.c_str(),
              static_cast<unsigned long long>(spec->seed));
  // Each model with a theory hook speaks for its own groups.
  int recognised = 0;
  std::string known;
  for (const ModelFactory* f : registry.all()) {
    if (!f->theory) continue;
    known += (known.empty() ? "" : ", ") + f->name;
    const TheoryOutput t = f->theory(in);
    std::fputs(t.text.c_str(), stdout);
    recognised += t.recognised;
  }
  if (!recognised) {
    std::printf(
        "\nno group of this run has a closed form here (dsim analyze knows the models %s; see "
        "their notes above)\n",
        known.c_str());
  }
  std::printf(
      "\nA simulated figure is one run's estimate; for confidence intervals run "
      "replications (dsim sweep -r 20).\n");
  return kExitOk;
}

}  // namespace

int cmd_analyze(const AnalyzeArgs& a, const ModelRegistry& registry) {
  if (a.what == "mmc") {
    double lambda = 0, service = 0;
    if (!parse_or_complain("--arrival-rate", a.arrival_rate, &lambda, parse_rate) ||
        !parse_or_complain("--service-mean", a.service_mean, &service, duration_seconds)) {
      return kExitBadInput;
    }
    if (lambda <= 0 || service <= 0 || a.workers < 1) {
      std::cerr << "dsim analyze mmc: need an arrival rate > 0, a service mean > 0 and "
                   "--workers >= 1\n";
      return kExitBadInput;
    }
    std::fputs(oracle::queue_report(lambda, 1 / service, a.workers, a.queue_places).c_str(),
               stdout);
    return kExitOk;
  }
  if (a.what == "availability") {
    double mttf = 0, mttr = 0;
    if (!parse_or_complain("--mttf", a.mttf, &mttf, duration_seconds) ||
        !parse_or_complain("--mttr", a.mttr, &mttr, duration_seconds)) {
      return kExitBadInput;
    }
    if (a.n < 1 || a.k < 1 || a.k > a.n || a.n > 1000 || mttf <= 0 || mttr <= 0 || a.crews < 0) {
      std::cerr << "dsim analyze availability: need 1 <= k <= n <= 1000, --mttf and --mttr > 0, "
                   "--crews >= 0\n";
      return kExitBadInput;
    }
    const oracle::KofN s{a.k, a.n, mttf, mttr, a.crews};
    const double av = s.availability();
    std::printf(
        "%d-of-%d: each node up for %s on average (MTTF), then down for %s (MTTR); "
        "%s\n",
        a.k, a.n, format_duration(Duration::from_ns(static_cast<int64_t>(mttf * 1e9))).c_str(),
        format_duration(Duration::from_ns(static_cast<int64_t>(mttr * 1e9))).c_str(),
        a.crews == 0 ? "every failed node repaired at once"
                     : (std::to_string(a.crews) + " repair crew(s)").c_str());
    line("node availability", num(mttf / (mttf + mttr), 8));
    line("system availability", num(av, 10) + " (" + num(oracle::nines(av), 3) + " nines)");
    line("downtime per year", num((1 - av) * 365.25 * 24 * 60, 4) + " min");
    line("mean time to first failure", num(s.mean_time_to_failure() / 3600, 5) + " h");
    line("mean outage", num(s.mean_outage() / 60, 4) + " min");
    return kExitOk;
  }
  return analyze_run(a.run_dir, registry);
}

}  // namespace dsim
