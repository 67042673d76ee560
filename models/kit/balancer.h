// Balancer policies: how a caller picks the node a call goes to, in one library that
// clients, load balancers and services all use. Each policy is a small object over the
// same inputs: the candidates (indexes 0..n-1 into the caller's target list), what the
// caller observed of each (Observed), what the call brings (its key, its client) and the
// caller's random stream; it returns one candidate. The caller reports back what
// happened (answered, redirected, failed) so stateful policies can learn.
//
//   random               uniform over the candidates
//   round_robin          in turn
//   weighted_round_robin smooth weighted round robin, as nginx: each pick adds every
//                        candidate's weight to its credit, takes the largest credit and
//                        takes the total weight from it (so 5:1:1 gives a a b a c a a)
//   least_outstanding    fewest calls in flight (ties broken at random)
//   power_of_d           d candidates at random, the one with fewest calls in flight
//                        (Mitzenmacher's "power of two choices"; with or without
//                        replacement: Envoy samples with it)
//   least_latency        Finagle's P2C with peak EWMA: d candidates at random, the lowest
//                        latency estimate x (calls in flight + 1); the estimate jumps up to
//                        a slow answer at once and decays toward new samples with a time
//                        constant
//   fixed                always candidate `fixed`
//   sticky               the candidate that last answered; after a failure, the next one
//   key_owner            per key, the candidate that last answered it or was named by a
//                        redirect; random for a key not learnt, or after a failure
//   hash_key, hash_client  a hash of the call's key (or of its client) modulo the
//                        candidates: most keys move when the candidate set changes
//   consistent_hash      the first candidate clockwise from the key on a ring with virtual
//                        nodes; with bounded loads (Mirrokni, Thorup and Zadimoghaddam,
//                        2018) a candidate already carrying more than c times the average
//                        load is passed over for the next one on the ring
//   maglev               Google's Maglev table (Eisenbud et al., NSDI 2016): each
//                        candidate fills the slots of its own permutation of a prime-sized
//                        table in turn; a key looks up its slot, so keys spread evenly and
//                        few move when a candidate leaves
//   dns_round_robin      a client resolving a name with one A record per candidate
//                        through round-robin DNS: each answer is the records rotated by
//                        one more than the last, and the client keeps it for `dns_ttl`;
//                        every call goes to the first record of the cached answer, and a
//                        retry to the record after the one that failed (as browsers and
//                        most HTTP clients walk the address list). The first answer's
//                        rotation is drawn, and so is how much of its TTL is left (a
//                        cache entry of random age), so clients spread evenly
//
// Unhealthy candidates are passed over while a healthy one remains (when none is healthy,
// every candidate is eligible again, as Envoy's panic mode).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/ring.h"
#include "sim/core/params.h"
#include "sim/core/rng.h"
#include "sim/core/time.h"

namespace dsim::kit {

inline constexpr size_t kNoCandidate = std::numeric_limits<size_t>::max();

/// What a caller knows of one candidate.
struct Observed {
  double weight = 1;         ///< relative capacity (weighted and hash policies)
  uint32_t outstanding = 0;  ///< calls sent to it and not yet answered or given up
  double latency_ns = 0;     ///< peak-EWMA latency estimate; 0 before the first answer
  SimTime latency_at;        ///< when the estimate was last updated
  bool healthy = true;       ///< false: passed over while a healthy candidate remains
  Duration distance;         ///< the typical latency to it from the caller (geo_dns, local_first)
};

/// What the call being placed brings.
struct PickRequest {
  uint64_t key = 0;              ///< the call's key (key and hash policies)
  uint64_t client = 0;           ///< the end user or node the call is for (hash_client)
  bool retry = false;            ///< the call's last attempt failed
  size_t failed = kNoCandidate;  ///< ... at this candidate (kNoCandidate: not one of them)
  SimTime now;                   ///< the caller's clock (latency decay)
};

enum class BalancerKind : uint8_t {
  kRandom,
  kRoundRobin,
  kWeightedRoundRobin,
  kLeastOutstanding,
  kPowerOfD,
  kLeastLatency,
  kFixed,
  kSticky,
  kKeyOwner,
  kHashKey,
  kHashClient,
  kConsistentHash,
  kMaglev,
  kDnsRoundRobin,
  kGeoDns,
  kHashSlots,
};
std::string_view balancer_name(BalancerKind k);

struct BalancerSpec {
  BalancerKind kind = BalancerKind::kRandom;
  uint32_t d = 2;                 ///< power_of_d, least_latency: candidates sampled
  bool with_replacement = false;  ///< power_of_d, least_latency: sample with replacement
  size_t fixed = 0;               ///< fixed: the candidate (modulo their number)
  uint32_t vnodes = 100;          ///< consistent_hash: ring tokens per candidate of weight 1
  double load_bound = 0;          ///< consistent_hash: c > 1 bounds loads; 0: unbounded
  uint32_t table_size = 65537;    ///< maglev: lookup table slots (a prime)
  Duration decay = seconds(10);   ///< least_latency: the estimate's time constant
  uint64_t seed = 0;              ///< hash policies: the hash seed
  /// dns_round_robin, geo_dns: how long a resolved answer is kept (the records' TTL; 60 s,
  /// as the DNS names of AWS's load balancers)
  Duration dns_ttl = seconds(60);
  /// Any policy: it chooses among the healthy candidates nearest the caller only (the
  /// smallest typical latency: its own zone, else its region, ...), and goes further only
  /// when none of them is healthy (Envoy's zone-aware routing, without its spill-over by
  /// share).
  bool local_first = false;
};

/// The names of every policy, for choice(): {{"random", kRandom}, ...}.
std::vector<std::pair<std::string_view, BalancerKind>> balancer_choices();

/// Reads the parameters of the policy `spec.kind` (choices, with_replacement,
/// latency_decay, load_bound, vnodes, table_size, hash_seed, dns_ttl and, with `target_node`, the
/// fixed policy's node) from `r`: only those given are read (and written to the resolved
/// scenario), and one the policy does not use is an error.
void read_balancer_params(ParamReader& r, BalancerSpec& spec, bool target_node = false);

class BalancerPolicy {
 public:
  virtual ~BalancerPolicy() = default;
  /// Called once with the number of candidates and the caller's home candidate, drawn by
  /// the caller (where sticky starts).
  virtual void start(size_t /*candidates*/, size_t /*home*/) {}
  /// One of the candidates for `req`.
  virtual size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng& rng) = 0;
  /// `candidate` answered the call (definitely, success or not).
  virtual void answered(size_t /*candidate*/, const PickRequest& /*req*/) {}
  /// A redirect named `candidate` for the call.
  virtual void redirected(size_t /*candidate*/, const PickRequest& /*req*/) {}
};

std::unique_ptr<BalancerPolicy> make_balancer(const BalancerSpec& spec);

/// Updates a peak-EWMA latency estimate with one answer's latency at `now` (Finagle's
/// PeakEwma: a sample above the estimate replaces it; otherwise the estimate moves toward
/// it by 1 - exp(-elapsed / decay)).
void observe_latency(Observed& o, Duration latency, SimTime now, Duration decay);

/// k distinct candidates out of `order`, drawn by a partial Fisher-Yates shuffle of the
/// caller's permutation (kept between calls): the first k entries of `order` after the
/// call.
void pick_distinct(std::vector<size_t>& order, size_t k, Rng& rng);

/// Maglev's lookup table over `weights.size()` candidates (Eisenbud et al. 2016, 3.4):
/// entry i of the result is the candidate that owns slot i. `size` must be prime. A
/// candidate of weight 0 gets no slot; weights scale how many turns a candidate takes.
std::vector<uint32_t> maglev_table(std::span<const double> weights, uint32_t size, uint64_t seed);
bool is_prime(uint64_t n);

}  // namespace dsim::kit
