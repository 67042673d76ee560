// txn_participant's analysis after a run: atomicity across every node that took part in a
// transaction, and how long participants were in doubt.
//
// From the marks: a coordinator's decision (`txn_decide`), each participant's outcome
// (`txn_apply`: committed or aborted there, in doubt or on its own before voting), and the
// client's commit (`txn_client_committed`). A transaction with a commit and an abort among
// them violates atomicity. Each participant's `txn_prepared` (it voted yes) to its
// `txn_apply` is a time in doubt; one with no outcome at the end was blocked then.
// `txn_delays` is how many message delays after the commit began a participant in doubt
// heard the decision (Prepare::delays; failure-free, 2PC 3, 3PC 5, Paxos Commit 4: Gray
// and Lamport's counts without the request that begins the commit); a transaction's is the
// most of its participants'.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "models/kit/samples.h"
#include "models/txn/participant.h"

namespace dsim::txn {

namespace {

using kit::nearest_rank;
using kit::three_decimals;

}  // namespace

AnalysisOutput TxnParticipant::analyze(const AnalysisInput& in) {
  // Each participant node's group (its index in in.groups), kNone for other nodes.
  constexpr uint32_t kNone = 0xffffffffu;
  std::vector<uint32_t> group_of(in.node_count, kNone);
  for (uint32_t g = 0; g < in.groups.size(); ++g)
    for (NodeId n : in.groups[g].nodes)
      group_of[n] = g;
  struct Txn {
    uint8_t outcomes = 0;          // bit 0: aborted somewhere, bit 1: committed somewhere
    std::vector<uint32_t> groups;  // the participant groups that took part
  };
  std::map<uint64_t, Txn> txns;
  struct Group {
    std::map<std::pair<NodeId, uint64_t>, SimTime> prepared;  // in doubt now
    std::vector<double> doubt_ms;
    std::vector<std::pair<SimTime, int>> changes;  // +1 prepared, -1 decided, in time order
    std::map<uint64_t, int64_t> delays;            // by transaction: the most heard
  };
  std::vector<Group> groups(in.groups.size());
  for (const TimelineMark& m : in.marks) {
    const std::string_view kind = in.symbol_name(m.kind);
    const auto id = static_cast<uint64_t>(m.a);
    if (kind == "txn_delays") {
      const uint32_t g = m.node < group_of.size() ? group_of[m.node] : kNone;
      if (g == kNone) continue;
      int64_t& d = groups[g].delays[id];
      d = std::max(d, m.b);
      continue;
    }
    const bool decision =
        kind == "txn_decide" || kind == "txn_client_committed" || kind == "txn_apply";
    if (!decision && kind != "txn_prepared") continue;
    Txn& t = txns[id];
    if (decision) t.outcomes |= m.b != 0 ? 2 : 1;
    const uint32_t g = m.node < group_of.size() ? group_of[m.node] : kNone;
    if (g == kNone) continue;
    if (std::find(t.groups.begin(), t.groups.end(), g) == t.groups.end()) t.groups.push_back(g);
    Group& gr = groups[g];
    if (kind == "txn_prepared") {
      gr.prepared[{m.node, id}] = m.at;
      gr.changes.emplace_back(m.at, 1);
    } else if (kind == "txn_apply") {
      const auto p = gr.prepared.find({m.node, id});
      if (p == gr.prepared.end()) continue;  // aborted before it voted
      gr.doubt_ms.push_back(static_cast<double>((m.at - p->second).ns()) / 1e6);
      gr.prepared.erase(p);
      gr.changes.emplace_back(m.at, -1);
    }
  }
  std::vector<int64_t> violations(in.groups.size(), 0), decided(in.groups.size(), 0);
  std::vector<std::string> examples(in.groups.size());
  for (const auto& [id, t] : txns) {
    for (uint32_t g : t.groups) {
      ++decided[g];
      if (t.outcomes != 3) continue;
      if (++violations[g] <= 3)
        examples[g] += (examples[g].empty() ? "" : ", ") + std::to_string(id);
    }
  }
  AnalysisOutput out;
  std::string csv = "group,second,in_doubt_max,prepared\n";
  for (uint32_t g = 0; g < in.groups.size(); ++g) {
    const std::string& name = in.groups[g].name;
    const Group& gr = groups[g];
    out.rows.push_back({name, "", "atomicity_violations", static_cast<double>(violations[g])});
    out.rows.push_back({name, "", "txns_decided", static_cast<double>(decided[g])});
    out.rows.push_back({name, "", "in_doubt_ms_p50", nearest_rank(gr.doubt_ms, 0.5)});
    out.rows.push_back({name, "", "in_doubt_ms_p99", nearest_rank(gr.doubt_ms, 0.99)});
    out.rows.push_back({name, "", "in_doubt_ms_max", nearest_rank(gr.doubt_ms, 1.0)});
    out.rows.push_back({name, "", "blocked_at_end", static_cast<double>(gr.prepared.size())});
    double delays_sum = 0, delays_max = 0;
    for (const auto& [id, d] : gr.delays) {
      delays_sum += static_cast<double>(d);
      delays_max = std::max(delays_max, static_cast<double>(d));
    }
    out.rows.push_back(
        {name, "", "message_delays_mean",
         gr.delays.empty() ? 0 : delays_sum / static_cast<double>(gr.delays.size())});
    out.rows.push_back({name, "", "message_delays_max", delays_max});
    // Participants in doubt per second of the run: the most at once, and the yes votes.
    int64_t level = 0;
    size_t next = 0;
    const int64_t seconds = in.end.ns() / 1'000'000'000;
    for (int64_t s = 0; s <= seconds; ++s) {
      int64_t peak = level, votes = 0;
      while (next < gr.changes.size() && gr.changes[next].first.ns() / 1'000'000'000 <= s) {
        level += gr.changes[next].second;
        votes += gr.changes[next].second > 0 ? 1 : 0;
        peak = std::max(peak, level);
        ++next;
      }
      csv += name + ',' + std::to_string(s) + ',' + std::to_string(peak) + ',' +
             std::to_string(votes) + '\n';
    }
    out.text += name + " atomicity: " +
                (violations[g] == 0
                     ? std::string("every transaction decided one way everywhere")
                     : std::to_string(violations[g]) +
                           " transactions both committed and aborted (e.g. " + examples[g] + ")") +
                "; in doubt p99 " + three_decimals(nearest_rank(gr.doubt_ms, 0.99)) + " ms, max " +
                three_decimals(nearest_rank(gr.doubt_ms, 1.0)) + " ms, " +
                std::to_string(gr.prepared.size()) + " still in doubt at the end\n";
  }
  out.files.emplace_back("txn_in_doubt.csv", std::move(csv));
  return out;
}

}  // namespace dsim::txn
