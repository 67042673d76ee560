// The server model's theory hook (`dsim analyze run DIR`): a group of `server` nodes fed
// by open-loop Poisson `client`s, with exponential service times of one mean, is an M/M/c
// queue per node (M/M/c/K with a queue capacity), so its utilization, waits and the
// clients' latencies have closed forms (analysis/oracles) to set beside the simulated
// figures, with notes on what makes them differ.
#include <string>
#include <vector>

#include "analysis/oracles/queueing.h"
#include "analysis/oracles/report.h"
#include "models/queueing/client.h"
#include "models/queueing/server.h"

namespace dsim::queueing {

namespace {

// Open-loop Poisson clients aimed at `server`: their total rate, the client group (or
// "all" for several), whether they are all Poisson, and notes on what theory leaves out.
struct Feed {
  double lambda = 0;
  std::string client_group;
  bool poisson = true;
  std::vector<std::string> notes;
};

Feed feed_of(const TheoryInput& in, const TheoryInput::Group& server) {
  Feed f;
  for (const auto& g : in.groups) {
    if (g.model != Client::kName) continue;
    const auto& cc = *static_cast<const Client::Config*>(g.config);
    if (cc.target != server.name) continue;
    f.client_group = f.client_group.empty() ? g.name : "all";
    f.poisson = f.poisson && cc.arrivals.load == kit::ArrivalSpec::Load::kOpen &&
                cc.arrivals.process == kit::ArrivalSpec::Process::kPoisson &&
                !cc.arrivals.rate.varies();
    f.lambda += cc.arrivals.rate.base * g.count;
    if (cc.calls.balancer.kind != kit::BalancerKind::kRandom && server.count > 1) {
      f.notes.push_back("clients of " + g.name + " balance by " +
                        std::string(kit::balancer_name(cc.calls.balancer.kind)) +
                        ": each server sees other than Poisson arrivals (random balancing "
                        "thins a Poisson stream), so theory does not describe them");
    }
    if (cc.arrivals.start > Duration::zero())
      f.notes.push_back(g.name + " starts late: load varies");
  }
  return f;
}

// The service time's mean when every operation's is exponential with one mean; -1 else.
double exponential_mean(const Server::Config& sc) {
  double mean_ns = -1;
  for (const auto& [op, d] : sc.service) {
    if (d.kind() != Distribution::Kind::kExponential || (mean_ns >= 0 && d.mean() != mean_ns)) {
      return -1;
    }
    mean_ns = d.mean();
  }
  return mean_ns;
}

std::vector<oracle::Comparison> unbounded_rows(const TheoryInput& in, const std::string& server,
                                               const std::string& clients, const oracle::MMc& q,
                                               double net, bool exact_net) {
  auto get = [&](const std::string& g, const std::string& op, const std::string& m) {
    return in.figure(g, op, m);
  };
  std::vector<oracle::Comparison> rows;
  rows.push_back(
      {server + " utilization_mean", get(server, "", "utilization_mean"), q.occupancy()});
  const auto served = get(server, "", "served");
  const auto waited = get(server, "", "waited");
  if (served && waited && *served > 0) {
    rows.push_back({server + " P(wait) = waited/served", *waited / *served, q.p_wait()});
  }
  rows.push_back(
      {server + " queue_wait_ms_mean", get(server, "", "queue_wait_ms_mean"), q.mean_wait() * 1e3});
  rows.push_back({server + " queue_wait_ms_p99", get(server, "", "queue_wait_ms_p99"),
                  q.wait_quantile(0.99) * 1e3});
  rows.push_back({clients + " all latency_ms_mean", get(clients, "all", "latency_ms_mean"),
                  (q.mean_sojourn() + net) * 1e3});
  if (!exact_net) return rows;
  for (const auto& [name, p] : std::vector<std::pair<std::string, double>>{
           {"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}}) {
    rows.push_back({clients + " all latency_ms_" + name, get(clients, "all", "latency_ms_" + name),
                    (q.sojourn_quantile(p) + net) * 1e3});
  }
  return rows;
}

std::vector<oracle::Comparison> bounded_rows(const TheoryInput& in, const std::string& server,
                                             const std::string& clients, const oracle::MMcK& q,
                                             double net) {
  std::vector<oracle::Comparison> rows;
  const auto served = in.figure(server, "", "served");
  const auto rejected = in.figure(server, "", "rejected");
  if (served && rejected && *served + *rejected > 0) {
    rows.push_back(
        {server + " rejected / arrived", *rejected / (*served + *rejected), q.blocking()});
  }
  rows.push_back(
      {server + " utilization_mean", in.figure(server, "", "utilization_mean"), q.utilization()});
  rows.push_back({clients + " all latency_ms_mean", in.figure(clients, "all", "latency_ms_mean"),
                  (q.mean_sojourn() + net) * 1e3});
  return rows;
}

// One server group's comparison; empty when it has no closed form.
std::string group_theory(const TheoryInput& in, const TheoryInput::Group& server, int* recognised) {
  const auto& sc = *static_cast<const Server::Config*>(server.config);
  Feed feed = feed_of(in, server);
  const double mean_ns = exponential_mean(sc);
  std::string out = "\ngroup " + server.name + " (" + std::to_string(server.count) + " node" +
                    (server.count == 1 ? "" : "s") + " of model server)\n";
  if (feed.client_group.empty() || !feed.poisson || mean_ns < 0) {
    return out +
           "  no closed form: needs open-loop Poisson clients (load: open, arrival: "
           "poisson, a constant rate) and exponential service times with one mean" +
           (feed.client_group.empty() ? " (no client targets this group)" : "") + "\n";
  }
  ++*recognised;
  const double per_node = feed.lambda / server.count;  // random balancing thins a Poisson stream
  const double mu = 1e9 / mean_ns;
  const int c = static_cast<int>(sc.pool.workers);
  out += oracle::queue_report(per_node, mu, c, sc.pool.queue_capacity);
  // The clients see the sojourn plus the network both ways.
  const bool exact_net = in.network_latency.kind() == Distribution::Kind::kConstant;
  const double net = exact_net ? 2 * in.network_latency.mean() / 1e9 : 0;
  if (!exact_net) {
    feed.notes.push_back(
        "the network latency is random: client latencies include it, theory "
        "below does not (compare queue_wait)");
  }
  if (in.network_loss > 0) feed.notes.push_back("messages are lost: some requests time out");
  if (in.figure(feed.client_group, "all", "timeout").value_or(0) > 0) {
    feed.notes.push_back("some requests timed out: the latencies of the others are biased low");
  }
  if (!sc.pool.queue_capacity) {
    const oracle::MMc q{per_node, mu, c};
    if (q.occupancy() >= 1) return out;
    out += oracle::comparison_table(
        unbounded_rows(in, server.name, feed.client_group, q, net, exact_net));
  } else {
    const oracle::MMcK q{per_node, mu, c, c + static_cast<int>(*sc.pool.queue_capacity)};
    out += oracle::comparison_table(bounded_rows(in, server.name, feed.client_group, q, net));
  }
  for (const auto& n : feed.notes)
    out += "  note: " + n + "\n";
  return out;
}

}  // namespace

TheoryOutput Server::theory(const TheoryInput& in) {
  TheoryOutput out;
  for (const auto& g : in.groups) {
    if (g.model == kName) out.text += group_theory(in, g, &out.recognised);
  }
  return out;
}

}  // namespace dsim::queueing
