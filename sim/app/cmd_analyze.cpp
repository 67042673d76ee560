// `dsim analyze`: analytic models (queueing theory, availability Markov chains) on
// their own, or next to the figures of a run they describe.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "analysis/oracles/availability.h"
#include "analysis/oracles/queueing.h"
#include "models/queueing/client.h"
#include "models/queueing/server.h"
#include "sim/app/commands.h"
#include "sim/app/study_commands.h"
#include "sim/core/units.h"
#include "sim/scenario/scenario.h"

namespace dsim {

namespace {

std::string num(double v, int digits = 4) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string ms(double seconds) {
  return num(seconds * 1e3) + " ms";
}

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

// The M/M/c or M/M/c/K figures, times in seconds, rates per second.
void print_queue(double lambda, double mu, int c, std::optional<int64_t> queue_places) {
  const double service_ms = 1e3 / mu;
  if (!queue_places) {
    const oracle::MMc q{lambda, mu, c};
    std::printf("M/M/%d (Erlang C): arrivals %s/s, service mean %s ms (%s/s per worker)\n", c,
                num(lambda).c_str(), num(service_ms).c_str(), num(mu).c_str());
    line("offered load", num(q.offered_load()) + " Erlang");
    line("utilization", num(q.occupancy()));
    if (q.occupancy() >= 1) {
      std::printf("  unstable: utilization >= 1, the queue grows without bound\n");
      return;
    }
    line("P(wait)", num(q.p_wait()));
    line("wait mean / p50 / p99",
         ms(q.mean_wait()) + " / " + ms(q.wait_quantile(0.5)) + " / " + ms(q.wait_quantile(0.99)));
    line("sojourn mean", ms(q.mean_sojourn()));
    line("sojourn p50 / p90", ms(q.sojourn_quantile(0.5)) + " / " + ms(q.sojourn_quantile(0.9)));
    line("sojourn p99 / p99.9",
         ms(q.sojourn_quantile(0.99)) + " / " + ms(q.sojourn_quantile(0.999)));
    return;
  }
  const int k = c + static_cast<int>(*queue_places);
  const oracle::MMcK q{lambda, mu, c, k};
  std::printf("M/M/%d/%d: arrivals %s/s, service mean %s ms, %d workers, %lld waiting places\n", c,
              k, num(lambda).c_str(), num(service_ms).c_str(), c,
              static_cast<long long>(*queue_places));
  line("blocking (rejected)", num(q.blocking()));
  line("utilization", num(q.utilization()));
  line("sojourn mean (admitted)", ms(q.mean_sojourn()));
}

struct Comparison {
  std::string figure;
  std::optional<double> simulated;
  double theory;
};

void print_comparisons(const std::vector<Comparison>& rows) {
  std::printf("\n  %-34s %12s %12s %9s\n", "figure", "simulated", "theory", "diff");
  for (const auto& r : rows) {
    std::string diff = "-";
    if (r.simulated && r.theory != 0 && std::isfinite(r.theory)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%+.1f%%", 100 * (*r.simulated - r.theory) / r.theory);
      diff = buf;
    }
    std::printf("  %-34s %12s %12s %9s\n", r.figure.c_str(),
                r.simulated ? num(*r.simulated, 5).c_str() : "-", num(r.theory, 5).c_str(),
                diff.c_str());
  }
}

// summary.csv as (group, op, metric) -> value.
std::map<std::tuple<std::string, std::string, std::string>, double> read_summary(
    const std::string& path, bool* ok) {
  std::map<std::tuple<std::string, std::string, std::string>, double> out;
  std::ifstream in(path);
  *ok = static_cast<bool>(in);
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
  bool ok = false;
  const auto sim = read_summary(dir + "/summary.csv", &ok);
  if (!ok) {
    std::cerr << dir << "/summary.csv: cannot read\n";
    return kExitBadInput;
  }
  auto get = [&](const std::string& g, const std::string& o,
                 const std::string& m) -> std::optional<double> {
    auto it = sim.find({g, o, m});
    if (it == sim.end()) return std::nullopt;
    return it->second;
  };
  std::printf("%s: scenario %s, seed %llu\n", dir.c_str(), spec->name.c_str(),
              static_cast<unsigned long long>(spec->seed));
  int recognised = 0;
  for (const auto& server : spec->groups) {
    if (server.model != queueing::Server::kName) continue;
    const auto& sc = *static_cast<const queueing::Server::Config*>(server.config.get());
    // Service: exponential, the same mean for every operation.
    double mean_ns = -1;
    bool exponential = true;
    for (const auto& [op, d] : sc.service) {
      exponential = exponential && d.kind() == Distribution::Kind::kExponential &&
                    (mean_ns < 0 || d.mean() == mean_ns);
      mean_ns = d.mean();
    }
    // Arrivals: open-loop Poisson clients aimed at this group.
    double lambda = 0;
    std::vector<std::string> notes;
    std::string client_group;
    bool poisson = true;
    for (const auto& g : spec->groups) {
      if (g.model != queueing::Client::kName) continue;
      const auto& cc = *static_cast<const queueing::Client::Config*>(g.config.get());
      if (cc.target != server.name) continue;
      client_group = client_group.empty() ? g.name : "all";
      poisson = poisson && cc.load == queueing::Client::Load::kOpen &&
                cc.arrival == queueing::Client::Arrival::kPoisson;
      lambda += cc.rate * g.count;
      if (cc.balance == queueing::Client::Balance::kRoundRobin && server.count > 1) {
        notes.push_back("clients of " + g.name +
                        " balance round-robin: each server sees smoother than Poisson "
                        "arrivals, so theory is pessimistic");
      }
      if (cc.start > Duration::zero()) notes.push_back(g.name + " starts late: load varies");
    }
    std::printf("\ngroup %s (%u node%s of model server)\n", server.name.c_str(), server.count,
                server.count == 1 ? "" : "s");
    if (client_group.empty() || !poisson || !exponential) {
      std::printf(
          "  no closed form: needs open-loop Poisson clients (load: open, arrival: poisson) "
          "and exponential service times with one mean%s\n",
          client_group.empty() ? " (no client targets this group)" : "");
      continue;
    }
    ++recognised;
    const double per_node = lambda / server.count;  // random balancing thins a Poisson stream
    const double mu = 1e9 / mean_ns;
    const int c = static_cast<int>(sc.workers);
    print_queue(per_node, mu, c, sc.queue_capacity);
    // The clients see the sojourn plus the network both ways.
    double net = 0;
    const bool constant_net = spec->network.latency.kind() == Distribution::Kind::kConstant;
    if (constant_net) {
      net = 2 * spec->network.latency.mean() / 1e9;
    } else {
      notes.push_back(
          "the network latency is random: client latencies include it, theory "
          "below does not (compare queue_wait)");
    }
    if (spec->network.loss > 0) notes.push_back("messages are lost: some requests time out");
    if (get(client_group, "all", "timeout").value_or(0) > 0) {
      notes.push_back("some requests timed out: the latencies of the others are biased low");
    }
    std::vector<Comparison> rows;
    const auto served = get(server.name, "", "served");
    const auto waited = get(server.name, "", "waited");
    if (!sc.queue_capacity) {
      const oracle::MMc q{per_node, mu, c};
      if (q.occupancy() >= 1) continue;
      rows.push_back({server.name + " utilization_mean", get(server.name, "", "utilization_mean"),
                      q.occupancy()});
      if (served && waited && *served > 0) {
        rows.push_back({server.name + " P(wait) = waited/served", *waited / *served, q.p_wait()});
      }
      rows.push_back({server.name + " queue_wait_ms_mean",
                      get(server.name, "", "queue_wait_ms_mean"), q.mean_wait() * 1e3});
      rows.push_back({server.name + " queue_wait_ms_p99", get(server.name, "", "queue_wait_ms_p99"),
                      q.wait_quantile(0.99) * 1e3});
      const std::string cg = client_group + " all ";
      rows.push_back({cg + "latency_ms_mean", get(client_group, "all", "latency_ms_mean"),
                      (q.mean_sojourn() + net) * 1e3});
      for (const auto& [name, p] : std::vector<std::pair<std::string, double>>{
               {"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}}) {
        if (constant_net) {
          rows.push_back({cg + "latency_ms_" + name, get(client_group, "all", "latency_ms_" + name),
                          (q.sojourn_quantile(p) + net) * 1e3});
        }
      }
    } else {
      const oracle::MMcK q{per_node, mu, c, c + static_cast<int>(*sc.queue_capacity)};
      const auto rejected = get(server.name, "", "rejected");
      if (served && rejected && *served + *rejected > 0) {
        rows.push_back(
            {server.name + " rejected / arrived", *rejected / (*served + *rejected), q.blocking()});
      }
      rows.push_back({server.name + " utilization_mean", get(server.name, "", "utilization_mean"),
                      q.utilization()});
      rows.push_back({client_group + " all latency_ms_mean",
                      get(client_group, "all", "latency_ms_mean"), (q.mean_sojourn() + net) * 1e3});
    }
    print_comparisons(rows);
    for (const auto& n : notes)
      std::printf("  note: %s\n", n.c_str());
  }
  if (!recognised) {
    std::printf(
        "\nno group of this run has a closed form here (dsim analyze knows the server "
        "model fed by Poisson clients)\n");
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
    print_queue(lambda, 1 / service, a.workers, a.queue_places);
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
