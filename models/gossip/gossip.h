// `gossip`: epidemic dissemination of rumors through a group, after Demers et al.,
// "Epidemic Algorithms for Replicated Database Maintenance" (PODC 1987):
//   - anti-entropy (their "simple epidemic"): every round each node contacts `fanout`
//     peers and reconciles everything it knows with them, forever. Full state, or digests
//     first and then only what the other side lacks (section 1.3's checksums, simplified to
//     lists of rumor ids);
//   - rumor mongering (their "complex epidemic", section 1.4): a node passes on only the
//     rumors it is still hot about, and loses interest in one by a stop rule:
//     feedback (only contacts that already knew it count) or blind (every contact counts),
//     and counter (after k of them) or coin (with probability 1/k after each).
// Exchanges are push (the caller sends), pull (the callee sends) or push-pull (both, in one
// round trip). Rounds run on each node's own timer, so clock drift, timer jitter and
// random phases make them asynchronous. Peers are drawn uniformly from the group, or
// (`peers: nearby`) mostly from the nearest ones (same zone, else region: the least typical
// latency), as topology-aware gossip does to keep traffic off wide-area links; `phase: aligned` and
// a constant latency shorter than the period give lockstep rounds (PeerSim's cycles).
//
// Every node records when it learned each rumor (timeline mark `informed`), and the
// analysis (analysis.cpp) turns those marks into each rumor's spread curve, time to reach
// every live node, and residue. A crash loses what the node knew (the state is in memory).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/cycles.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"
#include "sim/core/timeline.h"

namespace dsim::gossip {

/// A rumor's id: the origin's index in its group (high 32 bits) and the origin's count of
/// rumors started (low 32 bits), unique in the group.
using RumorId = uint64_t;

/// The timeline marks the analysis reads: a node learned rumor `a`; a node lost interest in
/// rumor `a` (rumor mongering); a node's traffic when the run ended (a: rounds, b: messages;
/// bytes: a).
inline constexpr std::string_view kMarkInformed = "gossip_informed";
inline constexpr std::string_view kMarkCooled = "gossip_cooled";
inline constexpr std::string_view kMarkTraffic = "gossip_traffic";
inline constexpr std::string_view kMarkTrafficBytes = "gossip_traffic_bytes";

enum class Protocol : uint8_t { kAntiEntropy, kRumor };
enum class Exchange : uint8_t { kPush, kPull, kPushPull };
enum class Feedback : uint8_t { kFeedback, kBlind };
enum class LossOfInterest : uint8_t { kCounter, kCoin };
enum class Phase : uint8_t { kRandom, kAligned };
enum class Content : uint8_t { kFull, kDigest };
enum class Peers : uint8_t { kUniform, kNearby };

/// A gossip contact's first message: the rumors pushed (values) and, for pull and
/// push-pull, or with digests, the ids the caller knows.
/// Sizes on the wire: a rumor's value and a rumor id.
struct WireSizes {
  static constexpr uint32_t kHeader = 16;
  uint32_t rumor = 0;
  uint32_t id = 0;
  /// A message's bytes: its header, `values` rumors' values and `ids` rumor ids.
  uint32_t message(size_t values, size_t ids) const {
    return kHeader + static_cast<uint32_t>(values) * rumor + static_cast<uint32_t>(ids) * id;
  }
};

struct GossipRequest {
  static constexpr std::string_view kName = "gossip_request";
  std::vector<RumorId> rumors;  ///< values sent
  std::vector<RumorId> digest;  ///< ids the caller knows (pull, push-pull, digests)
  WireSizes sizes;
  bool wants_reply = false;  ///< pull, push-pull, digests, or push with feedback
  uint32_t size_bytes() const;
  std::string describe() const;
};

/// The callee's answer: the rumors the caller lacks (values), the ids the callee lacks
/// (digests: the caller then sends their values), and which pushed rumors it already knew
/// (the feedback rumor mongering's stop rule needs).
struct GossipReply {
  static constexpr std::string_view kName = "gossip_reply";
  std::vector<RumorId> rumors;
  std::vector<RumorId> wanted;
  std::vector<RumorId> already_known;
  WireSizes sizes;
  uint32_t size_bytes() const;
  std::string describe() const;
};

/// Digests, push part: the values the callee asked for.
struct GossipValues {
  static constexpr std::string_view kName = "gossip_values";
  std::vector<RumorId> rumors;
  WireSizes sizes;
  uint32_t size_bytes() const;
  std::string describe() const;
};

class GossipNode final : public Model {
 public:
  static constexpr std::string_view kName = "gossip";
  static constexpr std::string_view kDescription =
      "epidemic dissemination (Demers et al. 1987): anti-entropy or rumor mongering with "
      "feedback/blind and counter/coin stop rules, push, pull or push-pull, fan-out per round "
      "on each node's own timer; spread curves, time to reach all, residue";

  struct Config {
    Protocol protocol = Protocol::kRumor;
    Exchange exchange = Exchange::kPush;
    uint32_t fanout = 1;
    Duration period = seconds(1);
    Phase phase = Phase::kRandom;
    Peers peers = Peers::kUniform;
    double nearby = 0.9;  ///< Peers::kNearby: the chance a contact goes to a nearest peer
    // rumor mongering's stop rule
    Feedback feedback = Feedback::kFeedback;
    LossOfInterest loss = LossOfInterest::kCounter;
    uint32_t k = 1;
    // anti-entropy
    Content content = Content::kFull;
    // the rumors
    uint32_t rumors = 1;
    Duration first_rumor = seconds(1);
    Duration rumor_every = seconds(60);
    uint32_t origin = 0;
    double rumor_rate = 0;  ///< per second, in the whole group, at uniformly random nodes
    uint64_t rumor_bytes = 100;
    uint64_t id_bytes = 8;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static AnalysisOutput analyze(const AnalysisInput& in);
  /// Its sections of the HTML report: the rumors' spread curves, residue and delays (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);
  /// The cycle-driven form (engine: cycles; cycles.cpp): the same exchanges and stop rules
  /// on the whole group's state, one turn per node and cycle.
  static std::unique_ptr<CycleGroup> cycle_group(const Config& c, const CycleSetup& s);
  static std::string cycle_refusal(const Config& c);
  /// Rumors a cycle-driven group can hold: what a node knows is a bit set of one word.
  static constexpr uint32_t kMaxCycleRumors = 64;

  explicit GossipNode(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_stop(Context& ctx) override;
  void check_invariants() const override;

 private:
  enum class Timer : uint8_t { kRound, kRumor, kRandomRumor };  // kRumor's value: its number
  /// What a node knows of one rumor. `hot`: it still spreads it (rumor mongering; in
  /// anti-entropy every known rumor is spread).
  struct Known {
    RumorId id;
    bool hot;
    uint32_t count;  ///< contacts counted towards the stop rule
  };

  void round(Context& ctx);
  void contact(Context& ctx, NodeId peer);
  void start_rumor(Context& ctx);
  void schedule_random_rumor(Context& ctx);
  /// Sets the timer of this node's next scheduled rumor at or after `from` (its number).
  void schedule_rumor(Context& ctx, uint64_t from);
  void on_request(Context& ctx, NodeId from, const GossipRequest& req);
  void on_reply(Context& ctx, NodeId from, const GossipReply& reply);
  /// Learns `id`; true when it was new.
  bool learn(Context& ctx, RumorId id);
  /// Learns `id` from a message, counting it as redundant when it was known.
  bool receive(Context& ctx, RumorId id);
  const Known* find(RumorId id) const;
  Known* find(RumorId id);
  /// A contact about `id` that counts towards the stop rule (`needless`: the other side
  /// already knew it).
  void counted(Context& ctx, RumorId id, bool needless);
  std::vector<RumorId> spread_set() const;  ///< what this node sends: hot, or all
  bool spreads_anything() const;            ///< spread_set() is not empty
  std::vector<RumorId> known_ids() const;
  std::vector<RumorId> missing_from(const std::vector<RumorId>& theirs) const;
  template <class M>
  void send(Context& ctx, NodeId to, M msg);
  NodeId pick_peer(Context& ctx);
  void find_nearest(Context& ctx);

  const Config& config_;
  std::vector<Known> known_;  // sorted by id
  std::span<const NodeId> peers_;
  std::vector<NodeId> nearest_;  // Peers::kNearby: the peers at the least typical latency
  uint32_t self_index_ = 0;
  uint32_t started_ = 0;  // rumors this node started
  uint32_t hot_ = 0;
  int64_t rounds_ = 0, messages_ = 0, bytes_ = 0;
  WireSizes sizes_;
  Symbol m_informed_, m_cooled_, m_traffic_, m_traffic_bytes_, m_messages_, m_bytes_, m_hot_,
      m_learned_, m_redundant_;
};

}  // namespace dsim::gossip
