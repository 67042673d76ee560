// Versions of a key in the quorum store: vector clocks, sibling detection, and
// last-write-wins.
//
// Dynamo (DeCandia et al., SOSP 2007, 4.4) versions every value with a vector clock, a
// list of (node, counter) pairs: version a descends from b when a's clock is >= b's in
// every entry, and two versions neither of which descends from the other are siblings
// (conflicting, kept both, handed to the client to reconcile). Alex Xu's System Design
// Interview ("Design a Key-Value Store") says the same: "[server, version] pairs ...
// ancestors (one descends from the other) or siblings (conflicting updates)".
//
// A coordinator's clock entry alone cannot tell a write that saw the previous one from a
// concurrent write through the same coordinator (the Dynamo clock's known blind spot), so
// a version here keeps its own *dot* — (actor, counter), unique to the write — apart from
// its *past*, the clock of the versions its writer had seen (the client's context, or the
// coordinator's): the dotted version vectors of Preguiça et al. (2012), as Riak uses them.
// Version u is obsolete given v when v's past covers u's dot. The context handed to a
// client is the join of its siblings' pasts and dots.
//
// Last-write-wins instead keeps one version per key: the one with the latest timestamp —
// the wall clock of the node that coordinated the write, so a skewed clock loses updates
// (the Modern System Design - Interview Prep Guide calls LWW "simple but lossy"). Ties go to the
// larger dot.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/kv/contract.h"

namespace dsim::quorum {

/// A write's identity: the actor (node and incarnation) that coordinated it and that
/// actor's counter for the key.
struct Dot {
  uint64_t actor = 0;
  uint64_t counter = 0;
  constexpr auto operator<=>(const Dot&) const = default;
};

/// A version vector: actor -> the largest counter seen, sorted by actor.
class VClock {
 public:
  using Entry = std::pair<uint64_t, uint64_t>;

  VClock() = default;
  /// From (actor, counter) pairs in any order; duplicates keep the largest counter.
  static VClock of(std::vector<Entry> entries);

  uint64_t get(uint64_t actor) const;
  bool covers(const Dot& d) const { return d.counter != 0 && get(d.actor) >= d.counter; }
  /// Raises the actor's entry to at least `counter`.
  void add(uint64_t actor, uint64_t counter);
  void add(const Dot& d) { add(d.actor, d.counter); }
  /// Entry-wise maximum.
  void join(const VClock& o);
  /// Every entry of this is <= o's.
  bool leq(const VClock& o) const;
  bool empty() const { return e_.empty(); }
  size_t size() const { return e_.size(); }
  const std::vector<Entry>& entries() const { return e_; }
  uint32_t bytes() const { return static_cast<uint32_t>(e_.size() * 16); }
  /// Flattened (actor, counter, actor, counter, ...): a client's opaque context.
  std::vector<uint64_t> words() const;
  /// The inverse of words(); nullopt when malformed (odd length).
  static std::optional<VClock> from_words(const std::vector<uint64_t>& w);
  bool operator==(const VClock&) const = default;
  std::string describe() const;

 private:
  std::vector<Entry> e_;
};

struct Version {
  Dot dot;
  VClock past;     ///< the versions this one supersedes (its writer's context)
  int64_t ts = 0;  ///< the coordinator's wall clock at the write (ns), for LWW and order
  kv::KvValue value;

  /// Bytes on the wire or on disk: dot, timestamp, clock and value.
  uint32_t bytes() const { return 24 + past.bytes() + value.bytes(); }
  /// Past and dot: what a client that saw this version has seen.
  VClock clock() const;
  /// This version is obsolete given `o` (o's past covers our dot).
  bool obsoleted_by(const Version& o) const { return o.past.covers(dot); }
};

/// The versions a replica holds for one key: siblings, none obsoleted by another, in the
/// order (ts, dot) — oldest first by the coordinators' clocks.
using Siblings = std::vector<Version>;

uint32_t bytes_of(const Siblings& s);
/// Join of every sibling's clock(): the context a client gets with a read.
VClock context_of(const Siblings& s);
/// The largest counter the actor has in any dot or past of `s`.
uint64_t max_counter(const Siblings& s, uint64_t actor);
/// Same dots (the same versions).
bool same_versions(const Siblings& a, const Siblings& b);
/// A hash of the versions (dots, timestamps and values), equal for equal sets.
uint64_t hash_of(const Siblings& s);

/// How a replica combines versions.
enum class Versioning { kVectorClock, kLww };

struct MergeResult {
  Siblings merged;
  /// LWW: versions thrown away although the survivor's past did not cover them (updates
  /// no later writer had seen: lost to the timestamp order).
  uint32_t lww_discarded = 0;
  /// Vector clocks: siblings dropped because there were more than the cap (oldest first).
  uint32_t capped = 0;
};

/// Combines two version sets of one key. Vector clocks: every version not obsoleted by
/// another, each dot once. LWW: the single version with the largest (ts, dot). Either way
/// it is commutative, associative and idempotent, so replicas that exchange their sets
/// converge whatever the order (the basis of read repair, hinted handoff and
/// anti-entropy).
MergeResult merge(const Siblings& a, const Siblings& b, Versioning mode, size_t max_siblings);

/// The elements of every sibling once, in sibling order: what an append builds on when a
/// key has siblings (the union merge of a grow-only list).
kv::KvValue union_value(const Siblings& s);

/// Binary encoding for the durable store.
std::string encode(const Siblings& s);
std::optional<Siblings> decode(std::string_view bytes);

}  // namespace dsim::quorum
