// Cluster-wide Raft invariants (Raft paper Figure 3), checked by looking at every server
// of a running engine (Engine::model(id) + dynamic_cast), e.g. from control events every
// few milliseconds of simulated time:
//   - election safety: at most one leader per term, ever;
//   - leader append-only: within its term, a leader never deletes or overwrites entries;
//   - log matching: two logs with an entry of the same index and term agree on every
//     entry up to it;
//   - leader completeness: a leader holds every entry committed in earlier terms;
//   - state machine safety: no two servers commit (so apply) different entries at one
//     index, and servers that applied the same prefix hold the same state.
// Plus the liveness check of the end of a healed run: one leader, every live log the same,
// everything committed and applied.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/raft/node.h"
#include "sim/core/engine.h"

namespace dsim::testing {

class RaftClusterChecker {
 public:
  using Servers = std::function<std::vector<const raft::RaftNode*>()>;
  /// Checks the servers `live` returns each time (e.g. built without an engine).
  explicit RaftClusterChecker(Servers live) : live_(std::move(live)) {}
  /// Checks the live servers of an engine's group.
  RaftClusterChecker(Engine& engine, const std::string& group) {
    std::vector<NodeId> nodes;
    if (const GroupInfo* g = engine.find_group(group)) nodes = g->nodes;
    live_ = [&engine, nodes] {
      std::vector<const raft::RaftNode*> out;
      for (NodeId id : nodes) {
        if (engine.status(id) == NodeStatus::kDown) continue;
        if (const auto* r = dynamic_cast<const raft::RaftNode*>(engine.model(id))) out.push_back(r);
      }
      return out;
    };
  }

  /// The live servers now.
  std::vector<const raft::RaftNode*> live() const { return live_(); }

  void check() {
    ++checks_;
    const auto nodes = live();
    views_.clear();
    for (const auto* n : nodes) {
      View v;
      v.node = n;
      v.base = n->log().base_index();
      for (uint64_t i = v.base + 1; i <= n->log().last_index(); ++i) {
        v.terms.push_back(n->log().at(i).term);
        v.digests.push_back(n->log().at(i).digest());
      }
      views_.push_back(std::move(v));
    }
    for (const auto& v : views_) {
      if (v.node->raft_role() == raft::Role::kLeader) check_leader(v);
      check_committed(v);
    }
    for (size_t a = 0; a < views_.size(); ++a) {
      for (size_t b = a + 1; b < views_.size(); ++b)
        check_log_matching(views_[a], views_[b]);
    }
    // State machine safety: equal applied prefixes, equal states.
    for (const auto* n : nodes) {
      const uint64_t d = n->state().digest();
      auto [it, fresh] = applied_digest_.emplace(n->last_applied(), d);
      if (!fresh && it->second != d) {
        fail("state machine safety: two servers applied up to " +
             std::to_string(n->last_applied()) + " and hold different states");
      }
    }
  }

  /// After healing: one leader of the highest term among live servers, and every live
  /// server holding the same log, all of it committed and applied.
  void check_converged() {
    const auto nodes = live();
    const raft::RaftNode* leader = nullptr;
    uint64_t max_term = 0;
    for (const auto* n : nodes)
      max_term = std::max(max_term, n->term());
    for (const auto* n : nodes) {
      if (n->raft_role() == raft::Role::kLeader && n->term() == max_term) {
        if (leader) fail("two leaders of term " + std::to_string(max_term) + " at the end");
        leader = n;
      }
    }
    if (!leader) {
      fail("no leader at the end (highest term " + std::to_string(max_term) + ")");
      return;
    }
    for (const auto* n : nodes) {
      const std::string who = "server " + std::to_string(n->self());
      if (n->term() != leader->term()) fail(who + " is in another term than the leader");
      if (n->log().last_index() != leader->log().last_index() ||
          n->log().last_term() != leader->log().last_term()) {
        fail(who + "'s log ends at " + std::to_string(n->log().last_index()) +
             ", the leader's at " + std::to_string(leader->log().last_index()));
      }
      if (n->commit_index() != leader->log().last_index())
        fail(who + " has not committed the whole log");
      if (n->last_applied() != n->commit_index()) fail(who + " has not applied what it committed");
      if (n->state().digest() != leader->state().digest())
        fail(who + "'s state differs from the leader's");
    }
  }

  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t checks() const { return checks_; }
  size_t committed_entries() const { return committed_.size(); }
  uint64_t leaders_seen() const { return leader_of_term_.size(); }

 private:
  void fail(std::string what) {
    if (violations_.size() < 20) violations_.push_back(std::move(what));
  }

  // One server's log as seen at a check: entries base+1 .. base+terms.size().
  struct View {
    const raft::RaftNode* node = nullptr;
    uint64_t base = 0;
    std::vector<uint64_t> terms;
    std::vector<uint64_t> digests;
    uint64_t last() const { return base + terms.size(); }
    uint64_t digest(uint64_t i) const { return digests[i - base - 1]; }
    uint64_t term(uint64_t i) const { return terms[i - base - 1]; }
  };

  void check_leader(const View& v) {
    const raft::RaftNode& l = *v.node;
    // Election safety.
    auto [it, fresh] = leader_of_term_.emplace(l.term(), l.self());
    if (!fresh && it->second != l.self()) {
      fail("election safety: servers " + std::to_string(it->second) + " and " +
           std::to_string(l.self()) + " both led term " + std::to_string(l.term()));
    }
    // Leader append-only: what it held earlier in its term is still there, unchanged.
    auto& seen = leader_logs_[l.term()];
    if (seen.node == l.self() && !seen.digests.empty()) {
      const uint64_t seen_last = seen.base + seen.digests.size();
      if (v.last() < seen_last) fail("leader append-only: the leader's log shrank");
      for (uint64_t i = std::max(seen.base, v.base) + 1; i <= std::min(seen_last, v.last()); ++i) {
        if (v.digest(i) != seen.digests[i - seen.base - 1]) {
          fail("leader append-only: entry " + std::to_string(i) + " of the leader changed");
          break;
        }
      }
    }
    seen.node = l.self();
    seen.base = v.base;
    seen.digests = v.digests;
    // Leader completeness (Raft 5.4): an entry committed in term T is in the log of every
    // leader of a later term. An entry is committed in its leader's term, which may be
    // later than its own (an old entry committed by a newer leader), and at the latest
    // in the term the first server seen to have committed it was in; so only leaders of
    // terms after that one are held to it.
    for (auto ci = committed_.upper_bound(v.base); ci != committed_.end(); ++ci) {
      const auto& [i, c] = *ci;
      if (c.seen_term >= l.term()) continue;
      if (i > v.last() || v.digest(i) != c.digest) {
        fail("leader completeness: the leader of term " + std::to_string(l.term()) +
             " lacks committed entry " + std::to_string(i));
        break;
      }
    }
  }

  void check_committed(const View& v) {
    const raft::RaftNode& n = *v.node;
    for (uint64_t i = std::max(v.base + 1, watermark(n)); i <= n.commit_index(); ++i) {
      auto [it, fresh] = committed_.emplace(i, Committed{v.term(i), v.digest(i), n.term()});
      if (!fresh && it->second.digest != v.digest(i)) {
        fail("state machine safety: servers committed different entries at " + std::to_string(i));
        return;
      }
    }
    watermarks_[n.self()] = n.commit_index() + 1;
  }
  uint64_t watermark(const raft::RaftNode& n) {
    // Entries a server committed were checked once; a restarted server is checked anew.
    auto it = watermarks_.find(n.self());
    if (it == watermarks_.end() || it->second > n.commit_index() + 1) return 0;
    return it->second;
  }

  void check_log_matching(const View& a, const View& b) {
    const uint64_t lo = std::max(a.base, b.base) + 1;
    const uint64_t hi = std::min(a.last(), b.last());
    // The highest common index where the terms agree: everything up to it must agree.
    uint64_t top = 0;
    for (uint64_t i = hi; i >= lo && i > 0; --i) {
      if (a.term(i) == b.term(i)) {
        top = i;
        break;
      }
    }
    for (uint64_t i = lo; i <= top; ++i) {
      if (a.digest(i) != b.digest(i)) {
        fail("log matching: servers " + std::to_string(a.node->self()) + " and " +
             std::to_string(b.node->self()) + " agree on the term at " + std::to_string(top) +
             " but differ at " + std::to_string(i));
        return;
      }
    }
  }

  struct Committed {
    uint64_t term;  ///< the entry's own term
    uint64_t digest;
    uint64_t seen_term;  ///< the current term of the first server seen to have committed it
  };
  struct LeaderLog {
    NodeId node = kNoNode;
    uint64_t base = 0;
    std::vector<uint64_t> digests;
  };
  Servers live_;
  std::map<uint64_t, NodeId> leader_of_term_;
  std::map<uint64_t, LeaderLog> leader_logs_;
  std::map<uint64_t, Committed> committed_;
  std::map<NodeId, uint64_t> watermarks_;
  std::map<uint64_t, uint64_t> applied_digest_;
  std::vector<std::string> violations_;
  std::vector<View> views_;
  uint64_t checks_ = 0;
};

}  // namespace dsim::testing
