// The Raft failover analysis: from the timeline marks the servers record (node.h), the
// node life events and the fault log (sim/core/timeline.h), in true time, after the run.
//
// A cluster has an *effective leader* at a moment when its latest leader L (the highest
// term with a `raft_leader` mark) is up, has not stepped down, can exchange messages with
// a majority of the cluster (under the partitions then active), and every server that is
// up and can exchange messages with L has received an AppendEntries (or snapshot) from L
// in L's term (`raft_follow`).
//
// A *failover* starts when the effective leader is hit — crashed, paused, isolated from
// its majority by a partition, or stepping down — or, when none of these happened, at the
// first `raft_candidate` mark of a newer term (an election started by timeouts: message
// loss, a slow leader). It ends when the cluster has an effective leader again:
// leaderless_ms is its length, time_to_elect_ms the time from its start to the first
// `raft_leader` mark of a newer term (absent when the old leader came back, e.g. after a
// short pause). This is the definition — from the crash (or isolation) until every
// live server has heard from the new leader — with "live" made precise: up, not paused,
// and connected both ways to the new leader.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/metric_decls.h"
#include "sim/core/timeline.h"

namespace dsim::raft {

struct Failover {
  SimTime start;
  SimTime end;        ///< SimTime::max(): still leaderless when the run ended
  std::string cause;  ///< crash, pause, isolation, step_down, election
  NodeId old_leader = kNoNode;
  uint64_t old_term = 0;
  NodeId new_leader = kNoNode;
  uint64_t new_term = 0;
  SimTime elected;  ///< first leader of a newer term; SimTime::max(): none
  /// The first server to campaign for a newer term after the start; kNoNode: none.
  NodeId first_candidate = kNoNode;
  /// With lagging_followers, for a crash or pause: the servers left up, and how many of them
  /// could win (not held behind by the old leader); -1: not known.
  int survivors = -1;
  int eligible = -1;
  std::vector<NodeId> lagging;  ///< the old leader's lagging followers
  bool finished() const { return end != SimTime::max(); }
  bool can_win(NodeId n) const {
    return std::find(lagging.begin(), lagging.end(), n) == lagging.end();
  }
};

struct LeaderSpan {
  uint64_t term = 0;
  NodeId leader = kNoNode;
  SimTime elected;
  SimTime end;             ///< stepped down or crashed; the run's end otherwise
  std::string end_reason;  ///< step_down, crash, run_end
};

/// A crash or pause meant as a failover trial that could not be measured: aimed at the
/// cluster, it found no node to hit (`no_target`: e.g. no server held the leader role), or
/// it hit a server while the cluster had no effective leader to lose (`during_failover`: a
/// failover still in progress, or none established yet).
struct LostTrial {
  SimTime at;
  std::string fault;   ///< crash, pause
  std::string reason;  ///< no_target, during_failover
};

struct ClusterTimeline {
  std::vector<Failover> failovers;
  std::vector<LostTrial> lost;  ///< in time order, the warm-up's included
  std::vector<LeaderSpan> leaders;
  uint64_t split_votes = 0;  ///< terms with two or more candidates and no leader
  uint64_t max_term = 0;
  uint64_t election_safety_violations = 0;  ///< terms with two different leaders
};

/// The figures the analysis reports per group (failovers by cause, leaderless_ms, ...).
void declare_analysis(MetricDecls& d);

/// Reconstructs one cluster's leaders, failovers and lost trials.
ClusterTimeline analyze_cluster(const AnalysisInput& in, const AnalysisInput::Group& group);

}  // namespace dsim::raft
