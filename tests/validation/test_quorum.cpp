// The quorum store against what quorum systems guarantee, and against closed forms:
//   - quorum intersection: with W + R > N, a strict quorum and no partition, every read
//     returns a value at least as new as the last write acknowledged before it started
//     (a regular register) — but not a linearizable one, unless reads write back what
//     they return (synchronous read repair), which the linearizability checker shows;
//   - k-staleness of partial quorums (Bailis et al., PBS): C(N-W, R) / C(N, R) per version;
//   - consistent hashing: a join moves 1/(n+1) of the keys, a departure 1/n;
//   - hinted handoff and anti-entropy converge every replica after a partition heals;
//   - per-leg delays, heavy-tailed mixtures included, add up as the protocol says.
// Tolerances follow from the number of samples: independent replications with a 99.9%
// Student-t interval, or a binomial standard error where the samples are independent.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "models/builtin.h"
#include "models/quorum/store.h"
#include "sim/run/runner.h"
#include "support/stats.h"

using namespace dsim;
using dsim::testing::ci_half_width;
using dsim::testing::mean_of;

namespace {

constexpr double kConfidence = 0.999;

const ModelRegistry& registry() {
  static const ModelRegistry r = [] {
    ModelRegistry reg;
    register_builtin_models(reg);
    return reg;
  }();
  return r;
}

ScenarioSpec load(const std::string& yaml, uint64_t seed) {
  Diagnostics diag;
  LoadOptions opts;
  opts.seed = seed;
  auto spec = load_scenario_text(yaml, "validation.yaml", opts, registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  return *spec;
}

double metric(const RunOutput& out, const std::string& group, const std::string& name,
              const std::string& op = "") {
  for (const auto& r : out.summary) {
    if (r.group == group && r.op == op && r.metric == name) return r.value;
  }
  FAIL("no metric " << group << "/" << op << "/" << name);
  return NAN;
}

const std::string& file(const RunOutput& out, const std::string& name) {
  for (const auto& [n, content] : out.files) {
    if (n == name) return content;
  }
  FAIL("no file " << name);
  static const std::string kNone;
  return kNone;
}

std::string replace(std::string s, const std::string& what, const std::string& with) {
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
  return s;
}

void check_agrees(const char* what, const std::vector<double>& estimates, double expected,
                  double extra_bias_bound = 0) {
  const double m = mean_of(estimates);
  const double hw = ci_half_width(estimates, kConfidence);
  INFO(what << ": simulated " << m << " +- " << hw << " (99.9% CI over " << estimates.size()
            << " replications), theory " << expected);
  CHECK(std::abs(m - expected) <= hw + extra_bias_bound);
}

double choose(int n, int k) {
  if (k < 0 || k > n) return 0;
  double c = 1;
  for (int i = 1; i <= k; ++i)
    c = c * (n - k + i) / i;
  return c;
}

// Many clients reading (70%) and writing (30%) three hot keys concurrently, over links
// with a tail and a slow write leg so that replicas often disagree. No timeouts fire
// (replica_timeout 10 s): the quorum is strict and complete.
const std::string kContended = R"(
name: contended
duration: 4s
warmup: 500ms
network:
  latency: lognormal(median=0.5ms, p99=5ms)
  message_delay:
    quorum_write: exponential(mean=3ms)
    quorum_read_reply: exponential(mean=1ms)
groups:
  - name: store
    model: quorum
    count: @NODES@
    params: {n: @N@, w: @W@, r: @R@, versioning: @VERSIONING@, read_repair: @REPAIR@,
             sloppy_quorum: false, replica_timeout: 10s}
  - name: clients
    model: kv_client
    count: 6
    params: {target: store, rate: 300/s, mix: {get: 0.7, put: 0.3}, keys: uniform(3),
             timeout: 10s}
consistency:
  max_search_steps: 100000000
)";

std::string contended(int nodes, int n, int w, int r, const std::string& versioning,
                      const std::string& repair) {
  std::string y = replace(kContended, "@NODES@", std::to_string(nodes));
  y = replace(y, "@N@", std::to_string(n));
  y = replace(y, "@W@", std::to_string(w));
  y = replace(y, "@R@", std::to_string(r));
  y = replace(y, "@VERSIONING@", versioning);
  return replace(y, "@REPAIR@", repair);
}

}  // namespace

TEST_CASE(
    "quorum intersection: with W + R > N every read is at least as new as the last "
    "acknowledged write (a regular register)") {
  // k of a read (the checker's definition) = the acknowledged writes completed before the
  // read was invoked that are newer than the write it returned: k = 0 for every read is
  // exactly the regular-register condition. Writes are ordered by real time; with ideal
  // clocks the coordinators' timestamps agree with that order, and a vector clock
  // sibling set always holds the last acknowledged write or one that saw it.
  struct Quorum {
    int nodes, n, w, r;
  };
  const Quorum quorums[] = {{3, 3, 2, 2}, {3, 3, 3, 1}, {3, 3, 1, 3}, {5, 3, 2, 2}, {5, 5, 3, 3}};
  for (const auto& q : quorums) {
    for (const std::string versioning : {"lww", "vector_clock"}) {
      for (const std::string repair : {"none", "background"}) {
        for (uint64_t seed = 1; seed <= 2; ++seed) {
          INFO("N=" << q.n << " W=" << q.w << " R=" << q.r << " on " << q.nodes << " nodes, "
                    << versioning << ", read repair " << repair << ", seed " << seed);
          const RunOutput out =
              run_scenario(load(contended(q.nodes, q.n, q.w, q.r, versioning, repair), seed));
          CHECK(metric(out, "run", "reads_checked") > 4000);
          CHECK(metric(out, "run", "stale_reads") == 0);
          CHECK(metric(out, "run", "invalid_reads") == 0);
          CHECK(metric(out, "clients", "availability", "all") == 1);
        }
      }
    }
  }
  // The same workload with W + R <= N does read stale values: the check can fail.
  const RunOutput partial = run_scenario(load(contended(3, 3, 1, 1, "lww", "none"), 1));
  CHECK(metric(partial, "run", "stale_reads") > 10);
}

TEST_CASE(
    "quorum intersection is not linearizability: new-old inversions, unless reads "
    "write back what they return") {
  // N=3, W=3, R=1: a write still in progress has reached some replicas; a read at one of
  // them returns the new value, a later read at another the old one. Each read is still
  // at least as new as every write acknowledged before it (regular), but no single order
  // explains both: not linearizable. Synchronous read repair makes a read write its
  // result back to W replicas before answering (ABD's second phase), so no later read can
  // miss it: linearizable (LWW with ideal clocks, put and get).
  int broken = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    INFO("seed " << seed);
    const RunOutput out = run_scenario(load(contended(3, 3, 3, 1, "lww", "background"), seed));
    CHECK(metric(out, "run", "stale_reads") == 0);
    if (metric(out, "run", "linearizable") == 0) {
      ++broken;
      // The shrunk counterexample: a write and two reads that saw it, then did not.
      const std::string& why = file(out, "linearizability.txt");
      INFO(why);
      CHECK(why.find("a minimal set of") != std::string::npos);
      CHECK(why.find(" get key ") != std::string::npos);
      CHECK(why.find(" put key ") != std::string::npos);
    }
    const RunOutput fixed = run_scenario(load(contended(3, 3, 3, 1, "lww", "sync"), seed));
    CHECK(metric(fixed, "run", "linearizable") == 1);
    CHECK(metric(fixed, "run", "linearizability_keys") == 3);
    CHECK(metric(fixed, "store", "read_repairs") > 0);
  }
  CHECK(broken == 3);
  // W=2, R=2 alike.
  CHECK(metric(run_scenario(load(contended(3, 3, 2, 2, "lww", "none"), 4)), "run",
               "linearizable") == 0);
  CHECK(metric(run_scenario(load(contended(3, 3, 2, 2, "lww", "sync"), 4)), "run",
               "linearizable") == 1);
}

TEST_CASE("k-staleness of partial quorums: C(N-W, R) / C(N, R) per version (PBS)") {
  // The PBS model (Bailis et al., VLDB 2012, section 3): a write reaches exactly W
  // replicas chosen at random and is never propagated further (write_fanout: quorum, no
  // read repair, no anti-entropy); a read asks R replicas at random (read_fanout:
  // quorum) and returns the newest version among them. With zero network delay
  // ("instant propagation": operations never overlap, so only which replicas each quorum
  // picks matters), a read misses a given version when its R replicas avoid that
  // version's W: probability p = C(N-W, R) / C(N, R), independently per version. It is k
  // or more versions behind when it misses the last k: P(k >= j) = p^j, so the
  // stale-read rate is p and the mean k is p / (1 - p).
  //
  // The stale indicator of a read depends only on its own replica draw given the last
  // version's placement, and is Bernoulli(p) whatever that placement: reads are
  // independent trials, and the rate is tested with its binomial standard error. k
  // itself is correlated between reads that share versions, so its mean and P(k >= 2)
  // are tested over independent replications.
  const std::string yaml = R"(
name: pbs
duration: 12s
warmup: 1s
network: {latency: 0s}
groups:
  - name: store
    model: quorum
    count: 3
    params: {n: 3, w: @W@, r: @R@, versioning: lww, sloppy_quorum: false, read_repair: none,
             write_fanout: quorum, read_fanout: quorum}
  - name: writer
    model: kv_client
    params: {target: store, arrival: fixed, rate: 100/s, mix: {put: 1}, keys: uniform(1)}
  - name: readers
    model: kv_client
    count: 2
    params: {target: store, rate: 500/s, mix: {get: 1}, keys: uniform(1)}
consistency: {linearizability: false}
)";
  struct Config {
    int w, r;
  };
  for (const auto& c : {Config{1, 1}, Config{1, 2}, Config{2, 1}}) {
    const double p = choose(3 - c.w, c.r) / choose(3, c.r);
    INFO("N=3 W=" << c.w << " R=" << c.r << ": p = " << p);
    if (c.w == 1 && c.r == 1) CHECK(p == Approx(2.0 / 3));
    std::string y = replace(replace(yaml, "@W@", std::to_string(c.w)), "@R@", std::to_string(c.r));
    std::vector<double> rate, mean_k, k2;
    double reads = 0, stale = 0;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      const RunOutput out = run_scenario(load(y, seed));
      const double n = metric(out, "run", "reads_checked");
      reads += n;
      stale += metric(out, "run", "stale_reads");
      rate.push_back(metric(out, "run", "stale_read_rate"));
      mean_k.push_back(metric(out, "run", "k_staleness_mean"));
      // P(k >= 2) from k_staleness.csv (group,k,reads,fraction).
      std::istringstream csv(file(out, "k_staleness.csv"));
      std::string line;
      double at_least_2 = 0;
      while (std::getline(csv, line)) {
        if (line.rfind("all,", 0) != 0) continue;
        std::istringstream cells(line.substr(4));
        std::string k, count;
        std::getline(cells, k, ',');
        std::getline(cells, count, ',');
        if (std::stoi(k) >= 2) at_least_2 += std::stod(count);
      }
      k2.push_back(at_least_2 / n);
    }
    REQUIRE(reads > 200000);
    const double se = std::sqrt(p * (1 - p) / reads);
    INFO("stale " << stale << " of " << reads << " reads: " << stale / reads << ", theory " << p
                  << " +- 5 x " << se);
    CHECK(std::abs(stale / reads - p) < 5 * se);
    check_agrees("stale-read rate", rate, p);
    check_agrees("mean k", mean_k, p / (1 - p));
    check_agrees("P(k >= 2)", k2, p * p);
  }
}

TEST_CASE("consistent hashing: a join moves 1/(n+1) of the keys, a departure 1/n") {
  // Over independent rings (ring seeds), the share of keys whose owner changes when a
  // tenth node joins nine (150 tokens each) has mean exactly 1/10: the newcomer's
  // tokens are as random as everyone's. When one of ten leaves, its 1/10 moves. Each
  // ring's figure counts 20,000 keys; the interval over 30 rings covers both the ring's
  // randomness and the key sampling.
  const int n = 9;
  std::vector<double> joined, left, joined_exact;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    std::vector<quorum::Ring::Member> nine, ten;
    for (uint32_t i = 0; i < n; ++i)
      nine.push_back({i, 1.0});
    ten = nine;
    ten.push_back({n, 1.0});
    const quorum::Ring before(nine, 150, seed), after(ten, 150, seed);
    int moved_in = 0, moved_out = 0;
    const int keys = 20000;
    for (uint64_t k = 0; k < keys; ++k) {
      const uint64_t pos = quorum::key_position(k, seed);
      moved_in += before.owner(pos) != after.owner(pos) ? 1 : 0;
      moved_out += after.owner(pos) != before.owner(pos) ? 1 : 0;
    }
    joined.push_back(static_cast<double>(moved_in) / keys);
    joined_exact.push_back(before.changed_fraction(after, 1));
    // Departure: the ten-node ring loses node 3.
    std::vector<quorum::Ring::Member> without3;
    for (uint32_t i = 0; i <= n; ++i)
      if (i != 3) without3.push_back({i, 1.0});
    const quorum::Ring gone(without3, 150, seed);
    int moved = 0;
    for (uint64_t k = 0; k < keys; ++k) {
      const uint64_t pos = quorum::key_position(k, seed);
      moved += after.owner(pos) != gone.owner(pos) ? 1 : 0;
    }
    left.push_back(static_cast<double>(moved) / keys);
    (void)moved_out;
  }
  check_agrees("keys moved by a join (of n+1 = 10)", joined, 1.0 / (n + 1));
  check_agrees("ring share moved by a join", joined_exact, 1.0 / (n + 1));
  check_agrees("keys moved by a departure (of 10)", left, 1.0 / (n + 1));
  // With N replicas, a join changes the preference list of about N/(n+1) of the keys:
  // one replica each, so the share of copies that move is still 1/(n+1).
}

TEST_CASE("membership end to end: keys_moved is 1/(n+1) of the key copies") {
  // Four nodes hold 400 keys, N=1; a fifth joins. keys_moved counts the keys handed to it.
  // The newcomer's share of a ring of 5 x 150 random tokens is Beta(150, 600) (mean 1/5,
  // the arcs of uniform points are Dirichlet), so over ring seeds the mean of
  // keys_moved / 400 is 1/5.
  const std::string yaml = R"(
name: join
duration: 3s
groups:
  - name: store
    model: quorum
    count: 5
    params: {n: 1, w: 1, r: 1, initial_members: 4, ring_seed: @SEED@,
             membership: [{at: 2s, add: 4}]}
  - name: loader
    model: kv_client
    params: {target: store, arrival: fixed, rate: 400/s, mix: {put: 1}, keys: sequential(400),
             stop: 1s}
consistency: {linearizability: false}
)";
  std::vector<double> share;
  for (int seed = 0; seed < 20; ++seed) {
    const RunOutput out = run_scenario(load(replace(yaml, "@SEED@", std::to_string(seed)), 1));
    share.push_back(metric(out, "store", "keys_moved") / 400.0);
  }
  check_agrees("share of keys moved", share, 1.0 / 5);
}

namespace {

// Replicas agree: every key's N home replicas hold the same versions, nobody else holds
// it, and no hint is left.
void check_converged(Engine& engine, size_t nodes) {
  std::vector<const quorum::QuorumStore*> stores;
  for (NodeId i = 0; i < nodes; ++i) {
    const auto* s = dynamic_cast<const quorum::QuorumStore*>(engine.model(i));
    REQUIRE(s);
    stores.push_back(s);
    CHECK(s->hints_pending() == 0);
  }
  std::set<uint64_t> keys;
  for (const auto* s : stores)
    for (const auto& [k, v] : s->data())
      keys.insert(k);
  REQUIRE(keys.size() > 50);
  const auto& ring = stores[0]->ring();
  int diverged = 0;
  for (uint64_t k : keys) {
    const auto home = ring.walk(quorum::key_position(k, 0), 3);
    const quorum::Siblings* first = stores[home[0]]->versions(k);
    for (NodeId i = 0; i < nodes; ++i) {
      const bool is_home = std::find(home.begin(), home.end(), i) != home.end();
      const quorum::Siblings* v = stores[i]->versions(k);
      if (!is_home) {
        CHECK(v == nullptr);
      } else if (!v || !first || !quorum::same_versions(*v, *first)) {
        ++diverged;
      }
    }
  }
  CHECK(diverged == 0);
}

const std::string kPartitioned = R"(
name: heal
duration: 14s
network:
  latency: lognormal(median=0.5ms, p99=5ms)
groups:
  - name: store
    model: quorum
    count: 5
    params: {n: 3, w: 2, r: 2, sloppy_quorum: @SLOPPY@, hinted_handoff: @HANDOFF@,
             anti_entropy_interval: @AE@, read_repair: none, handoff_interval: 300ms,
             merkle_ranges: 8, merkle_depth: 6}
  - name: left
    model: kv_client
    count: 2
    params: {target: store, target_policy: fixed, target_node: 0, rate: 100/s,
             mix: {get: 0.5, put: 0.5}, keys: uniform(200), stop: 8s}
  - name: right
    model: kv_client
    count: 2
    params: {target: store, target_policy: fixed, target_node: 3, rate: 100/s,
             mix: {get: 0.5, put: 0.5}, keys: uniform(200), stop: 8s}
faults:
  - {at: 2s, for: 5s, partition: [[store.0, store.1, left], [store.2, store.3, store.4, right]]}
)";

}  // namespace

TEST_CASE("after the partition heals, hinted handoff and anti-entropy converge every replica") {
  struct Repair {
    const char* what;
    const char* sloppy;
    const char* handoff;
    const char* ae;
    bool converges;
  };
  // Sloppy quorum: writes during the partition went to stand-ins, which hand them back
  // when the partition heals. That alone does not converge every replica: a side with
  // too few nodes to stand in for all of a key's missing replicas leaves one without the
  // write and without a hint (Dynamo 4.7: anti-entropy handles what hinted handoff
  // misses). With anti-entropy too, or alone after a strict quorum's writes reached W of
  // N replicas, every replica ends with the same versions.
  for (const auto& r : {Repair{"hinted handoff", "true", "true", "0s", false},
                        Repair{"hinted handoff and anti-entropy", "true", "true", "500ms", true},
                        Repair{"anti-entropy", "false", "false", "500ms", true}}) {
    for (uint64_t seed = 1; seed <= 2; ++seed) {
      INFO(r.what << ", seed " << seed);
      std::string y = replace(kPartitioned, "@SLOPPY@", r.sloppy);
      y = replace(replace(y, "@HANDOFF@", r.handoff), "@AE@", r.ae);
      const ScenarioSpec spec = load(y, seed);
      auto engine = build_engine(spec);
      engine->run();
      auto& sym = engine->symbols();
      const auto& counters = engine->metrics().counters();
      auto count = [&](const char* name) {
        auto it = counters.find({0, sym.intern(name)});
        return it == counters.end() ? 0 : it->second;
      };
      if (std::string(r.sloppy) == "true") {
        CHECK(count("hints_stored") > 0);
        CHECK(count("hints_replayed") == count("hints_stored"));
      } else {
        CHECK(count("merkle_keys_repaired") > 0);
      }
      if (r.converges) {
        check_converged(*engine, 5);
      }
    }
  }
}

TEST_CASE("per-leg delays: each message kind gets its own, mixtures included") {
  // Links add nothing; write acknowledgements take a mixture of a Pareto and an
  // exponential; read replies a constant. N=3, W=R=2: the coordinator (the receiving
  // replica) counts its own copy at once and needs one more, the first of two remote
  // ones. So put latency = min(D1, D2) with D the mixture: P(latency > x) = S(x)^2,
  // S(x) = 0.5 (xm/x)^3 [x >= xm] + 0.5 exp(-x/2ms). Get latency = the read reply's 3 ms.
  const std::string yaml = R"(
name: legs
duration: 30s
warmup: 1s
network:
  latency: 0s
  message_delay:
    quorum_write_ack: mixture(0.5*pareto(xm=1ms, alpha=3), 0.5*exponential(mean=2ms))
    quorum_read_reply: 3ms
groups:
  - name: store
    model: quorum
    count: 3
    params: {n: 3, w: 2, r: 2, versioning: lww, sloppy_quorum: false, read_repair: none}
  - name: clients
    model: kv_client
    count: 2
    params: {target: store, rate: 400/s, mix: {get: 0.5, put: 0.5}, keys: uniform(1000)}
consistency: {linearizability: false}
)";
  auto survival = [](double x) {  // of one draw, x in ms
    return (x >= 1 ? 0.5 / (x * x * x) : 0.5) + 0.5 * std::exp(-x / 2);
  };
  auto density = [](double x) {
    return (x >= 1 ? 1.5 / (x * x * x * x) : 0.0) + 0.25 * std::exp(-x / 2);
  };
  auto quantile_of_min = [&](double q) {  // S(x)^2 = 1 - q
    double lo = 0, hi = 100;
    for (int i = 0; i < 200; ++i) {
      const double m = 0.5 * (lo + hi);
      (survival(m) * survival(m) > 1 - q ? lo : hi) = m;
    }
    return 0.5 * (lo + hi);
  };
  const RunOutput out = run_scenario(load(yaml, 3));
  const double puts = metric(out, "clients", "ok", "put");
  REQUIRE(puts > 10000);
  const double hist = Histogram::max_relative_error(kSummaryHistogramBits);
  for (const auto& [q, name] :
       {std::pair{0.5, "latency_ms_p50"}, std::pair{0.9, "latency_ms_p90"}}) {
    const double x = quantile_of_min(q);
    // The sample quantile's standard error: sqrt(q(1-q)/n) / f(x), f the density of the
    // minimum, 2 S(x) s(x).
    const double f = 2 * survival(x) * density(x);
    const double se = std::sqrt(q * (1 - q) / puts) / f;
    const double got = metric(out, "clients", name, "put");
    INFO(name << ": simulated " << got << " ms, theory " << x << " ms, se " << se);
    CHECK(std::abs(got - x) < 5 * se + hist * x);
  }
  CHECK(metric(out, "clients", "latency_ms_p50", "get") == Approx(3.0).epsilon(hist));
  CHECK(metric(out, "clients", "latency_ms_max", "get") == Approx(3.0));
  // The read leg's delay does not touch writes, nor the write legs' reads.
  CHECK(metric(out, "clients", "latency_ms_max", "put") < 1000);
  CHECK(metric(out, "clients", "latency_ms_p50", "put") < 1.2);
}
