// The quorum store's messages between its nodes. Each leg of an operation is its own
// kind, so `network.message_delay` can give each one its own extra delay (replaying the
// legs of a measured latency profile): clients speak the kv contract (`kv_request`,
// `kv_response`); a non-coordinator forwards a request (`quorum_forward`, acknowledged by
// `quorum_forward_ack`); the
// coordinator writes and reads replicas (`quorum_write` / `quorum_write_ack`,
// `quorum_read` / `quorum_read_reply`); read repair (`quorum_repair`, and
// `quorum_repair_ack` when the read waits for it), hinted handoff (`quorum_handoff` /
// `quorum_handoff_ack`), membership transfers (`quorum_transfer` / `quorum_transfer_ack`)
// and anti-entropy (`merkle_hashes`, `merkle_diff`, `merkle_sync`, `merkle_sync_reply`)
// each have theirs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/kv/contract.h"
#include "models/quorum/versions.h"
#include "sim/core/ids.h"

namespace dsim::quorum {

/// Bytes of a message's fixed fields (ids, key, flags): a fixed estimate.
inline constexpr uint32_t kHeaderBytes = 24;

/// A client request handed on to the node that coordinates it (server-side coordination).
struct QuorumForward {
  static constexpr std::string_view kName = "quorum_forward";
  uint64_t id = 0;  ///< the forwarder's, echoed by QuorumForwardAck
  NodeId client = kNoNode;
  kv::KvRequest req;
  std::vector<uint64_t> context;  ///< the client's causal context, if it sent one
  bool has_context = false;

  uint32_t size_bytes() const {
    return 16 + req.size_bytes() + static_cast<uint32_t>(context.size() * 8);
  }
  std::string describe() const { return "forward " + req.describe(); }
};

/// "Got it": the coordinator took over a forwarded request. A forwarder that hears nothing
/// within replica_timeout suspects the coordinator and tries another.
struct QuorumForwardAck {
  static constexpr std::string_view kName = "quorum_forward_ack";
  uint64_t id = 0;

  uint32_t size_bytes() const { return kHeaderBytes; }
  std::string describe() const { return "forward ack #" + std::to_string(id); }
};

/// The coordinator's write to one replica: the key's versions after the write (the new
/// one and any siblings it does not supersede). `hint` names the node the replica stands
/// in for (sloppy quorum), or kNoNode.
struct QuorumWrite {
  static constexpr std::string_view kName = "quorum_write";
  uint64_t op = 0;
  uint64_t key = 0;
  Siblings versions;
  NodeId hint = kNoNode;

  uint32_t size_bytes() const { return kHeaderBytes + bytes_of(versions); }
  std::string describe() const {
    std::string s = "write #" + std::to_string(op) + " key " + std::to_string(key) + " (" +
                    std::to_string(versions.size()) + " versions)";
    if (hint != kNoNode) s += " for node " + std::to_string(hint);
    return s;
  }
};

struct QuorumWriteAck {
  static constexpr std::string_view kName = "quorum_write_ack";
  uint64_t op = 0;
  bool stored = true;  ///< false: the replica's disk refused it

  uint32_t size_bytes() const { return kHeaderBytes; }
  std::string describe() const {
    return "write ack #" + std::to_string(op) + (stored ? "" : " (not stored)");
  }
};

struct QuorumRead {
  static constexpr std::string_view kName = "quorum_read";
  uint64_t op = 0;
  uint64_t key = 0;

  uint32_t size_bytes() const { return kHeaderBytes; }
  std::string describe() const {
    return "read #" + std::to_string(op) + " key " + std::to_string(key);
  }
};

struct QuorumReadReply {
  static constexpr std::string_view kName = "quorum_read_reply";
  uint64_t op = 0;
  uint64_t key = 0;
  Siblings versions;

  uint32_t size_bytes() const { return kHeaderBytes + bytes_of(versions); }
  std::string describe() const {
    return "read reply #" + std::to_string(op) + " key " + std::to_string(key) + " (" +
           std::to_string(versions.size()) + " versions)";
  }
};

/// Read repair: the merged versions a read found, to a replica that answered with less.
/// With `op` != 0 (synchronous repair) the replica acknowledges.
struct QuorumRepair {
  static constexpr std::string_view kName = "quorum_repair";
  uint64_t op = 0;
  uint64_t key = 0;
  Siblings versions;

  uint32_t size_bytes() const { return kHeaderBytes + bytes_of(versions); }
  std::string describe() const {
    return "repair #" + std::to_string(op) + " key " + std::to_string(key);
  }
};

struct QuorumRepairAck {
  static constexpr std::string_view kName = "quorum_repair_ack";
  uint64_t op = 0;
  bool stored = true;

  uint32_t size_bytes() const { return kHeaderBytes; }
  std::string describe() const { return "repair ack #" + std::to_string(op); }
};

/// A key and its versions, in batches of handoff, transfer and anti-entropy.
struct KeyVersions {
  uint64_t key = 0;
  Siblings versions;
};

inline uint32_t bytes_of(const std::vector<KeyVersions>& kv) {
  uint32_t b = 0;
  for (const auto& e : kv)
    b += 8 + bytes_of(e.versions);
  return b;
}

/// Hinted handoff: versions a stand-in kept for `owner`, returned to it.
struct QuorumHandoff {
  static constexpr std::string_view kName = "quorum_handoff";
  uint64_t batch = 0;
  std::vector<KeyVersions> entries;

  uint32_t size_bytes() const { return kHeaderBytes + bytes_of(entries); }
  std::string describe() const {
    return "handoff #" + std::to_string(batch) + " (" + std::to_string(entries.size()) + " keys)";
  }
};

struct QuorumHandoffAck {
  static constexpr std::string_view kName = "quorum_handoff_ack";
  uint64_t batch = 0;
  bool stored = true;

  uint32_t size_bytes() const { return kHeaderBytes; }
  std::string describe() const { return "handoff ack #" + std::to_string(batch); }
};

/// A membership change: keys a node no longer replicates, to their new replicas.
struct QuorumTransfer {
  static constexpr std::string_view kName = "quorum_transfer";
  uint64_t batch = 0;
  std::vector<KeyVersions> entries;

  uint32_t size_bytes() const { return kHeaderBytes + bytes_of(entries); }
  std::string describe() const {
    return "transfer #" + std::to_string(batch) + " (" + std::to_string(entries.size()) + " keys)";
  }
};

struct QuorumTransferAck {
  static constexpr std::string_view kName = "quorum_transfer_ack";
  uint64_t batch = 0;
  bool stored = true;

  uint32_t size_bytes() const { return kHeaderBytes; }
  std::string describe() const { return "transfer ack #" + std::to_string(batch); }
};

/// One node of a Merkle tree: its range, index within its level, and hash.
struct MerkleNode {
  uint32_t range = 0;
  uint64_t index = 0;
  uint64_t hash = 0;
};

/// Anti-entropy, step 1 (and each level down): the initiator's hashes of some tree nodes.
struct MerkleHashes {
  static constexpr std::string_view kName = "merkle_hashes";
  uint64_t round = 0;
  uint32_t level = 0;
  std::vector<MerkleNode> nodes;

  uint32_t size_bytes() const { return kHeaderBytes + static_cast<uint32_t>(nodes.size() * 16); }
  std::string describe() const {
    return "merkle hashes round " + std::to_string(round) + " level " + std::to_string(level) +
           " (" + std::to_string(nodes.size()) + " nodes)";
  }
};

/// The peer's answer: which of those nodes differ from its own (range, index).
struct MerkleDiff {
  static constexpr std::string_view kName = "merkle_diff";
  uint64_t round = 0;
  uint32_t level = 0;
  std::vector<std::pair<uint32_t, uint64_t>> differing;

  uint32_t size_bytes() const {
    return kHeaderBytes + static_cast<uint32_t>(differing.size() * 12);
  }
  std::string describe() const {
    return "merkle diff round " + std::to_string(round) + " level " + std::to_string(level) + " (" +
           std::to_string(differing.size()) + " differ)";
  }
};

/// At the leaves: the initiator's keys of the differing leaves.
struct MerkleSync {
  static constexpr std::string_view kName = "merkle_sync";
  uint64_t round = 0;
  std::vector<std::pair<uint32_t, uint64_t>> leaves;
  std::vector<KeyVersions> entries;

  uint32_t size_bytes() const {
    return kHeaderBytes + static_cast<uint32_t>(leaves.size() * 12) + bytes_of(entries);
  }
  std::string describe() const {
    return "merkle sync round " + std::to_string(round) + " (" + std::to_string(leaves.size()) +
           " leaves, " + std::to_string(entries.size()) + " keys)";
  }
};

/// ...and the peer's keys of the same leaves, as they were before it merged.
struct MerkleSyncReply {
  static constexpr std::string_view kName = "merkle_sync_reply";
  uint64_t round = 0;
  std::vector<KeyVersions> entries;

  uint32_t size_bytes() const { return kHeaderBytes + bytes_of(entries); }
  std::string describe() const {
    return "merkle sync reply round " + std::to_string(round) + " (" +
           std::to_string(entries.size()) + " keys)";
  }
};

}  // namespace dsim::quorum
