// The admitted count per window of each rate-limiting group against its limit, and the
// fairness between its clients, from the marks of gate.h's WindowReport:
//   - each node's `rate_limit_window` marks (admitted, rejected), one per tenth of a
//     window W, are summed over the group by tenth: a mark made at true time t closes
//     tenth k = round(t / (W / 10)) (a node's clock may be a little off the true time,
//     never by half a tenth in a sane scenario), which belongs to window ceil(k / 10);
//   - max_sliding: the most admitted in any 10 consecutive tenths, a window-long span that
//     need not be aligned (what a fixed window lets through across its boundary);
//   - the group's limit per window: the limit marked by its nodes when it is shared (sync,
//     a store), the sum of their limits when each node limits on its own; none (no limit
//     or overshoot figures) for a limit per client or per key, or at a node checking a
//     store (the store's group reports it);
//   - overshoot: per window, admitted minus the limit when above it; the figures are the
//     sum over windows and the largest;
//   - fairness: Jain's index (sum x)^2 / (n sum x^2) of the requests admitted per client
//     node (1: even; 1/n: one client got everything), over every client seen.
// Files: <model>_rate_limit_windows.csv (group, window end in seconds, admitted, rejected,
// limit).
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "models/rate_limiter/analysis.h"

namespace dsim::ratelimit {

namespace {
struct Window {
  uint64_t admitted = 0, rejected = 0;
};
struct GroupMarks {
  int64_t window_ns = 0;
  uint64_t limit = 0;
  std::map<int64_t, Window> tenths;     // by the index of the tenth's end
  std::map<int64_t, uint64_t> clients;  // admitted per client node
};

GroupMarks collect(const AnalysisInput& in, const std::vector<NodeId>& nodes) {
  GroupMarks g;
  uint64_t shared = 0, sum = 0;
  std::vector<const TimelineMark*> windows;
  for (const TimelineMark& m : in.marks) {
    if (std::find(nodes.begin(), nodes.end(), m.node) == nodes.end()) continue;
    const std::string_view kind = in.symbol_name(m.kind);
    if (kind == "rate_limit_spec") {
      g.window_ns = m.b / 2;
      if (m.b % 2 == 1) {
        shared = std::max(shared, static_cast<uint64_t>(m.a));
      } else {
        sum += static_cast<uint64_t>(m.a);
      }
    } else if (kind == "rate_limit_window") {
      windows.push_back(&m);
    } else if (kind == "rate_limit_client") {
      g.clients[m.a] += static_cast<uint64_t>(m.b);
    }
  }
  g.limit = shared > 0 ? shared : sum;
  if (g.window_ns <= 0) return g;
  const int64_t tenth = std::max<int64_t>(g.window_ns / 10, 1);
  for (const TimelineMark* m : windows) {
    if (m->at < in.warmup_end) continue;
    Window& w = g.tenths[(m->at.ns() + tenth / 2) / tenth];
    w.admitted += static_cast<uint64_t>(m->a);
    w.rejected += static_cast<uint64_t>(m->b);
  }
  return g;
}

uint64_t max_sliding(const std::map<int64_t, Window>& tenths) {
  uint64_t best = 0;
  for (auto it = tenths.begin(); it != tenths.end(); ++it) {
    uint64_t sum = 0;
    for (auto j = it; j != tenths.end() && j->first < it->first + 10; ++j)
      sum += j->second.admitted;
    best = std::max(best, sum);
  }
  return best;
}

double jain(const std::map<int64_t, uint64_t>& clients) {
  double s = 0, s2 = 0;
  for (const auto& [c, x] : clients) {
    s += static_cast<double>(x);
    s2 += static_cast<double>(x) * static_cast<double>(x);
  }
  if (s2 <= 0) return 1;
  return s * s / (static_cast<double>(clients.size()) * s2);
}
}  // namespace

AnalysisOutput analyze_rate_limits(const AnalysisInput& in, std::string_view model) {
  AnalysisOutput out;
  std::string csv;
  for (const AnalysisInput::Group& group : in.groups) {
    const GroupMarks g = collect(in, group.nodes);
    if (g.window_ns <= 0 && g.clients.empty()) continue;  // no rate limit there
    std::map<int64_t, Window> windows;
    for (const auto& [k, t] : g.tenths) {
      Window& w = windows[(k + 9) / 10];
      w.admitted += t.admitted;
      w.rejected += t.rejected;
    }
    uint64_t over = 0, worst = 0, most = 0;
    for (const auto& [end, w] : windows) {
      if (g.limit > 0 && w.admitted > g.limit) {
        over += w.admitted - g.limit;
        worst = std::max(worst, w.admitted - g.limit);
      }
      most = std::max(most, w.admitted);
      csv += group.name + "," + std::to_string(static_cast<double>(end * g.window_ns) / 1e9) + "," +
             std::to_string(w.admitted) + "," + std::to_string(w.rejected) + "," +
             std::to_string(g.limit) + "\n";
    }
    auto row = [&](const char* metric, double v) {
      out.rows.push_back({group.name, "", metric, v});
    };
    if (g.window_ns > 0) {
      row("rate_limit_max_admitted", static_cast<double>(most));
      row("rate_limit_max_sliding", static_cast<double>(max_sliding(g.tenths)));
    }
    if (g.window_ns > 0 && g.limit > 0) {
      row("rate_limit_limit", static_cast<double>(g.limit));
      row("rate_limit_overshoot", static_cast<double>(over));
      row("rate_limit_max_overshoot", static_cast<double>(worst));
    }
    if (!g.clients.empty()) {
      row("rate_limit_clients", static_cast<double>(g.clients.size()));
      row("rate_limit_fairness", jain(g.clients));
    }
  }
  if (!csv.empty()) {
    out.files.emplace_back(std::string(model) + "_rate_limit_windows.csv",
                           "group,window_end_s,admitted,rejected,limit\n" + csv);
  }
  return out;
}

AnalysisOutput RateLimiterNode::analyze(const AnalysisInput& in) {
  return analyze_rate_limits(in, kName);
}

std::vector<ReportSection> RateLimiterNode::report(const ReportInput& in) {
  return rate_limit_report(in, kName);
}

}  // namespace dsim::ratelimit
