#include "models/raft/config.h"

#include <cmath>

#include "models/kit/quorum.h"
#include "sim/core/units.h"

namespace dsim::raft {

std::string_view read_mode_name(ReadMode m) {
  switch (m) {
    case ReadMode::kLog:
      return "log";
    case ReadMode::kReadIndex:
      return "read_index";
    case ReadMode::kLease:
      return "lease";
  }
  return "?";
}

Duration RaftConfig::election_timeout_min() const {
  const double lo = election_timeout.min_value();
  return Duration::from_ns(std::isfinite(lo) && lo > 0 ? std::llround(lo) : 0);
}

namespace {

// Unequal logs: how many followers the leader keeps behind, and by how many entries; at
// most as many as the cluster can lose with a majority left to commit without them.
void read_lag(ParamReader& r, RaftConfig& c) {
  c.lagging_followers = r.integer(
      "lagging_followers", c.lagging_followers,
      "experiments: the leader holds back its last lag_entries entries from this many of its "
      "followers (the next ones in group order), so they cannot win the election after it "
      "crashes (0: none)",
      0);
  if (c.lagging_followers == 0 && !r.has("lag_entries")) return;
  c.lag_entries = r.integer("lag_entries", c.lag_entries,
                            "entries the lagging followers are kept behind the leader's log", 1);
  const int64_t n = r.env().group_count;
  if (n > 0 && c.lagging_followers > n - static_cast<int64_t>(kit::majority(uint32_t(n)))) {
    r.error("lagging_followers",
            "at most " + std::to_string(n - kit::majority(uint32_t(n))) + " of " +
                std::to_string(n) +
                " servers can lag: the leader needs a majority without them to commit");
  }
}

}  // namespace

RaftConfig RaftConfig::parse(ParamReader& r) {
  RaftConfig c;
  c.election_timeout = r.distribution(
      "election_timeout", c.election_timeout,
      "Raft 5.2: time without hearing from a leader before starting an election, drawn anew "
      "each time (the paper: uniform(150ms, 300ms))");
  c.heartbeat =
      r.duration("heartbeat", c.heartbeat, "Raft 5.2: the leader's heartbeat interval", ms(0));
  c.pre_vote = r.boolean("pre_vote", c.pre_vote,
                         "thesis 9.6: ask for pre-votes before starting an election, so a "
                         "server that cannot win never disrupts the cluster with a new term");
  c.check_quorum =
      r.boolean("check_quorum", c.check_quorum,
                "thesis 6.2: a leader steps down after an election timeout without hearing from a "
                "majority; followers ignore vote requests within the minimum election timeout of "
                "hearing from a leader (thesis 4.2.3)");
  c.read_mode = r.choice(
      "read_mode", c.read_mode,
      {{"log", ReadMode::kLog}, {"read_index", ReadMode::kReadIndex}, {"lease", ReadMode::kLease}},
      "thesis 6.4: how the leader serves a get: through the log, by ReadIndex (a heartbeat "
      "round), or under a leader lease (no round; relies on bounded clock drift)");
  c.clock_drift_bound = r.number("clock_drift_bound", c.clock_drift_bound,
                                 "thesis 6.4.1: a lease lasts election_timeout_min / this from "
                                 "the start of a heartbeat round a majority acknowledged",
                                 1.0, 100.0);
  c.max_batch_entries = r.integer("max_batch_entries", c.max_batch_entries,
                                  "batching: entries per AppendEntries at most", 1, 1'000'000);
  c.max_batch_bytes = r.size("max_batch_bytes", c.max_batch_bytes,
                             "batching: bytes of entries per AppendEntries at most (one entry "
                             "is always sent)");
  c.batch_delay = r.duration("batch_delay", c.batch_delay,
                             "batching: how long the leader gathers client writes before "
                             "replicating them (0: at once)");
  c.pipeline = r.boolean("pipeline", c.pipeline,
                         "pipelining: send AppendEntries without waiting for the previous "
                         "reply (false: one at a time per follower)");
  c.max_inflight =
      r.integer("max_inflight", c.max_inflight,
                "pipelining: AppendEntries with entries in flight per follower", 1, 1'000'000);
  c.snapshot_threshold = r.integer(
      "snapshot_threshold", c.snapshot_threshold,
      "Raft 7: take a snapshot after this many entries applied since the last (0: never)", 0);
  c.snapshot_keep = r.integer("snapshot_keep", c.snapshot_keep,
                              "entries kept in the log behind a snapshot, for slow followers", 0);
  c.snapshot_chunk = r.size("snapshot_chunk", c.snapshot_chunk,
                            "Raft 7 (Figure 13): bytes of snapshot per InstallSnapshot");
  c.max_pending = r.integer("max_pending", c.max_pending,
                            "client requests the leader holds at once; more are answered "
                            "unavailable",
                            1);
  read_lag(r, c);
  kv::read_state_machine_params(r, c.state);
  c.validate(r);
  return c;
}

void RaftConfig::validate(ParamReader& r) const {
  if (r.doc_mode()) return;
  const Duration lo = election_timeout_min();
  if (lo <= Duration::zero()) {
    r.error("election_timeout",
            "the election timeout must be > 0 at its smallest (e.g. uniform(150ms, 300ms))");
    return;
  }
  if (heartbeat <= Duration::zero()) r.error("heartbeat", "must be > 0");
  if (heartbeat >= lo) {
    r.error("heartbeat", "the heartbeat (" + format_duration(heartbeat) +
                             ") must be shorter than the smallest election timeout (" +
                             format_duration(lo) + "), or followers start elections (Raft 5.6)");
  }
  if (read_mode == ReadMode::kLease && !check_quorum) {
    r.error("read_mode",
            "lease reads need check_quorum: true (thesis 6.4.1: followers must refuse votes "
            "while a leader's lease may hold, and a leader must step down without a majority)");
  }
  if (snapshot_chunk == 0) r.error("snapshot_chunk", "must be > 0");
  if (max_batch_bytes == 0) r.error("max_batch_bytes", "must be > 0");
  if (snapshot_threshold > 0 && snapshot_keep >= snapshot_threshold) {
    r.error("snapshot_keep", "must be below snapshot_threshold (" +
                                 std::to_string(snapshot_threshold) +
                                 "), or compaction never frees an entry");
  }
}

}  // namespace dsim::raft
