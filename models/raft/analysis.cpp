#include "models/raft/analysis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "models/kit/quorum.h"
#include "models/raft/node.h"

namespace dsim::raft {

namespace {

enum class MarkKind : uint8_t { kOther, kLeader, kFollow, kCandidate, kStepDown };

// The start of a crash or pause: what a failover trial is made of.
bool is_trial_fault(const FaultEvent& f) {
  return f.phase != FaultPhase::kEnd && (f.kind == "crash" || f.kind == "pause");
}

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

// Replays one cluster's merged timeline in order, keeping what is known at each moment:
// which servers are up, which partitions cut, the latest leader, the leader each server
// follows, the leader spans still open and the failover in progress (analysis.h).
class Replay {
 public:
  Replay(const AnalysisInput& in, const AnalysisInput::Group& group)
      : in_(in),
        nodes_(group.nodes),
        group_index_(group.index),
        lag_(group.config ? static_cast<size_t>(
                                static_cast<const RaftConfig*>(group.config)->lagging_followers)
                          : 0),
        majority_(kit::majority(static_cast<uint32_t>(nodes_.size()))),
        pos_(in.node_count, -1),
        status_(nodes_.size(), NodeStatus::kUp),
        followed_(nodes_.size(), 0) {
    for (size_t i = 0; i < nodes_.size(); ++i)
      pos_[nodes_[i]] = static_cast<int>(i);
  }

  ClusterTimeline run();

 private:
  // The leader of the highest term so far.
  struct Latest {
    NodeId node = kNoNode;
    uint64_t term = 0;
    bool stepped_down = false;
  };

  bool member(NodeId id) const { return id < pos_.size() && pos_[id] >= 0; }
  size_t index_of(NodeId id) const { return static_cast<size_t>(pos_[id]); }
  MarkKind kind_of(Symbol s);
  std::vector<Event> merged_events();
  bool aims_here(const FaultEvent& f) const;
  void classify_trial(const FaultEvent& f, SimTime at);
  void on_fault(const FaultEvent& f, SimTime at);
  void on_life(const NodeLifeEvent& l, SimTime at);
  void on_mark(const TimelineMark& m, SimTime at);
  void on_leader(const TimelineMark& m, uint64_t term, SimTime at);
  void end_spans(NodeId node, SimTime at, const char* reason, uint64_t term_or_any);
  bool two_way(NodeId a, NodeId b) const;
  bool reaches_majority(NodeId l) const;
  bool effective() const;
  void open_failover(SimTime at, const std::string& cause);
  void note_eligibility();
  void close_if_effective(SimTime at);
  void count_votes();

  const AnalysisInput& in_;
  const std::vector<NodeId>& nodes_;
  const uint32_t group_index_;
  const size_t lag_;  // lagging_followers
  const uint32_t majority_;
  std::vector<int> pos_;                // node id -> index in the cluster
  std::map<uint32_t, MarkKind> kinds_;  // by symbol id
  ClusterTimeline out_;

  std::vector<NodeStatus> status_;
  std::vector<uint64_t> followed_;  // the term of the leader each node last heard from
  std::map<uint64_t, std::shared_ptr<const Cut>> cuts_;
  Latest latest_;
  NodeId est_leader_ = kNoNode;  // the established (effective) leader, before a failover
  uint64_t est_term_ = 0;
  bool ever_established_ = false;
  bool open_ = false;
  Failover cur_;
  std::map<uint64_t, std::set<NodeId>> candidates_;   // term -> nodes that campaigned
  std::map<uint64_t, std::set<NodeId>> leaders_of_;   // term -> nodes that led
  std::map<uint64_t, SimTime> first_candidacy_;       // term -> first campaign
  std::map<NodeId, std::vector<size_t>> open_spans_;  // node -> its leader spans not ended
};

MarkKind Replay::kind_of(Symbol s) {
  auto it = kinds_.find(s.id);
  if (it != kinds_.end()) return it->second;
  const std::string_view name = in_.symbol_name(s);
  MarkKind k = name == "raft_leader"      ? MarkKind::kLeader
               : name == "raft_follow"    ? MarkKind::kFollow
               : name == "raft_candidate" ? MarkKind::kCandidate
               : name == "raft_step_down" ? MarkKind::kStepDown
                                          : MarkKind::kOther;
  kinds_.emplace(s.id, k);
  return k;
}

std::vector<Event> Replay::merged_events() {
  std::vector<Event> events;
  for (size_t i = 0; i < in_.faults.size(); ++i) {
    const FaultEvent& f = in_.faults[i];
    if ((f.kind == "partition" && (f.cut || f.phase == FaultPhase::kEnd)) || is_trial_fault(f))
      events.push_back({f.at, 0, i});
  }
  for (size_t i = 0; i < in_.life.size(); ++i) {
    if (member(in_.life[i].node)) events.push_back({in_.life[i].at, 1, i});
  }
  for (size_t i = 0; i < in_.marks.size(); ++i) {
    if (member(in_.marks[i].node) && kind_of(in_.marks[i].kind) != MarkKind::kOther)
      events.push_back({in_.marks[i].at, 2, i});
  }
  std::sort(events.begin(), events.end());
  return events;
}

ClusterTimeline Replay::run() {
  for (const Event& ev : merged_events()) {
    if (ev.order == 0) {
      on_fault(in_.faults[ev.index], ev.at);
    } else if (ev.order == 1) {
      on_life(in_.life[ev.index], ev.at);
    } else {
      on_mark(in_.marks[ev.index], ev.at);
    }
    close_if_effective(ev.at);
  }
  if (open_) out_.failovers.push_back(cur_);
  for (auto& s : out_.leaders) {
    if (s.end == SimTime::max()) s.end = in_.end;
  }
  count_votes();
  return std::move(out_);
}

bool Replay::aims_here(const FaultEvent& f) const {
  for (uint32_t g : f.aimed_groups) {
    if (g == kWholeRunGroup || g == group_index_) return true;
  }
  return false;
}

// A crash or pause of a server while the cluster has no effective leader (a failover still
// open, or none established yet), or one aimed at the cluster that found no node to hit,
// is a trial that cannot be measured; one that hits the effective leader opens a failover
// (on_life).
void Replay::classify_trial(const FaultEvent& f, SimTime at) {
  bool lost = false;
  const char* reason = "";
  if (f.no_target) {
    lost = aims_here(f);
    reason = "no_target";
  } else if (open_ || !ever_established_) {
    lost = std::any_of(f.nodes.begin(), f.nodes.end(), [this](NodeId n) { return member(n); });
    reason = "during_failover";
  }
  if (lost) out_.lost.push_back({at, f.kind, reason});
}

void Replay::on_fault(const FaultEvent& f, SimTime at) {
  if (is_trial_fault(f)) return classify_trial(f, at);
  if (f.phase == FaultPhase::kEnd) {
    cuts_.erase(f.id);
    return;
  }
  cuts_[f.id] = f.cut;
  if (!open_ && ever_established_ && !reaches_majority(est_leader_)) open_failover(at, "isolation");
}

void Replay::on_life(const NodeLifeEvent& l, SimTime at) {
  const size_t i = index_of(l.node);
  status_[i] = l.status;
  if (l.status == NodeStatus::kDown) {
    followed_[i] = 0;                                         // a restarted server knows nothing
    if (l.node == latest_.node) latest_.stepped_down = true;  // it restarts as a follower
  }
  if (!open_ && ever_established_ && l.node == est_leader_ && l.status != NodeStatus::kUp)
    open_failover(at, l.status == NodeStatus::kDown ? "crash" : "pause");
  if (l.status == NodeStatus::kDown) end_spans(l.node, at, "crash", 0);
}

void Replay::on_mark(const TimelineMark& m, SimTime at) {
  const size_t i = index_of(m.node);
  const auto term = static_cast<uint64_t>(m.a);
  out_.max_term = std::max(out_.max_term, term);
  switch (kind_of(m.kind)) {
    case MarkKind::kLeader:
      on_leader(m, term, at);
      break;
    case MarkKind::kFollow:
      followed_[i] = term;
      break;
    case MarkKind::kCandidate:
      candidates_[term].insert(m.node);
      if (open_ && term > cur_.old_term && cur_.first_candidate == kNoNode)
        cur_.first_candidate = m.node;
      if (!first_candidacy_.count(term)) first_candidacy_[term] = at;
      break;
    case MarkKind::kStepDown:
      end_spans(m.node, at, "step_down", term);
      if (latest_.node == m.node && latest_.term == term) latest_.stepped_down = true;
      if (!open_ && ever_established_ && m.node == est_leader_ && term == est_term_)
        open_failover(at, "step_down");
      break;
    case MarkKind::kOther:
      break;
  }
}

void Replay::on_leader(const TimelineMark& m, uint64_t term, SimTime at) {
  leaders_of_[term].insert(m.node);
  open_spans_[m.node].push_back(out_.leaders.size());
  out_.leaders.push_back({term, m.node, at, SimTime::max(), "run_end"});
  followed_[index_of(m.node)] = term;
  if (term >= latest_.term) latest_ = {m.node, term, false};
  if (!ever_established_ || term <= est_term_) return;
  if (!open_) {
    // Deposed without a fault on it: the failover began with the first campaign for a
    // newer term.
    SimTime start = at;
    for (auto it = first_candidacy_.upper_bound(est_term_);
         it != first_candidacy_.end() && it->first <= term; ++it)
      start = std::min(start, it->second);
    open_failover(start, "election");
  }
  if (cur_.elected == SimTime::max()) cur_.elected = at;
}

void Replay::end_spans(NodeId node, SimTime at, const char* reason, uint64_t term_or_any) {
  auto it = open_spans_.find(node);
  if (it == open_spans_.end()) return;
  auto& v = it->second;
  for (size_t k = v.size(); k-- > 0;) {
    LeaderSpan& s = out_.leaders[v[k]];
    if (term_or_any != 0 && s.term != term_or_any) continue;
    s.end = at;
    s.end_reason = reason;
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

bool Replay::two_way(NodeId a, NodeId b) const {
  for (const auto& [id, c] : cuts_) {
    if (c->blocks(a, b) || c->blocks(b, a)) return false;
  }
  return true;
}

bool Replay::reaches_majority(NodeId l) const {
  uint32_t r = 0;
  for (NodeId x : nodes_)
    r += (x == l || two_way(l, x)) ? 1 : 0;
  return r >= majority_;
}

bool Replay::effective() const {
  if (latest_.node == kNoNode || latest_.stepped_down) return false;
  if (status_[index_of(latest_.node)] != NodeStatus::kUp) return false;
  if (!reaches_majority(latest_.node)) return false;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodeId x = nodes_[i];
    if (x == latest_.node || status_[i] != NodeStatus::kUp || !two_way(latest_.node, x)) continue;
    if (followed_[i] != latest_.term) return false;
  }
  return true;
}

// lagging_followers: the old leader held its last entries back from the `lag_` servers
// after it (in group order, cyclically); the survivors among them cannot win (Raft 5.4.1).
void Replay::note_eligibility() {
  const size_t n = nodes_.size();
  const size_t l = index_of(cur_.old_leader);
  for (size_t d = 1; d <= lag_ && d < n; ++d)
    cur_.lagging.push_back(nodes_[(l + d) % n]);
  cur_.survivors = cur_.eligible = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i == l || status_[i] != NodeStatus::kUp) continue;
    ++cur_.survivors;
    cur_.eligible += cur_.can_win(nodes_[i]) ? 1 : 0;
  }
}

void Replay::open_failover(SimTime at, const std::string& cause) {
  open_ = true;
  cur_ = Failover{};
  cur_.start = at;
  cur_.end = SimTime::max();
  cur_.elected = SimTime::max();
  cur_.cause = cause;
  cur_.old_leader = est_leader_;
  cur_.old_term = est_term_;
  if (lag_ > 0 && (cause == "crash" || cause == "pause")) note_eligibility();
}

void Replay::close_if_effective(SimTime at) {
  // Close (or first establish) when the latest leader is effective.
  if ((!open_ && ever_established_) || !effective()) return;
  if (open_) {
    cur_.end = at;
    cur_.new_leader = latest_.node;
    cur_.new_term = latest_.term;
    out_.failovers.push_back(cur_);
    open_ = false;
  }
  ever_established_ = true;
  est_leader_ = latest_.node;
  est_term_ = latest_.term;
}

void Replay::count_votes() {
  for (const auto& [term, who] : leaders_of_)
    out_.election_safety_violations += who.size() > 1 ? 1 : 0;
  for (const auto& [term, who] : candidates_) {
    if (who.size() >= 2 && !leaders_of_.count(term) && first_candidacy_[term] >= in_.warmup_end)
      ++out_.split_votes;
  }
}

// What one group's failovers add up to: those that began after the warm-up.
struct GroupStats {
  std::vector<double> leaderless;  // ms, sorted: the finished ones
  std::vector<double> elect;       // ms, sorted: those that elected a new leader
  std::map<std::string, uint64_t> by_cause;
  uint64_t unfinished = 0;
  std::map<std::string, uint64_t> lost_by_reason;
  uint64_t lost = 0;
  // lagging_followers: finished failovers whose survivors' eligibility is known, those whose
  // first candidate could win, and those won by a server that could not (always 0).
  uint64_t eligibility_known = 0;
  uint64_t first_candidate_eligible = 0;
  uint64_t ineligible_winners = 0;
};

void count_eligibility(GroupStats& st, const Failover& f) {
  if (f.survivors < 0) return;
  ++st.eligibility_known;
  st.first_candidate_eligible +=
      f.first_candidate != kNoNode && f.can_win(f.first_candidate) ? 1 : 0;
  st.ineligible_winners += f.new_leader != kNoNode && !f.can_win(f.new_leader) ? 1 : 0;
}

GroupStats stats_of(const ClusterTimeline& t, SimTime warmup_end) {
  GroupStats st;
  for (const auto& f : t.failovers) {
    if (f.start < warmup_end) continue;
    if (!f.finished()) {
      ++st.unfinished;
      continue;
    }
    ++st.by_cause[f.cause];
    count_eligibility(st, f);
    st.leaderless.push_back(to_ms(f.end - f.start));
    if (f.elected != SimTime::max()) st.elect.push_back(to_ms(f.elected - f.start));
  }
  for (const auto& l : t.lost) {
    if (l.at < warmup_end) continue;
    ++st.lost;
    ++st.lost_by_reason[l.reason];
  }
  std::sort(st.leaderless.begin(), st.leaderless.end());
  std::sort(st.elect.begin(), st.elect.end());
  return st;
}

std::string secs(SimTime t) {
  return fmt(t.to_seconds(), 6);
}

std::string node_label(const AnalysisInput& in, NodeId id) {
  return id == kNoNode ? std::string() : in.node_name(id);
}

// A row of failovers.csv.
std::string failover_row(const AnalysisInput& in, const std::string& group, const Failover& f) {
  const bool measured = f.start >= in.warmup_end;
  const bool elected = f.elected != SimTime::max();
  return group + "," + secs(f.start) + "," + (f.finished() ? secs(f.end) : "") + "," + f.cause +
         "," + node_label(in, f.old_leader) + "," + std::to_string(f.old_term) + "," +
         node_label(in, f.new_leader) + "," + (f.finished() ? std::to_string(f.new_term) : "") +
         "," + (elected ? fmt(to_ms(f.elected - f.start), 3) : "") + "," +
         (f.finished() ? fmt(to_ms(f.end - f.start), 3) : "") + "," + (measured ? "1" : "0") + "," +
         node_label(in, f.first_candidate) + "," +
         (f.survivors < 0 ? "," : std::to_string(f.survivors) + "," + std::to_string(f.eligible)) +
         "\n";
}

// A row of leaders.csv.
std::string leader_row(const AnalysisInput& in, const std::string& group, const LeaderSpan& s) {
  return group + "," + std::to_string(s.term) + "," + node_label(in, s.leader) + "," +
         secs(s.elected) + "," + secs(s.end) + "," + s.end_reason + "\n";
}

// The rows of leaderless.csv: a histogram of leaderless times with its CDF, in 5 ms
// buckets, non-empty ones only.
std::string histogram_rows(const std::string& group, const std::vector<double>& sorted) {
  constexpr double kBucketMs = 5;
  std::string csv;
  for (size_t i = 0; i < sorted.size();) {
    const double lo = std::floor(sorted[i] / kBucketMs) * kBucketMs;
    size_t j = i;
    while (j < sorted.size() && sorted[j] < lo + kBucketMs)
      ++j;
    csv += group + "," + fmt(lo, 0) + "," + fmt(lo + kBucketMs, 0) + "," + std::to_string(j - i) +
           "," + fmt(static_cast<double>(j) / static_cast<double>(sorted.size()), 6) + "\n";
    i = j;
  }
  return csv;
}

void add_row(AnalysisOutput& out, const std::string& group, const std::string& metric, double v) {
  out.rows.push_back({group, "", metric, v});
}

constexpr const char* kPercentileNames[] = {"p50", "p90", "p99", "p999"};
constexpr double kPercentiles[] = {0.5, 0.9, 0.99, 0.999};
constexpr const char* kCauses[] = {"crash", "pause", "isolation", "step_down", "election"};
constexpr const char* kDistributions[] = {"leaderless", "time_to_elect"};
constexpr const char* kLostReasons[] = {"no_target", "during_failover"};

// prefix_count, then (when there are any) percentiles, max and mean of sorted values.
void add_distribution_rows(AnalysisOutput& out, const std::string& group, const std::string& prefix,
                           const std::vector<double>& v) {
  add_row(out, group, prefix + "_count", static_cast<double>(v.size()));
  if (v.empty()) return;
  for (size_t k = 0; k < std::size(kPercentiles); ++k)
    add_row(out, group, prefix + "_ms_" + kPercentileNames[k], percentile(v, kPercentiles[k]));
  add_row(out, group, prefix + "_ms_max", v.back());
  double sum = 0;
  for (double x : v)
    sum += x;
  add_row(out, group, prefix + "_ms_mean", sum / static_cast<double>(v.size()));
}

void add_summary_rows(AnalysisOutput& out, const std::string& group, const ClusterTimeline& t,
                      const GroupStats& st) {
  add_row(out, group, "failovers", static_cast<double>(st.leaderless.size()));
  for (const char* cause : kCauses) {
    const auto it = st.by_cause.find(cause);
    add_row(out, group, std::string("failovers_") + cause,
            static_cast<double>(it == st.by_cause.end() ? 0 : it->second));
  }
  add_row(out, group, "failovers_unfinished", static_cast<double>(st.unfinished));
  add_row(out, group, "failover_trials_lost", static_cast<double>(st.lost));
  for (const char* reason : kLostReasons) {
    const auto it = st.lost_by_reason.find(reason);
    add_row(out, group, std::string("failover_trials_lost_") + reason,
            static_cast<double>(it == st.lost_by_reason.end() ? 0 : it->second));
  }
  add_distribution_rows(out, group, kDistributions[0], st.leaderless);
  add_distribution_rows(out, group, kDistributions[1], st.elect);
  if (st.eligibility_known > 0) {
    add_row(out, group, "failovers_eligibility_known", static_cast<double>(st.eligibility_known));
    add_row(out, group, "first_candidate_eligible",
            static_cast<double>(st.first_candidate_eligible));
    add_row(out, group, "ineligible_winners", static_cast<double>(st.ineligible_winners));
  }
  add_row(out, group, "split_votes", static_cast<double>(t.split_votes));
  add_row(out, group, "max_term", static_cast<double>(t.max_term));
  add_row(out, group, "election_safety_violations",
          static_cast<double>(t.election_safety_violations));
}

// The terminal line of a group with failovers.
std::string summary_text(const std::string& group, const ClusterTimeline& t, const GroupStats& st) {
  const auto& v = st.leaderless;
  return "  " + group + ": " + std::to_string(v.size()) + " failovers, leaderless ms p50 " +
         fmt(percentile(v, 0.5), 1) + " p90 " + fmt(percentile(v, 0.9), 1) + " p99 " +
         fmt(percentile(v, 0.99), 1) + " max " + fmt(v.back(), 1) +
         (st.unfinished ? "; " + std::to_string(st.unfinished) + " unfinished" : "") +
         (st.lost ? "; " + std::to_string(st.lost) + " trials lost (lost_trials.csv)" : "") +
         "; split votes " + std::to_string(t.split_votes) + " (failovers.csv, " +
         "leaderless.csv, leaders.csv)\n";
}

}  // namespace

void declare_analysis(MetricDecls& d) {
  for (const char* f :
       {"failovers", "failovers_unfinished", "split_votes", "max_term",
        "election_safety_violations", "failover_trials_lost", "failovers_eligibility_known",
        "first_candidate_eligible", "ineligible_winners"})
    d.figure(f);
  for (const char* reason : kLostReasons)
    d.figure(std::string("failover_trials_lost_") + reason);
  for (const char* cause : kCauses)
    d.figure(std::string("failovers_") + cause);
  for (const char* prefix : kDistributions) {
    d.figure(std::string(prefix) + "_count");
    for (const char* p : kPercentileNames)
      d.figure(std::string(prefix) + "_ms_" + p);
    d.figure(std::string(prefix) + "_ms_max");
    d.figure(std::string(prefix) + "_ms_mean");
  }
}

ClusterTimeline analyze_cluster(const AnalysisInput& in, const AnalysisInput::Group& group) {
  return Replay(in, group).run();
}

AnalysisOutput RaftNode::analyze(const AnalysisInput& in) {
  AnalysisOutput out;
  std::string failovers_csv =
      "group,start_s,end_s,cause,old_leader,old_term,new_leader,new_term,time_to_elect_ms,"
      "leaderless_ms,measured,first_candidate,survivors,eligible\n";
  std::string hist_csv = "group,bucket_lo_ms,bucket_hi_ms,count,cdf\n";
  std::string leaders_csv = "group,term,leader,elected_s,end_s,end_reason\n";
  std::string lost_csv = "group,at_s,fault,reason,measured\n";
  for (const auto& g : in.groups) {
    const ClusterTimeline t = analyze_cluster(in, g);
    for (const auto& f : t.failovers)
      failovers_csv += failover_row(in, g.name, f);
    for (const auto& s : t.leaders)
      leaders_csv += leader_row(in, g.name, s);
    for (const auto& l : t.lost)
      lost_csv += g.name + "," + secs(l.at) + "," + l.fault + "," + l.reason + "," +
                  (l.at >= in.warmup_end ? "1" : "0") + "\n";
    const GroupStats st = stats_of(t, in.warmup_end);
    hist_csv += histogram_rows(g.name, st.leaderless);
    add_summary_rows(out, g.name, t, st);
    if (!st.leaderless.empty()) {
      out.text += summary_text(g.name, t, st);
    } else if (st.lost) {
      out.text += "  " + g.name + ": no failover measured; " + std::to_string(st.lost) +
                  " trials lost (lost_trials.csv)\n";
    }
    if (in.marks_truncated) {
      out.text += "  " + g.name + ": the mark store filled up; later failovers are missing\n";
    }
  }
  out.files.emplace_back("failovers.csv", std::move(failovers_csv));
  out.files.emplace_back("leaderless.csv", std::move(hist_csv));
  out.files.emplace_back("leaders.csv", std::move(leaders_csv));
  out.files.emplace_back("lost_trials.csv", std::move(lost_csv));
  return out;
}

}  // namespace dsim::raft
