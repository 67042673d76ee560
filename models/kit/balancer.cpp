#include "models/kit/balancer.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "models/kit/hash_slots.h"
#include "sim/core/assert.h"

namespace dsim::kit {

namespace {

constexpr std::pair<std::string_view, BalancerKind> kNames[] = {
    {"random", BalancerKind::kRandom},
    {"round_robin", BalancerKind::kRoundRobin},
    {"weighted_round_robin", BalancerKind::kWeightedRoundRobin},
    {"least_outstanding", BalancerKind::kLeastOutstanding},
    {"power_of_d", BalancerKind::kPowerOfD},
    {"least_latency", BalancerKind::kLeastLatency},
    {"fixed", BalancerKind::kFixed},
    {"sticky", BalancerKind::kSticky},
    {"key_owner", BalancerKind::kKeyOwner},
    {"hash_key", BalancerKind::kHashKey},
    {"hash_client", BalancerKind::kHashClient},
    {"consistent_hash", BalancerKind::kConsistentHash},
    {"maglev", BalancerKind::kMaglev},
    {"dns_round_robin", BalancerKind::kDnsRoundRobin},
    {"geo_dns", BalancerKind::kGeoDns},
    {"hash_slots", BalancerKind::kHashSlots},
};

bool all_healthy(std::span<const Observed> obs) {
  return std::all_of(obs.begin(), obs.end(), [](const Observed& o) { return o.healthy; });
}

/// The candidates a policy may pick: the healthy ones, or every one when none is.
void eligible(std::span<const Observed> obs, std::vector<size_t>& out) {
  out.clear();
  for (size_t i = 0; i < obs.size(); ++i) {
    if (obs[i].healthy) out.push_back(i);
  }
  if (out.empty()) {
    out.resize(obs.size());
    std::iota(out.begin(), out.end(), size_t{0});
  }
}

bool is_eligible(std::span<const Observed> obs, size_t i, bool any_healthy) {
  return i < obs.size() && (obs[i].healthy || !any_healthy);
}

bool any_healthy(std::span<const Observed> obs) {
  return std::any_of(obs.begin(), obs.end(), [](const Observed& o) { return o.healthy; });
}

// d candidates sampled from `from`, with or without replacement.
void sample(const std::vector<size_t>& from, uint32_t d, bool with_replacement, Rng& rng,
            std::vector<size_t>& out) {
  out.clear();
  const auto n = static_cast<uint32_t>(from.size());
  if (with_replacement) {
    for (uint32_t i = 0; i < d; ++i)
      out.push_back(from[rng.below(n)]);
    return;
  }
  out = from;
  const uint32_t k = std::min(d, n);
  for (uint32_t i = 0; i < k; ++i)
    std::swap(out[i], out[i + rng.below(n - i)]);
  out.resize(k);
}

/// The latency estimate decayed to `now` (Finagle's PeakEwma.get()).
double decayed_latency(const Observed& o, SimTime now, Duration decay) {
  if (o.latency_ns <= 0) return 0;
  const double elapsed = static_cast<double>(std::max<int64_t>(0, (now - o.latency_at).ns()));
  return o.latency_ns * std::exp(-elapsed / static_cast<double>(decay.ns()));
}

// --- the policies ------------------------------------------------------------------------

class RandomPolicy final : public BalancerPolicy {
 public:
  size_t pick(std::span<const Observed> obs, const PickRequest&, Rng& rng) override {
    if (all_healthy(obs)) return rng.below(static_cast<uint32_t>(obs.size()));
    eligible(obs, scratch_);
    return scratch_[rng.below(static_cast<uint32_t>(scratch_.size()))];
  }

 private:
  std::vector<size_t> scratch_;
};

class RoundRobinPolicy final : public BalancerPolicy {
 public:
  size_t pick(std::span<const Observed> obs, const PickRequest&, Rng&) override {
    const bool healthy = any_healthy(obs);
    for (size_t tries = 0; tries < obs.size(); ++tries) {
      const size_t i = next_++ % obs.size();
      if (is_eligible(obs, i, healthy)) return i;
    }
    return 0;
  }

 private:
  uint64_t next_ = 0;
};

class WeightedRoundRobinPolicy final : public BalancerPolicy {
 public:
  size_t pick(std::span<const Observed> obs, const PickRequest&, Rng&) override {
    credit_.resize(obs.size(), 0.0);
    eligible(obs, scratch_);
    double total = 0;
    size_t best = scratch_.front();
    for (size_t i : scratch_) {
      credit_[i] += obs[i].weight;
      total += obs[i].weight;
      if (credit_[i] > credit_[best]) best = i;
    }
    credit_[best] -= total;
    return best;
  }

 private:
  std::vector<double> credit_;
  std::vector<size_t> scratch_;
};

class LeastOutstandingPolicy final : public BalancerPolicy {
 public:
  size_t pick(std::span<const Observed> obs, const PickRequest&, Rng& rng) override {
    eligible(obs, scratch_);
    uint32_t least = std::numeric_limits<uint32_t>::max();
    ties_.clear();
    for (size_t i : scratch_) {
      if (obs[i].outstanding < least) {
        least = obs[i].outstanding;
        ties_.clear();
      }
      if (obs[i].outstanding == least) ties_.push_back(i);
    }
    return ties_.size() == 1 ? ties_[0] : ties_[rng.below(static_cast<uint32_t>(ties_.size()))];
  }

 private:
  std::vector<size_t> scratch_, ties_;
};

/// power_of_d and least_latency: d sampled candidates, the lowest cost (the first sampled
/// among equals).
class SampledPolicy final : public BalancerPolicy {
 public:
  explicit SampledPolicy(const BalancerSpec& spec) : spec_(spec) {}
  size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng& rng) override {
    eligible(obs, scratch_);
    sample(scratch_, spec_.d, spec_.with_replacement, rng, sampled_);
    size_t best = sampled_.front();
    for (size_t i : sampled_) {
      if (cost(obs[i], req.now) < cost(obs[best], req.now)) best = i;
    }
    return best;
  }

 private:
  /// Lower is better. Finagle's load for least_latency: the estimate times (in flight +
  /// 1), and a candidate never measured but already busy comes last (its cost is unknown,
  /// not zero).
  std::pair<double, double> cost(const Observed& o, SimTime now) const {
    if (spec_.kind == BalancerKind::kPowerOfD) return {0, o.outstanding};
    const double latency = decayed_latency(o, now, spec_.decay);
    if (latency <= 0 && o.outstanding > 0) return {1, o.outstanding};
    return {0, latency * (o.outstanding + 1)};
  }

  BalancerSpec spec_;
  std::vector<size_t> scratch_, sampled_;
};

class FixedPolicy final : public BalancerPolicy {
 public:
  explicit FixedPolicy(size_t fixed) : fixed_(fixed) {}
  size_t pick(std::span<const Observed> obs, const PickRequest&, Rng&) override {
    return fixed_ % obs.size();
  }

 private:
  size_t fixed_;
};

class StickyPolicy final : public BalancerPolicy {
 public:
  void start(size_t, size_t home) override { current_ = home; }
  size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng&) override {
    const size_t n = obs.size();
    // The node that failed us is not the one to try again: move on to the next.
    if (req.retry) current_ = ((req.failed == kNoCandidate ? 0 : req.failed) + 1) % n;
    const bool healthy = any_healthy(obs);
    for (size_t tries = 0; tries < n && !is_eligible(obs, current_ % n, healthy); ++tries)
      current_ = (current_ + 1) % n;
    return current_ % n;
  }
  void answered(size_t c, const PickRequest&) override { current_ = c; }
  void redirected(size_t c, const PickRequest&) override { current_ = c; }

 private:
  size_t current_ = 0;
};

class KeyOwnerPolicy final : public BalancerPolicy {
 public:
  size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng& rng) override {
    auto it = owners_.find(req.key);
    if (it != owners_.end() && req.retry) {
      owners_.erase(it);  // it failed us: forget it
      it = owners_.end();
    }
    if (it != owners_.end() && is_eligible(obs, it->second, any_healthy(obs))) return it->second;
    return random_.pick(obs, req, rng);
  }
  void answered(size_t c, const PickRequest& req) override { owners_[req.key] = c; }
  void redirected(size_t c, const PickRequest& req) override { owners_[req.key] = c; }

 private:
  std::map<uint64_t, size_t> owners_;
  RandomPolicy random_;
};

class HashPolicy final : public BalancerPolicy {
 public:
  HashPolicy(bool by_client, uint64_t seed) : by_client_(by_client), seed_(seed) {}
  size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng&) override {
    eligible(obs, scratch_);
    const uint64_t h = mix64((by_client_ ? req.client : req.key) ^ mix64(seed_));
    return scratch_[h % scratch_.size()];
  }

 private:
  bool by_client_;
  uint64_t seed_;
  std::vector<size_t> scratch_;
};

/// Redis Cluster's hash slots: a key's slot is its hash modulo 16,384, and the slots are
/// split into contiguous, even ranges, candidate i owning slots [i·16384/n, (i+1)·16384/n)
/// (what `redis-cli --cluster create` assigns). Keys are dsim's integers, so the hash is
/// dsim's 64-bit mix, not CRC16 of the key's bytes. An owner passed over (unhealthy) hands
/// its keys to the next candidate that is not, as a replica promoted in its place would
/// serve them.
class HashSlotsPolicy final : public BalancerPolicy {
 public:
  size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng&) override {
    const size_t n = obs.size();
    size_t owner = slot_shard(hash_slot(req.key), static_cast<uint32_t>(n));
    const bool healthy = any_healthy(obs);
    for (size_t tries = 0; tries < n && !is_eligible(obs, owner, healthy); ++tries)
      owner = (owner + 1) % n;
    return owner;
  }

 private:
};

class ConsistentHashPolicy final : public BalancerPolicy {
 public:
  explicit ConsistentHashPolicy(const BalancerSpec& spec) : spec_(spec) {}
  size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng&) override {
    build(obs);
    const bool healthy = any_healthy(obs);
    uint64_t load = 0;
    size_t live = 0;
    for (size_t i = 0; i < obs.size(); ++i) {
      if (!is_eligible(obs, i, healthy)) continue;
      load += obs[i].outstanding;
      ++live;
    }
    // Bounded loads: no candidate takes more than ceil(c * (load + 1) / candidates).
    const double cap = spec_.load_bound > 0
                           ? std::ceil(spec_.load_bound * static_cast<double>(load + 1) /
                                       static_cast<double>(std::max<size_t>(live, 1)))
                           : std::numeric_limits<double>::infinity();
    const std::vector<uint32_t> order = ring_.walk(key_position(req.key, spec_.seed), obs.size());
    for (uint32_t i : order) {
      if (is_eligible(obs, i, healthy) && obs[i].outstanding < cap) return i;
    }
    return order.empty() ? 0 : order.front();
  }

 private:
  void build(std::span<const Observed> obs) {
    if (built_for_ == obs.size()) return;
    std::vector<Ring::Member> members;
    for (size_t i = 0; i < obs.size(); ++i)
      members.push_back({static_cast<uint32_t>(i), obs[i].weight});
    ring_ = Ring(members, spec_.vnodes, spec_.seed);
    built_for_ = obs.size();
  }

  BalancerSpec spec_;
  Ring ring_;
  size_t built_for_ = 0;
};

class MaglevPolicy final : public BalancerPolicy {
 public:
  explicit MaglevPolicy(const BalancerSpec& spec) : spec_(spec) {}
  size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng&) override {
    // The table is rebuilt over the eligible candidates when they change, as Maglev
    // rebuilds it when backends come and go.
    eligible(obs, scratch_);
    if (scratch_ != members_ || table_.empty()) {
      members_ = scratch_;
      std::vector<double> weights(obs.size(), 0.0);
      for (size_t i : members_)
        weights[i] = obs[i].weight;
      table_ = maglev_table(weights, spec_.table_size, spec_.seed);
    }
    return table_[mix64(req.key ^ mix64(spec_.seed)) % table_.size()];
  }

 private:
  BalancerSpec spec_;
  std::vector<size_t> scratch_, members_;
  std::vector<uint32_t> table_;
};

/// A stub resolver's cache over a name whose A records are the candidates: the answer is
/// the records in rotated order (candidate first_, first_ + 1, ...), kept until expires_.
class DnsRoundRobinPolicy final : public BalancerPolicy {
 public:
  explicit DnsRoundRobinPolicy(Duration ttl) : ttl_(ttl) {}
  size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng& rng) override {
    const size_t n = obs.size();
    resolve(n, req.now, rng);
    // A call takes the first record; a retry the record after the one that failed it.
    size_t c = req.retry && req.failed < n ? (req.failed + 1) % n : first_;
    const bool healthy = any_healthy(obs);
    for (size_t tries = 0; tries < n && !is_eligible(obs, c, healthy); ++tries)
      c = (c + 1) % n;
    return c;
  }

 private:
  void resolve(size_t n, SimTime now, Rng& rng) {
    if (!resolved_) {
      // Where the rotation stands and how old the cache entry is are the client's own: a
      // client among many of one DNS server meets the rotation anywhere, at any time.
      resolved_ = true;
      first_ = rng.below(static_cast<uint32_t>(n));
      const double left = rng.uniform_open01() * static_cast<double>(ttl_.ns());
      expires_ = now + Duration::from_ns(std::max<int64_t>(1, std::llround(left)));
      return;
    }
    if (now < expires_) return;
    first_ = (first_ + 1) % n;  // the next rotation
    expires_ = now + ttl_;
  }

  Duration ttl_;
  bool resolved_ = false;
  size_t first_ = 0;
  SimTime expires_;
};

/// GeoDNS (latency-based routing, as Route 53's and the CDNs' name servers answer): a
/// resolution returns one record, the nearest candidate (the smallest typical latency from
/// the caller; ties to the lower index) among those healthy in the caller's view, and the
/// caller keeps it for the TTL — retries included, since a single record leaves a client
/// nothing else to try. So a dead edge keeps its clients until their cached answers expire
/// and a resolution skips it: the TTL delays the failover. The provider's health checks
/// are stood in for by the caller's own view (Observed::healthy: the caller's ejections).
class GeoDnsPolicy final : public BalancerPolicy {
 public:
  explicit GeoDnsPolicy(Duration ttl) : ttl_(ttl) {}
  size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng& rng) override {
    if (!resolved_) {
      // The cache entry's age is the client's own (as dns_round_robin's).
      resolved_ = true;
      const double left = rng.uniform_open01() * static_cast<double>(ttl_.ns());
      expires_ = req.now + Duration::from_ns(std::max<int64_t>(1, std::llround(left)));
      record_ = nearest(obs);
    } else if (req.now >= expires_) {
      expires_ = req.now + ttl_;
      record_ = nearest(obs);
    }
    return record_;
  }

 private:
  static size_t nearest(std::span<const Observed> obs) {
    const bool healthy = any_healthy(obs);
    size_t best = 0;
    bool found = false;
    for (size_t i = 0; i < obs.size(); ++i) {
      if (!is_eligible(obs, i, healthy)) continue;
      if (!found || obs[i].distance < obs[best].distance) best = i;
      found = true;
    }
    return best;
  }

  Duration ttl_;
  bool resolved_ = false;
  size_t record_ = 0;
  SimTime expires_;
};

// `local_first` around any policy: the policy sees the healthy candidates farther than
// the nearest healthy one as unhealthy, so it passes them over while a nearer one is
// healthy; with no healthy candidate it sees them as they are.
class LocalFirstPolicy final : public BalancerPolicy {
 public:
  explicit LocalFirstPolicy(std::unique_ptr<BalancerPolicy> inner) : inner_(std::move(inner)) {}
  void start(size_t candidates, size_t home) override { inner_->start(candidates, home); }
  size_t pick(std::span<const Observed> obs, const PickRequest& req, Rng& rng) override {
    std::optional<Duration> nearest;
    bool farther = false;
    for (const Observed& o : obs) {
      if (!o.healthy) continue;
      farther = farther || (nearest && o.distance != *nearest);
      if (!nearest || o.distance < *nearest) nearest = o.distance;
    }
    if (!farther) return inner_->pick(obs, req, rng);
    view_.assign(obs.begin(), obs.end());
    for (Observed& o : view_)
      o.healthy = o.healthy && o.distance == *nearest;
    return inner_->pick(view_, req, rng);
  }
  void answered(size_t candidate, const PickRequest& req) override {
    inner_->answered(candidate, req);
  }
  void redirected(size_t candidate, const PickRequest& req) override {
    inner_->redirected(candidate, req);
  }

 private:
  std::unique_ptr<BalancerPolicy> inner_;
  std::vector<Observed> view_;  // scratch: obs with the farther candidates marked unhealthy
};

std::unique_ptr<BalancerPolicy> make_policy(const BalancerSpec& spec);

}  // namespace

std::string_view balancer_name(BalancerKind k) {
  for (const auto& [name, kind] : kNames) {
    if (kind == k) return name;
  }
  return "?";
}

std::vector<std::pair<std::string_view, BalancerKind>> balancer_choices() {
  return {std::begin(kNames), std::end(kNames)};
}

std::unique_ptr<BalancerPolicy> make_balancer(const BalancerSpec& spec) {
  auto policy = make_policy(spec);
  if (!spec.local_first) return policy;
  return std::make_unique<LocalFirstPolicy>(std::move(policy));
}

namespace {

std::unique_ptr<BalancerPolicy> make_policy(const BalancerSpec& spec) {
  switch (spec.kind) {
    case BalancerKind::kRandom:
      return std::make_unique<RandomPolicy>();
    case BalancerKind::kRoundRobin:
      return std::make_unique<RoundRobinPolicy>();
    case BalancerKind::kWeightedRoundRobin:
      return std::make_unique<WeightedRoundRobinPolicy>();
    case BalancerKind::kLeastOutstanding:
      return std::make_unique<LeastOutstandingPolicy>();
    case BalancerKind::kPowerOfD:
    case BalancerKind::kLeastLatency:
      return std::make_unique<SampledPolicy>(spec);
    case BalancerKind::kFixed:
      return std::make_unique<FixedPolicy>(spec.fixed);
    case BalancerKind::kSticky:
      return std::make_unique<StickyPolicy>();
    case BalancerKind::kKeyOwner:
      return std::make_unique<KeyOwnerPolicy>();
    case BalancerKind::kHashKey:
    case BalancerKind::kHashClient:
      return std::make_unique<HashPolicy>(spec.kind == BalancerKind::kHashClient, spec.seed);
    case BalancerKind::kConsistentHash:
      return std::make_unique<ConsistentHashPolicy>(spec);
    case BalancerKind::kMaglev:
      return std::make_unique<MaglevPolicy>(spec);
    case BalancerKind::kDnsRoundRobin:
      return std::make_unique<DnsRoundRobinPolicy>(spec.dns_ttl);
    case BalancerKind::kGeoDns:
      return std::make_unique<GeoDnsPolicy>(spec.dns_ttl);
    case BalancerKind::kHashSlots:
      return std::make_unique<HashSlotsPolicy>();
  }
  DSIM_ASSERT(false, "unknown balancer kind ", static_cast<int>(spec.kind));
  return nullptr;
}

}  // namespace

void observe_latency(Observed& o, Duration latency, SimTime now, Duration decay) {
  const auto sample = static_cast<double>(latency.ns());
  const double current = decayed_latency(o, now, decay);
  if (o.latency_ns <= 0 || sample > current) {
    o.latency_ns = sample;
  } else {
    const double elapsed = static_cast<double>(std::max<int64_t>(0, (now - o.latency_at).ns()));
    const double w = std::exp(-elapsed / static_cast<double>(decay.ns()));
    o.latency_ns = o.latency_ns * w + sample * (1 - w);
  }
  o.latency_at = now;
}

void pick_distinct(std::vector<size_t>& order, size_t k, Rng& rng) {
  const auto n = static_cast<uint32_t>(order.size());
  for (uint32_t i = 0; i < k && i < n; ++i) {
    const uint32_t j = i + rng.below(n - i);
    std::swap(order[i], order[j]);
  }
}

bool is_prime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

std::vector<uint32_t> maglev_table(std::span<const double> weights, uint32_t size, uint64_t seed) {
  DSIM_ASSERT(is_prime(size), "a Maglev table needs a prime size, not ", size);
  constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();
  std::vector<uint32_t> table(size, kEmpty);
  const auto n = static_cast<uint32_t>(weights.size());
  const double heaviest = weights.empty() ? 0 : *std::max_element(weights.begin(), weights.end());
  if (heaviest <= 0) return std::vector<uint32_t>(size, 0);
  // Each candidate's permutation of the slots: offset + j * skip (mod size), the two
  // numbers from two hashes of its identity (3.4, "Pseudocode 1").
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  std::vector<double> credit(n, 0.0);
  for (uint32_t i = 0; i < n; ++i) {
    offset[i] = mix64(seed ^ mix64(2 * uint64_t{i} + 1)) % size;
    skip[i] = mix64(seed ^ mix64(2 * uint64_t{i} + 2)) % (size - 1) + 1;
  }
  for (uint32_t filled = 0; filled < size;) {
    for (uint32_t i = 0; i < n && filled < size; ++i) {
      // Weighted turns: a candidate takes a slot per whole unit of credit it has gathered.
      credit[i] += weights[i] / heaviest;
      while (credit[i] >= 1 && filled < size) {
        credit[i] -= 1;
        uint64_t slot = (offset[i] + next[i] * skip[i]) % size;
        while (table[slot] != kEmpty) {
          ++next[i];
          slot = (offset[i] + next[i] * skip[i]) % size;
        }
        table[slot] = i;
        ++next[i];
        ++filled;
      }
    }
  }
  return table;
}

void read_balancer_params(ParamReader& r, BalancerSpec& spec, bool target_node) {
  using K = BalancerKind;
  const bool sampled = spec.kind == K::kPowerOfD || spec.kind == K::kLeastLatency;
  const bool hashed = spec.kind == K::kHashKey || spec.kind == K::kHashClient ||
                      spec.kind == K::kConsistentHash || spec.kind == K::kMaglev;
  // Only the knobs given are read (and resolved), each checked against the policy.
  auto given = [&](std::string_view key, bool applies, std::string_view policies) {
    if (!r.has(key) && !r.doc_mode()) return false;
    if (!applies && !r.doc_mode()) {
      r.error(key, "applies to " + std::string(policies) + " only, not " +
                       std::string(balancer_name(spec.kind)));
    }
    return true;
  };
  if (target_node && given("target_node", spec.kind == K::kFixed, "fixed")) {
    spec.fixed = static_cast<size_t>(
        r.integer("target_node", 0, "fixed: the index of the node in the target group", 0));
  }
  if (given("choices", sampled, "power_of_d and least_latency")) {
    spec.d = static_cast<uint32_t>(r.integer(
        "choices", spec.d, "power_of_d, least_latency: candidates sampled per pick", 1, 1'000'000));
  }
  if (given("with_replacement", sampled, "power_of_d and least_latency")) {
    spec.with_replacement =
        r.boolean("with_replacement", spec.with_replacement,
                  "power_of_d, least_latency: sample with replacement (as Envoy), so a candidate "
                  "can be drawn twice");
  }
  if (given("latency_decay", spec.kind == K::kLeastLatency, "least_latency")) {
    spec.decay = r.duration("latency_decay", spec.decay,
                            "least_latency: time constant of the latency estimate's decay");
    if (spec.decay <= Duration::zero()) r.error("latency_decay", "must be > 0");
  }
  if (given("load_bound", spec.kind == K::kConsistentHash, "consistent_hash")) {
    spec.load_bound = r.number("load_bound", spec.load_bound,
                               "consistent_hash: bounded loads, no candidate above c times the "
                               "average (c > 1; 0: unbounded)",
                               0);
    if (spec.load_bound > 0 && spec.load_bound <= 1) r.error("load_bound", "must be > 1 (or 0)");
  }
  if (given("vnodes", spec.kind == K::kConsistentHash, "consistent_hash")) {
    spec.vnodes = static_cast<uint32_t>(
        r.integer("vnodes", spec.vnodes, "consistent_hash: ring tokens per candidate", 1, 100'000));
  }
  if (given("table_size", spec.kind == K::kMaglev, "maglev")) {
    spec.table_size = static_cast<uint32_t>(r.integer(
        "table_size", spec.table_size, "maglev: lookup table slots (a prime)", 2, 100'000'007));
    if (!is_prime(spec.table_size)) r.error("table_size", "must be a prime number (65537 is)");
  }
  if (given("dns_ttl", spec.kind == K::kDnsRoundRobin || spec.kind == K::kGeoDns,
            "dns_round_robin and geo_dns")) {
    spec.dns_ttl = r.duration("dns_ttl", spec.dns_ttl,
                              "dns_round_robin, geo_dns: how long a client keeps a resolved "
                              "answer (the records' TTL)");
    if (spec.dns_ttl <= Duration::zero()) r.error("dns_ttl", "must be > 0");
  }
  if (given("local_first", spec.kind != K::kGeoDns,
            "every policy but geo_dns (which picks the "
            "nearest already)")) {
    spec.local_first =
        r.boolean("local_first", spec.local_first,
                  "choose among the healthy candidates nearest the caller (its zone, else its "
                  "region, ...) and go further only when none of them is healthy");
  }
  if (given("hash_seed", hashed, "hash_key, hash_client, consistent_hash and maglev")) {
    spec.seed = static_cast<uint64_t>(
        r.integer("hash_seed", static_cast<int64_t>(spec.seed), "hash policies: the hash seed", 0));
  }
}

}  // namespace dsim::kit
