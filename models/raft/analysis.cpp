#include "models/raft/analysis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "models/raft/node.h"

namespace dsim::raft {

namespace {

enum class MarkKind : uint8_t { kOther, kLeader, kFollow, kCandidate, kStepDown };

// One event of the merged timeline, ordered by time, then faults before node life before
// marks (a control action at time t precedes the handlers at t it causes).
struct Event {
  SimTime at;
  int order = 0;  // 0: fault, 1: life, 2: mark
  size_t index = 0;
  bool operator<(const Event& o) const {
    if (at != o.at) return at < o.at;
    if (order != o.order) return order < o.order;
    return index < o.index;
  }
};

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double to_ms(Duration d) {
  return static_cast<double>(d.ns()) / 1e6;
}

// Exact nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

}  // namespace

ClusterTimeline analyze_cluster(const AnalysisInput& in, const std::vector<NodeId>& nodes) {
  ClusterTimeline out;
  const size_t n = nodes.size();
  const size_t majority = n / 2 + 1;
  std::vector<int> pos(in.node_count, -1);  // node id -> index in the cluster
  for (size_t i = 0; i < n; ++i)
    pos[nodes[i]] = static_cast<int>(i);

  std::map<uint32_t, MarkKind> kinds;  // by symbol id
  auto kind_of = [&](Symbol s) {
    auto it = kinds.find(s.id);
    if (it != kinds.end()) return it->second;
    const std::string_view name = in.symbol_name(s);
    MarkKind k = name == "raft_leader"      ? MarkKind::kLeader
                 : name == "raft_follow"    ? MarkKind::kFollow
                 : name == "raft_candidate" ? MarkKind::kCandidate
                 : name == "raft_step_down" ? MarkKind::kStepDown
                                            : MarkKind::kOther;
    kinds.emplace(s.id, k);
    return k;
  };

  std::vector<Event> events;
  for (size_t i = 0; i < in.faults.size(); ++i) {
    const FaultEvent& f = in.faults[i];
    if (f.kind == "partition" && (f.cut || f.phase == FaultPhase::kEnd))
      events.push_back({f.at, 0, i});
  }
  for (size_t i = 0; i < in.life.size(); ++i) {
    const NodeId id = in.life[i].node;
    if (id < pos.size() && pos[id] >= 0) events.push_back({in.life[i].at, 1, i});
  }
  for (size_t i = 0; i < in.marks.size(); ++i) {
    const NodeId id = in.marks[i].node;
    if (id < pos.size() && pos[id] >= 0 && kind_of(in.marks[i].kind) != MarkKind::kOther)
      events.push_back({in.marks[i].at, 2, i});
  }
  std::sort(events.begin(), events.end());

  // State as the timeline is replayed.
  std::vector<NodeStatus> status(n, NodeStatus::kUp);
  std::vector<uint64_t> followed(n, 0);  // the term of the leader each node last heard from
  std::map<uint64_t, std::shared_ptr<const Cut>> cuts;
  struct Latest {
    NodeId node = kNoNode;
    uint64_t term = 0;
    bool stepped_down = false;
  } latest;                     // the leader of the highest term so far
  NodeId est_leader = kNoNode;  // the established (effective) leader, before a failover
  uint64_t est_term = 0;
  bool ever_established = false;
  bool open = false;
  Failover cur;
  std::map<uint64_t, std::set<NodeId>> candidates;   // term -> nodes that campaigned
  std::map<uint64_t, std::set<NodeId>> leaders_of;   // term -> nodes that led
  std::map<uint64_t, SimTime> first_candidacy;       // term -> first campaign
  std::map<NodeId, std::vector<size_t>> open_spans;  // node -> its leader spans not ended
  auto end_spans = [&](NodeId node, SimTime at, const char* reason, uint64_t term_or_any) {
    auto it = open_spans.find(node);
    if (it == open_spans.end()) return;
    auto& v = it->second;
    for (size_t k = v.size(); k-- > 0;) {
      LeaderSpan& s = out.leaders[v[k]];
      if (term_or_any != 0 && s.term != term_or_any) continue;
      s.end = at;
      s.end_reason = reason;
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(k));
    }
  };

  auto two_way = [&](NodeId a, NodeId b) {
    for (const auto& [id, c] : cuts) {
      if (c->blocks(a, b) || c->blocks(b, a)) return false;
    }
    return true;
  };
  auto reaches_majority = [&](NodeId l) {
    size_t r = 0;
    for (NodeId x : nodes)
      r += (x == l || two_way(l, x)) ? 1 : 0;
    return r >= majority;
  };
  auto effective = [&]() {
    if (latest.node == kNoNode || latest.stepped_down) return false;
    const int li = pos[latest.node];
    if (status[static_cast<size_t>(li)] != NodeStatus::kUp) return false;
    if (!reaches_majority(latest.node)) return false;
    for (size_t i = 0; i < n; ++i) {
      const NodeId x = nodes[i];
      if (x == latest.node || status[i] != NodeStatus::kUp || !two_way(latest.node, x)) continue;
      if (followed[i] != latest.term) return false;
    }
    return true;
  };
  auto open_failover = [&](SimTime at, const std::string& cause) {
    open = true;
    cur = Failover{};
    cur.start = at;
    cur.end = SimTime::max();
    cur.elected = SimTime::max();
    cur.cause = cause;
    cur.old_leader = est_leader;
    cur.old_term = est_term;
  };

  for (const Event& ev : events) {
    const SimTime at = ev.at;
    if (ev.order == 0) {
      const FaultEvent& f = in.faults[ev.index];
      if (f.phase == FaultPhase::kEnd) {
        cuts.erase(f.id);
      } else {
        cuts[f.id] = f.cut;
        if (!open && ever_established && !reaches_majority(est_leader))
          open_failover(at, "isolation");
      }
    } else if (ev.order == 1) {
      const NodeLifeEvent& l = in.life[ev.index];
      const auto i = static_cast<size_t>(pos[l.node]);
      status[i] = l.status;
      if (l.status == NodeStatus::kDown) {
        followed[i] = 0;                                        // a restarted server knows nothing
        if (l.node == latest.node) latest.stepped_down = true;  // it restarts as a follower
      }
      if (!open && ever_established && l.node == est_leader && l.status != NodeStatus::kUp)
        open_failover(at, l.status == NodeStatus::kDown ? "crash" : "pause");
    } else {
      const TimelineMark& m = in.marks[ev.index];
      const auto i = static_cast<size_t>(pos[m.node]);
      const auto term = static_cast<uint64_t>(m.a);
      out.max_term = std::max(out.max_term, term);
      switch (kind_of(m.kind)) {
        case MarkKind::kLeader: {
          leaders_of[term].insert(m.node);
          open_spans[m.node].push_back(out.leaders.size());
          out.leaders.push_back({term, m.node, at, SimTime::max(), "run_end"});
          followed[i] = term;
          if (term >= latest.term) latest = {m.node, term, false};
          if (ever_established && term > est_term) {
            if (!open) {
              // Deposed without a fault on it: the failover began with the first
              // campaign for a newer term.
              SimTime start = at;
              for (auto it = first_candidacy.upper_bound(est_term);
                   it != first_candidacy.end() && it->first <= term; ++it)
                start = std::min(start, it->second);
              open_failover(start, "election");
            }
            if (cur.elected == SimTime::max()) cur.elected = at;
          }
          break;
        }
        case MarkKind::kFollow:
          followed[i] = term;
          break;
        case MarkKind::kCandidate:
          candidates[term].insert(m.node);
          if (!first_candidacy.count(term)) first_candidacy[term] = at;
          break;
        case MarkKind::kStepDown:
          end_spans(m.node, at, "step_down", term);
          if (latest.node == m.node && latest.term == term) latest.stepped_down = true;
          if (!open && ever_established && m.node == est_leader && term == est_term)
            open_failover(at, "step_down");
          break;
        case MarkKind::kOther:
          break;
      }
    }
    if (ev.order == 1 && in.life[ev.index].status == NodeStatus::kDown)
      end_spans(in.life[ev.index].node, at, "crash", 0);
    // Close (or first establish) when the latest leader is effective.
    if ((open || !ever_established) && effective()) {
      if (open) {
        cur.end = at;
        cur.new_leader = latest.node;
        cur.new_term = latest.term;
        out.failovers.push_back(cur);
        open = false;
      }
      ever_established = true;
      est_leader = latest.node;
      est_term = latest.term;
    }
  }
  if (open) out.failovers.push_back(cur);
  for (auto& s : out.leaders) {
    if (s.end == SimTime::max()) s.end = in.end;
  }
  for (const auto& [term, who] : leaders_of)
    out.election_safety_violations += who.size() > 1 ? 1 : 0;
  for (const auto& [term, who] : candidates) {
    if (who.size() >= 2 && !leaders_of.count(term) && first_candidacy[term] >= in.warmup_end)
      ++out.split_votes;
  }
  return out;
}

AnalysisOutput RaftNode::analyze(const AnalysisInput& in) {
  AnalysisOutput out;
  std::string failovers_csv =
      "group,start_s,end_s,cause,old_leader,old_term,new_leader,new_term,time_to_elect_ms,"
      "leaderless_ms,measured\n";
  std::string hist_csv = "group,bucket_lo_ms,bucket_hi_ms,count,cdf\n";
  std::string leaders_csv = "group,term,leader,elected_s,end_s,end_reason\n";
  auto name = [&](NodeId id) { return id == kNoNode ? std::string() : in.node_name(id); };
  auto secs = [](SimTime t) { return fmt(t.to_seconds(), 6); };
  constexpr double kBucketMs = 5;

  for (const auto& g : in.groups) {
    const ClusterTimeline t = analyze_cluster(in, g.nodes);
    std::vector<double> leaderless, elect;
    std::map<std::string, uint64_t> by_cause;
    uint64_t unfinished = 0;
    for (const auto& f : t.failovers) {
      const bool measured = f.start >= in.warmup_end;
      const bool elected = f.elected != SimTime::max();
      failovers_csv += g.name + "," + secs(f.start) + "," + (f.finished() ? secs(f.end) : "") +
                       "," + f.cause + "," + name(f.old_leader) + "," + std::to_string(f.old_term) +
                       "," + name(f.new_leader) + "," +
                       (f.finished() ? std::to_string(f.new_term) : "") + "," +
                       (elected ? fmt(to_ms(f.elected - f.start), 3) : "") + "," +
                       (f.finished() ? fmt(to_ms(f.end - f.start), 3) : "") + "," +
                       (measured ? "1" : "0") + "\n";
      if (!measured) continue;
      if (!f.finished()) {
        ++unfinished;
        continue;
      }
      ++by_cause[f.cause];
      leaderless.push_back(to_ms(f.end - f.start));
      if (elected) elect.push_back(to_ms(f.elected - f.start));
    }
    for (const auto& s : t.leaders) {
      leaders_csv += g.name + "," + std::to_string(s.term) + "," + name(s.leader) + "," +
                     secs(s.elected) + "," + secs(s.end) + "," + s.end_reason + "\n";
    }
    std::sort(leaderless.begin(), leaderless.end());
    std::sort(elect.begin(), elect.end());
    // Histogram with its CDF: 5 ms buckets, non-empty ones only.
    for (size_t i = 0; i < leaderless.size();) {
      const double lo = std::floor(leaderless[i] / kBucketMs) * kBucketMs;
      size_t j = i;
      while (j < leaderless.size() && leaderless[j] < lo + kBucketMs)
        ++j;
      hist_csv += g.name + "," + fmt(lo, 0) + "," + fmt(lo + kBucketMs, 0) + "," +
                  std::to_string(j - i) + "," +
                  fmt(static_cast<double>(j) / static_cast<double>(leaderless.size()), 6) + "\n";
      i = j;
    }
    auto row = [&](const std::string& metric, double v) {
      out.rows.push_back({g.name, "", metric, v});
    };
    auto dist_rows = [&](const std::string& prefix, const std::vector<double>& v) {
      row(prefix + "_count", static_cast<double>(v.size()));
      if (v.empty()) return;
      const char* names[] = {"p50", "p90", "p99", "p999"};
      const double ps[] = {0.5, 0.9, 0.99, 0.999};
      for (size_t k = 0; k < 4; ++k)
        row(prefix + "_ms_" + names[k], percentile(v, ps[k]));
      row(prefix + "_ms_max", v.back());
      double sum = 0;
      for (double x : v)
        sum += x;
      row(prefix + "_ms_mean", sum / static_cast<double>(v.size()));
    };
    row("failovers", static_cast<double>(leaderless.size()));
    for (const char* cause : {"crash", "pause", "isolation", "step_down", "election"})
      row(std::string("failovers_") + cause, static_cast<double>(by_cause[cause]));
    row("failovers_unfinished", static_cast<double>(unfinished));
    dist_rows("leaderless", leaderless);
    dist_rows("time_to_elect", elect);
    row("split_votes", static_cast<double>(t.split_votes));
    row("max_term", static_cast<double>(t.max_term));
    row("election_safety_violations", static_cast<double>(t.election_safety_violations));
    if (!leaderless.empty()) {
      out.text += "  " + g.name + ": " + std::to_string(leaderless.size()) +
                  " failovers, leaderless ms p50 " + fmt(percentile(leaderless, 0.5), 1) + " p90 " +
                  fmt(percentile(leaderless, 0.9), 1) + " p99 " +
                  fmt(percentile(leaderless, 0.99), 1) + " max " + fmt(leaderless.back(), 1) +
                  (unfinished ? "; " + std::to_string(unfinished) + " unfinished" : "") +
                  "; split votes " + std::to_string(t.split_votes) + " (failovers.csv, " +
                  "leaderless.csv, leaders.csv)\n";
    }
    if (in.marks_truncated) {
      out.text += "  " + g.name + ": the mark store filled up; later failovers are missing\n";
    }
  }
  out.files.emplace_back("failovers.csv", std::move(failovers_csv));
  out.files.emplace_back("leaderless.csv", std::move(hist_csv));
  out.files.emplace_back("leaders.csv", std::move(leaders_csv));
  return out;
}

}  // namespace dsim::raft
