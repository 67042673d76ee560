// Paxos Commit's messages (Gray and Lamport, "Consensus on Transaction Commit", TODS 2006,
// section 4): one Paxos instance per participant decides whether that participant is
// prepared or aborted. The participant proposes its own value at ballot 0 straight to the
// acceptors (phase 2a); each acceptor that accepts tells the leader (phase 2b); the leader
// commits when every instance has chosen "prepared" (accepted by F + 1 acceptors at one
// ballot) and aborts when one has chosen "aborted". A coordinator that takes over runs
// phase 1 at a higher ballot for every instance of the transaction, then phase 2 with the
// value accepted at the highest ballot it heard of, or "aborted" where none was.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/ids.h"

namespace dsim::txn {

/// Participant (ballot 0) or leader (ballot > 0) -> acceptor: accept this value for the
/// instance of participant `instance`.
struct Phase2a {
  static constexpr std::string_view kName = "txn_phase2a";
  uint64_t txn = 0;
  NodeId instance = kNoNode;
  NodeId leader = kNoNode;  ///< where the acceptor sends its phase 2b
  uint64_t ballot = 0;
  bool prepared = false;
  uint32_t delays = 0;  ///< as Prepare's (messages.h)
  std::string describe() const;
};

/// Acceptor -> leader: accepted.
struct Phase2b {
  static constexpr std::string_view kName = "txn_phase2b";
  uint64_t txn = 0;
  NodeId instance = kNoNode;
  uint64_t ballot = 0;
  bool prepared = false;
  uint32_t delays = 0;  ///< as Prepare's (messages.h)
  std::string describe() const;
};

/// New leader -> acceptor: promise ballot `ballot` for these instances.
struct Phase1a {
  static constexpr std::string_view kName = "txn_phase1a";
  uint64_t txn = 0;
  uint64_t ballot = 0;
  std::vector<NodeId> instances;
  uint32_t size_bytes() const { return static_cast<uint32_t>(24 + instances.size() * 4); }
  std::string describe() const;
};

/// Acceptor -> new leader: promised (or not, when it had promised a higher ballot), with
/// what it accepted of each instance.
struct Phase1b {
  static constexpr std::string_view kName = "txn_phase1b";
  struct Accepted {
    NodeId instance = kNoNode;
    bool any = false;  ///< it accepted a value of this instance
    uint64_t ballot = 0;
    bool prepared = false;
  };
  uint64_t txn = 0;
  uint64_t ballot = 0;
  bool promised = true;
  std::vector<Accepted> accepted;
  uint32_t size_bytes() const { return static_cast<uint32_t>(24 + accepted.size() * 16); }
  std::string describe() const;
};

}  // namespace dsim::txn
