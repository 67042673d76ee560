// Staleness and session figures of a key-value history, with exact definitions
// (docs/consistency.md, "Consistency verdicts").
//
// Writes are ordered only by real time: write a precedes write b (a ≺ b) when a completed
// before b was invoked; concurrent writes are not ordered. Values identify the writes that
// produced them, so a successful read returning list L *reflects* the writes of L's
// elements, and its *base* is the write of L's first element when that is a put or cas
// (the write that set the list the appends in L were added to; for a register, the write
// it observed), or nothing when L is empty or begins with an append. A write w is *newer
// than* read r's base when base ≺ w (every write is, when there is no base). Then, for a
// successful get r:
//   - k (versions behind) = the number of successful writes that completed before r was
//     invoked, are newer than r's base, and are not reflected in r; r is stale when
//     k >= 1. For a register this is the number of acknowledged writes after the one r
//     returned; for a list, the acknowledged appends missing from it. A stale read is
//     never linearizable.
//   - t-visibility: ref = the successful write that completed last before r was invoked;
//     t = r.invoke - ref.complete; r sees ref when it reflects ref or ref is not newer
//     than r's base.
//   - visibility probes (kv_client visibility_probes): a probe p of write w, issued a set
//     t after w's acknowledgement, sees w when it reflects w or w is not newer than p's
//     base (as for t-visibility, with w as the reference). Probes count in nothing else
//     here: not in reads, k, t-visibility buckets or sessions (they are not the
//     workload's reads, and their times are chosen); they stay in invalid reads.
//   - read-your-writes: violated when a successful write of r's session, completed before
//     r was invoked, is newer than r's base and not reflected in r;
//   - monotonic reads: violated when a write reflected by an earlier read of r's session
//     (completed before r was invoked) is newer than r's base and not reflected in r.
// All per key; sessions are (client node, session). A read is `invalid` when an element no
// operation of the key wrote, or only a failed one, or an element after the first that
// is not an append's; invalid reads count in nothing else. Final reads (read-back) count
// only for lost writes: for each key, the final read invoked last after every successful
// write of the key completed; a successful write is lost when that read does not reflect
// it and it is newer than the read's base. Keys without such a read leave their
// successful writes unverified. A duplicate append is an append whose element appears
// more than once in some successful read.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "models/kv/history.h"

namespace dsim::kv::check {

struct StalenessConfig {
  SimTime measured_from;  ///< reads invoked earlier (warmup) are not counted
  Duration tvis_step = ms(1);
  Duration tvis_max = ms(100);  ///< the last bucket holds every t >= tvis_max
};

struct TvisBucket {
  int64_t lo_ns = 0;
  int64_t hi_ns = 0;  ///< exclusive; INT64_MAX for the last
  uint64_t reads = 0;
  uint64_t visible = 0;
};

/// The visibility probes issued one time after their writes' acknowledgements.
struct ProbeCounts {
  uint64_t pairs = 0;    ///< successful probes (valid reads), each with its write
  uint64_t visible = 0;  ///< of those, the probes that saw their write (or a newer one)
  uint64_t failed = 0;   ///< probes that ended without success (not in pairs; in flight: neither)
};

struct StalenessStats {
  uint64_t reads = 0;  ///< successful gets counted (measured, not final, valid)
  uint64_t stale_reads = 0;
  uint64_t invalid_reads = 0;
  std::vector<uint64_t> k_counts;  ///< reads by versions behind (index k)
  uint64_t k_sum = 0;
  uint64_t k_max = 0;
  uint64_t ryw_reads = 0;  ///< reads after a successful write of their session on the key
  uint64_t ryw_violations = 0;
  uint64_t mr_reads = 0;  ///< reads after an earlier completed read of their session on the key
  uint64_t mr_violations = 0;
  uint64_t acked_writes = 0;  ///< successful put/cas/append (every one, warmup included)
  uint64_t lost_writes = 0;
  uint64_t unverified_writes = 0;
  uint64_t duplicate_appends = 0;
  std::vector<TvisBucket> tvis;
  int64_t stale_lag_max_ns = -1;  ///< largest t of a read that did not see its ref; -1: none
  std::map<int64_t, ProbeCounts> probes;  ///< by the probe's time after the ack (ns)

  void count_k(uint64_t k);
};

struct StalenessResult {
  StalenessStats total;
  std::map<uint32_t, StalenessStats> groups;  ///< by the group of the client that read/wrote
  bool has_final_reads = false;
};

/// `node_group[n]` is the group index of node n (every client of the history).
StalenessResult check_staleness(const KvHistory& h, std::span<const uint32_t> node_group,
                                const StalenessConfig& config);

}  // namespace dsim::kv::check
