// The Raft model's parameters: every default written here, parsed from a group's params,
// with the cross-field rules in validate().
#pragma once

#include <cstdint>
#include <string>

#include "models/kv/state_machine.h"
#include "sim/core/distribution.h"
#include "sim/core/params.h"
#include "sim/core/time.h"

namespace dsim::raft {

/// How the leader serves a get (thesis 6.4).
enum class ReadMode : uint8_t {
  kLog,        ///< append it to the log like a write; answer when applied
  kReadIndex,  ///< ReadIndex: confirm leadership with a heartbeat round, then read
  kLease,      ///< leader lease: read at once while the lease holds (bounded clock drift)
};

struct RaftConfig {
  /// Raft 5.2: a follower that hears from no leader for a draw of this starts an
  /// election; the paper recommends uniform(150ms, 300ms) (9.3).
  Distribution election_timeout =
      Distribution::uniform(150e6, 300e6).with_dim(Distribution::Dim::kTime);
  /// Raft 5.2: the leader's heartbeat interval (AppendEntries without entries).
  Duration heartbeat = ms(50);
  /// Thesis 9.6: a candidate first asks whether it could win (without changing terms).
  bool pre_vote = false;
  /// Thesis 6.2: a leader that has not heard from a majority within an election timeout
  /// steps down; followers that heard from a leader within the minimum election timeout
  /// ignore vote requests (thesis 4.2.3).
  bool check_quorum = false;
  ReadMode read_mode = ReadMode::kReadIndex;
  /// Thesis 6.4.1: the lease lasts election_timeout_min / clock_drift_bound from the start
  /// of a heartbeat round a majority acknowledged.
  double clock_drift_bound = 1.1;
  /// Batching: entries per AppendEntries at most, and bytes of entries at most.
  int64_t max_batch_entries = 64;
  uint64_t max_batch_bytes = uint64_t{1} << 20;
  /// Batching: how long the leader gathers client writes before replicating them (0: at
  /// once).
  Duration batch_delay = Duration::zero();
  /// Pipelining: AppendEntries sent to a follower without waiting for the previous reply
  /// (false: one at a time).
  bool pipeline = true;
  int64_t max_inflight = 16;
  /// Log compaction (Raft 7): snapshot once this many entries were applied since the last
  /// snapshot (0: never); keep this many entries behind the snapshot for slow followers.
  int64_t snapshot_threshold = 1000;
  int64_t snapshot_keep = 100;
  uint64_t snapshot_chunk = uint64_t{1} << 20;
  /// Servers with unequal logs (an experiment's knob, not part of Raft): the leader holds
  /// back its last `lag_entries` entries from `lagging_followers` of its followers (those
  /// after it in the group's order, cyclically), so when it crashes they cannot win an
  /// election (Raft 5.4.1) while the others can. 0: none lag.
  int64_t lagging_followers = 0;
  int64_t lag_entries = 1;
  /// Client requests (writes and reads) the leader holds at once; more are refused.
  int64_t max_pending = 10000;
  kv::KvStateMachine::Config state;

  /// The smallest election timeout (the distribution's infimum).
  Duration election_timeout_min() const;
  /// Reads every key; reports bad values and broken cross-field rules through `r`.
  static RaftConfig parse(ParamReader& r);
  /// The cross-field rules; each broken one is reported at its key.
  void validate(ParamReader& r) const;
};

std::string_view read_mode_name(ReadMode m);

}  // namespace dsim::raft
