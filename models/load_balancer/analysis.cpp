// The load imbalance of each balancer group, after the run: every balancer node marks, at
// the end, the requests it sent to each backend (retries included, probes not); summed over
// the group's nodes, they give the requests per backend, whose max/mean (1: perfectly
// even) and coefficient of variation (standard deviation / mean, 0: even) are reported,
// and the counts themselves go to lb_backends.csv.
//
// Time to detect: for every crash of a backend and every balancer node of the group that
// had the backend in (not unhealthy, not ejected, not deregistered) and was up when it
// crashed, the time from the crash to the node's first `lb_backend_down` mark for it
// (marked unhealthy or ejected); a node that did not take it out before it restarted (or
// the run ended) missed it (crashes_undetected counts such pairs).
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "models/load_balancer/load_balancer.h"
#include "models/rate_limiter/analysis.h"

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

// Whether balancer node `n` had backend `b` out (unhealthy, ejected or deregistered) at
// `t`, replaying its marks since its last start up to `t` (a deregistration at the very
// time of the crash, as a deploy stopping a server as it deregisters it, included).
bool out_before(const AnalysisInput& in, NodeId n, NodeId b, SimTime t) {
  SimTime started = SimTime::zero();
  for (const NodeLifeEvent& l : in.life) {
    if (l.node == n && l.at < t && l.status == NodeStatus::kUp) started = l.at;
  }
  bool out[3] = {false, false, false};  // by the mark's reason: unhealthy, ejected, deregistered
  for (const TimelineMark& m : in.marks) {
    if (m.at > t) break;
    if (m.node != n || m.a != static_cast<int64_t>(b) || m.at < started) continue;
    const std::string_view kind = in.symbol_name(m.kind);
    const bool down = kind == "lb_backend_down";
    if (!down && kind != "lb_backend_up") continue;
    if (m.b >= 0 && m.b < 3) out[m.b] = down;
  }
  return out[0] || out[1] || out[2];
}

bool up_at(const AnalysisInput& in, NodeId n, SimTime t) {
  bool up = true;
  for (const NodeLifeEvent& l : in.life) {
    if (l.at > t) break;
    if (l.node == n) up = l.status != NodeStatus::kDown;
  }
  return up;
}

struct Detection {
  std::vector<double> ms;  // one per (crash, balancer node) detected
  int64_t missed = 0;
};

// Backend `b` crashed at `t` and came back at `back` (or the run ended).
void detect(const AnalysisInput& in, const std::vector<NodeId>& nodes, NodeId b, SimTime t,
            SimTime back, Detection& out) {
  for (NodeId n : nodes) {
    if (!up_at(in, n, t) || out_before(in, n, b, t)) continue;
    std::optional<SimTime> seen;
    for (const TimelineMark& m : in.marks) {
      if (m.at < t || m.node != n || m.a != static_cast<int64_t>(b)) continue;
      if (m.at >= back) break;
      // A deregistration is the schedule's doing, not a detection.
      if (in.symbol_name(m.kind) != "lb_backend_down" || m.b == 2) continue;
      seen = m.at;
      break;
    }
    if (seen) {
      out.ms.push_back(static_cast<double>((*seen - t).ns()) / 1e6);
    } else {
      ++out.missed;
    }
  }
}

std::optional<Detection> detections(const AnalysisInput& in, const std::vector<NodeId>& nodes,
                                    const std::map<NodeId, double>& backends) {
  std::optional<Detection> out;
  for (size_t i = 0; i < in.life.size(); ++i) {
    const NodeLifeEvent& crash = in.life[i];
    if (crash.status != NodeStatus::kDown || backends.count(crash.node) == 0) continue;
    SimTime back = in.end;
    for (size_t j = i + 1; j < in.life.size(); ++j) {
      if (in.life[j].node == crash.node && in.life[j].status == NodeStatus::kUp) {
        back = in.life[j].at;
        break;
      }
    }
    if (!out) out.emplace();
    detect(in, nodes, crash.node, crash.at, back, *out);
  }
  return out;
}

// Slowdowns of the backends (fault `slow`), each from its start to its end.
std::optional<Detection> slow_detections(const AnalysisInput& in, const std::vector<NodeId>& nodes,
                                         const std::map<NodeId, double>& backends) {
  std::optional<Detection> out;
  for (const FaultEvent& f : in.faults) {
    if (f.phase != FaultPhase::kStart || f.kind != "slow") continue;
    SimTime end = in.end;
    for (const FaultEvent& g : in.faults) {
      if (g.id == f.id && g.phase == FaultPhase::kEnd) {
        end = g.at;
        break;
      }
    }
    for (const NodeId b : f.nodes) {
      if (backends.count(b) == 0) continue;
      if (!out) out.emplace();
      detect(in, nodes, b, f.at, end, *out);
    }
  }
  return out;
}

// `what` names the rows: "" for crashes (time_to_detect_ms_*, crashes_undetected), "slow"
// for slowdowns (time_to_detect_slow_ms_*, slowdowns_undetected).
void add_detection_rows(AnalysisOutput& out, const std::string& group, const Detection& d,
                        const std::string& what) {
  const std::string prefix = what.empty() ? "time_to_detect_ms" : "time_to_detect_slow_ms";
  out.rows.push_back({group, "", what.empty() ? "crashes_undetected" : "slowdowns_undetected",
                      static_cast<double>(d.missed)});
  if (d.ms.empty()) return;
  double sum = 0, max = 0;
  for (double v : d.ms) {
    sum += v;
    max = std::max(max, v);
  }
  out.rows.push_back({group, "", prefix + "_mean", sum / static_cast<double>(d.ms.size())});
  out.rows.push_back({group, "", prefix + "_max", max});
}

// Failovers of a pair's virtual address: for every crash of the node that held it (its
// last `lb_vip` claim), the time from the crash to the next claim by a node of the group;
// none when the group never claimed an address (it has none).
std::optional<std::vector<double>> vip_failovers(const AnalysisInput& in,
                                                 const std::vector<NodeId>& nodes) {
  std::vector<std::pair<SimTime, NodeId>> claims;
  for (const TimelineMark& m : in.marks) {
    if (m.a != 1 || in.symbol_name(m.kind) != "lb_vip") continue;
    if (std::find(nodes.begin(), nodes.end(), m.node) != nodes.end())
      claims.emplace_back(m.at, m.node);
  }
  if (claims.empty()) return std::nullopt;
  std::vector<double> out;
  for (const NodeLifeEvent& e : in.life) {
    if (e.status != NodeStatus::kDown) continue;
    NodeId holder = kNoNode;
    std::optional<SimTime> next;
    for (const auto& [at, node] : claims) {
      if (at <= e.at) holder = node;
      if (at > e.at && !next) next = at;
    }
    if (holder != e.node || !next) continue;
    out.push_back(static_cast<double>((*next - e.at).ns()) / 1e6);
  }
  return out;
}

void add_vip_rows(AnalysisOutput& out, const std::string& group, const std::vector<double>& ms) {
  out.rows.push_back({group, "", "vip_failovers", static_cast<double>(ms.size())});
  if (ms.empty()) return;
  double sum = 0, max = 0;
  for (double v : ms) {
    sum += v;
    max = std::max(max, v);
  }
  out.rows.push_back({group, "", "vip_failover_ms_mean", sum / static_cast<double>(ms.size())});
  out.rows.push_back({group, "", "vip_failover_ms_max", max});
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
    if (const auto d = detections(in, g.nodes, load)) add_detection_rows(out, g.name, *d, "");
    if (const auto d = slow_detections(in, g.nodes, load))
      add_detection_rows(out, g.name, *d, "slow");
    if (const auto ms = vip_failovers(in, g.nodes)) add_vip_rows(out, g.name, *ms);
    if (in.marks_truncated) {
      out.text += "  " + g.name + ": the mark store filled up; backend loads may be missing\n";
    }
  }
  out.files.emplace_back("lb_backends.csv", std::move(csv));
  AnalysisOutput limits = ratelimit::analyze_rate_limits(in, kName);
  out.rows.insert(out.rows.end(), limits.rows.begin(), limits.rows.end());
  out.files.insert(out.files.end(), limits.files.begin(), limits.files.end());
  return out;
}

}  // namespace dsim::lb
