// The load imbalance of each balancer group, after the run: every balancer node marks, at
// the end, the requests it sent to each backend (retries included, probes not); summed over
// the group's nodes, they give the requests per backend, whose max/mean (1: perfectly
// even) and coefficient of variation (standard deviation / mean, 0: even) are reported,
// and the counts themselves go to lb_backends.csv.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "models/load_balancer/load_balancer.h"

namespace dsim::lb {

namespace {

struct Imbalance {
  double max_over_mean = 0;
  double cv = 0;
};

// Requests per backend node, summed over the marks of the group's nodes.
std::map<NodeId, double> requests_per_backend(const AnalysisInput& in,
                                              const std::vector<NodeId>& nodes) {
  std::map<NodeId, double> out;
  for (const TimelineMark& m : in.marks) {
    if (in.symbol_name(m.kind) != "lb_backend_requests") continue;
    if (std::find(nodes.begin(), nodes.end(), m.node) == nodes.end()) continue;
    out[static_cast<NodeId>(m.a)] += static_cast<double>(m.b);
  }
  return out;
}

std::optional<Imbalance> imbalance(const std::map<NodeId, double>& load) {
  if (load.empty()) return std::nullopt;
  double sum = 0, max = 0;
  for (const auto& [node, n] : load) {
    sum += n;
    max = std::max(max, n);
  }
  const double mean = sum / static_cast<double>(load.size());
  if (mean <= 0) return std::nullopt;
  double var = 0;
  for (const auto& [node, n] : load)
    var += (n - mean) * (n - mean);
  var /= static_cast<double>(load.size());
  return Imbalance{max / mean, std::sqrt(var) / mean};
}

}  // namespace

AnalysisOutput LoadBalancer::analyze(const AnalysisInput& in) {
  AnalysisOutput out;
  std::string csv = "group,backend,requests\n";
  for (const auto& g : in.groups) {
    const auto load = requests_per_backend(in, g.nodes);
    for (const auto& [node, n] : load)
      csv += g.name + "," + in.node_name(node) + "," + std::to_string(std::llround(n)) + "\n";
    if (const auto im = imbalance(load)) {
      out.rows.push_back({g.name, "", "backend_requests_max_over_mean", im->max_over_mean});
      out.rows.push_back({g.name, "", "backend_requests_cv", im->cv});
    }
    if (in.marks_truncated) {
      out.text += "  " + g.name + ": the mark store filled up; backend loads may be missing\n";
    }
  }
  out.files.emplace_back("lb_backends.csv", std::move(csv));
  return out;
}

}  // namespace dsim::lb
