// `swim`: membership and failure detection by SWIM (Das, Gupta and Motivala, "SWIM:
// Scalable Weakly-consistent Infection-style Process Group Membership Protocol", DSN 2002):
//   - every protocol period (on the node's own clock) a member pings one other member,
//     chosen round robin through a random permutation of the group (section 4.3), or
//     uniformly at random (the basic protocol of section 3); without
//     an ack within `ping_timeout` it asks `indirect_probes` other members to ping the
//     target for it (ping-req); without any ack by the end of the period, the probe failed;
//   - a failed probe makes the target suspected (section 4.2), or dead at once without the
//     suspicion mechanism; a suspicion not refuted within the suspicion timeout becomes
//     dead. A member that hears it is suspected (or dead) refutes it with a higher
//     incarnation number, which overrides the suspicion everywhere it spreads;
//   - membership updates (alive, suspect, dead, each with an incarnation) travel piggybacked
//     on pings, ping-reqs and acks, each sent a bounded number of times (section 4.1);
//   - joins and leaves, as memberlist runs them: a member that starts after time 0 (a join,
//     a restart) exchanges views with one member (Sync); a leaving member spreads its own
//     "left" for `leave_linger` before it stops, and is never declared dead for it.
// Lifeguard's three refinements (Dadgar, Phillips and Currey, "Lifeguard: Local Health
// Awareness for More Accurate Failure Detection", 2018) are options (lifeguard.cpp): a
// local health multiplier that stretches a struggling member's period and timeouts, fed by
// the nacks of ping-req relays; suspicion timeouts that start long and shrink with
// independent confirmations; and the buddy system, in which a ping to a member this node
// suspects carries that suspicion first, so the member can refute it at once.
//
// Memory: a member's view holds only what differs from "every member of the group alive at
// incarnation 0" (view.h), so it grows with the changes a member has heard of, not with the
// group: 10^5 members fit. The round-robin order is an affine permutation, two numbers.
//
// The analysis (the kit's detection.h) reads the members' timeline marks (suspect, dead,
// alive per observer and target) against the crashes: time to first suspicion and to
// detection by every live member, false positives (live members declared dead),
// refutations.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/swim/view.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"
#include "sim/core/timeline.h"

namespace dsim::swim {

/// Timeline marks: a = the target's index in the group, b = the incarnation.
inline constexpr std::string_view kMarkSuspect = "swim_suspect";
inline constexpr std::string_view kMarkDead = "swim_dead";
inline constexpr std::string_view kMarkAlive = "swim_alive";    ///< a suspicion cleared
inline constexpr std::string_view kMarkRefute = "swim_refute";  ///< a = self, b = new incarnation
inline constexpr std::string_view kMarkRejoin =
    "swim_rejoin";  ///< a restart or a join: a = self, b = new incarnation
inline constexpr std::string_view kMarkLeft = "swim_left";    ///< holds the member left
inline constexpr std::string_view kMarkLeave = "swim_leave";  ///< a = self, b = incarnation

/// A probe: `seq` is the prober's; `target` is whom it is for (a relayed ping's target is
/// the relay's own probe of it).
struct Ping {
  static constexpr std::string_view kName = "swim_ping";
  uint32_t seq = 0;
  Updates updates;
  uint32_t update_bytes = 0;
  uint32_t size_bytes() const { return 24 + static_cast<uint32_t>(updates.size()) * update_bytes; }
  std::string describe() const;
};

/// Asks the receiver to ping `target` and forward its ack.
struct PingReq {
  static constexpr std::string_view kName = "swim_ping_req";
  uint32_t seq = 0;
  uint32_t target = 0;  ///< index in the group
  Updates updates;
  uint32_t update_bytes = 0;
  uint32_t size_bytes() const { return 28 + static_cast<uint32_t>(updates.size()) * update_bytes; }
  std::string describe() const;
};

/// A ping-req relay's "no ack from the target yet" after ping_timeout (Lifeguard): the asker
/// expected it, and a missing nack tells the asker that it, not the target, is slow.
struct Nack {
  static constexpr std::string_view kName = "swim_nack";
  uint32_t seq = 0;  ///< the asker's
  uint32_t size_bytes() const { return 16; }
  std::string describe() const { return "nack " + std::to_string(seq); }
};

/// A push-pull state exchange (memberlist's join): a member that starts after time 0 (a
/// join, a rejoin, a restart) sends what its view holds to one member, which merges it and
/// answers with its own (`reply`).
struct Sync {
  static constexpr std::string_view kName = "swim_sync";
  bool reply = false;
  Updates updates;
  uint32_t update_bytes = 0;
  uint32_t size_bytes() const { return 24 + static_cast<uint32_t>(updates.size()) * update_bytes; }
  std::string describe() const;
};

/// Answers a ping (or forwards the answer to a ping-req): `seq` is the asker's.
struct Ack {
  static constexpr std::string_view kName = "swim_ack";
  uint32_t seq = 0;
  Updates updates;
  uint32_t update_bytes = 0;
  uint32_t size_bytes() const { return 24 + static_cast<uint32_t>(updates.size()) * update_bytes; }
  std::string describe() const;
};

class SwimNode final : public Model {
 public:
  static constexpr std::string_view kName = "swim";
  static constexpr std::string_view kDescription =
      "SWIM membership and failure detection (Das et al. 2002): round-robin pings, "
      "ping-req through k members, suspicion with incarnation numbers, piggybacked "
      "dissemination; detection times, false positives";

  enum class Targets : uint8_t { kRoundRobin, kRandom };

  struct Config {
    Duration period = seconds(1);     ///< the protocol period T'
    Duration ping_timeout = ms(200);  ///< before the indirect probes
    uint32_t indirect_probes = 3;     ///< k
    bool suspicion = true;
    double suspicion_mult = 4;   ///< suspicion timeout: mult × max(1, log10 n) × period
    double retransmit_mult = 4;  ///< an update is piggybacked mult × ceil(log10(n + 1)) times
    uint32_t max_piggyback = 8;  ///< updates per message
    uint64_t update_bytes = 16;  ///< one update on the wire
    bool buddy = false;          ///< Lifeguard's buddy system
    /// Lifeguard's local health multiplier: at most this (0: off); period and ping timeout
    /// are × (1 + multiplier).
    uint32_t health_max = 0;
    /// Lifeguard's dynamic suspicion: the timeout starts at suspicion_max_mult × the
    /// shortest and falls to the shortest as `confirmations` others suspect the same.
    bool dynamic_suspicion = false;
    double suspicion_max_mult = 6;
    uint32_t confirmations = 3;  ///< K
    Targets targets = Targets::kRoundRobin;
    /// A leaving member goes on this long, its leave piggybacked on its pings and acks.
    Duration leave_linger = seconds(1);
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static AnalysisOutput analyze(const AnalysisInput& in);
  /// Its sections of the HTML report: detection times per crash and false positives
  /// (kit/detection.h).
  static std::vector<ReportSection> report(const ReportInput& in);

  explicit SwimNode(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  Duration on_leave(Context& ctx) override;
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;
  void check_invariants() const override;

 private:
  enum class Timer : uint8_t { kPeriod, kPingTimeout, kSuspicion, kRelay, kNack, kSync };
  struct Relay {  // a ping this node sends for another's ping-req
    NodeId asker;
    uint32_t asker_seq;
  };
  struct Suspicion {  // a member this node holds suspected, and who else suspects it
    TimerId timer;
    SimTime since;                     // monotonic
    std::vector<uint32_t> confirmers;  // the first suspecter first
  };

  void period(Context& ctx);
  /// A push-pull exchange with a random member, again each period until one answers.
  void sync(Context& ctx);
  void on_sync(Context& ctx, NodeId from, const Sync& sync);
  void probe_failed(Context& ctx);
  void probe_ended(Context& ctx);
  // Lifeguard (lifeguard.cpp)
  void adjust_health(Context& ctx, int delta);
  Duration scaled(Duration d) const { return d * static_cast<int64_t>(1 + health_); }
  Duration suspicion_timeout(uint32_t confirmed) const;
  void start_suspicion(Context& ctx, const Update& u);
  void confirm_suspicion(Context& ctx, const Update& u);
  void relay_nack(Context& ctx, uint32_t relay_seq);
  uint32_t next_target(Context& ctx);
  void indirect(Context& ctx);
  void receive(Context& ctx, const Updates& updates);
  /// Applies one update to the view; spreads it when it changed anything.
  void apply(Context& ctx, const Update& u);
  /// This node's own state as others see it: refutes a suspicion or death.
  void about_self(Context& ctx, const Update& u);
  void changed(Context& ctx, const Update& u, MemberState before);
  Updates piggyback(uint32_t for_target);
  void send_ping(Context& ctx, uint32_t target, uint32_t seq);
  /// Sends `msg`, counting it in swim_messages and swim_bytes.
  template <class M>
  void send(Context& ctx, NodeId to, M msg);
  NodeId node_of(uint32_t index) const { return peers_[index]; }
  uint32_t index_of(NodeId node) const;
  bool usable(uint32_t index) const;  ///< not self, not dead

  const Config& config_;
  std::span<const NodeId> peers_;
  uint32_t self_ = 0;  // index in the group
  uint32_t n_ = 0;
  uint32_t incarnation_ = 0;
  bool leaving_ = false;
  bool syncing_ = false;  // no member has answered this one's Sync yet
  View view_;
  Dissemination gossip_;
  // round robin: member (a × k + b) mod n for k = 0, 1, ...
  uint64_t rr_a_ = 1, rr_b_ = 0, rr_k_ = 0;
  // the current probe
  uint32_t seq_ = 0;
  uint32_t target_ = 0;
  uint32_t target_incarnation_ = 0;  // the target's, as this member knew it at the ping
  bool probing_ = false, acked_ = false;
  uint32_t nacks_expected_ = 0, nacks_ = 0;             // for the current probe
  uint32_t health_ = 0;                                 // Lifeguard's local health multiplier
  std::unordered_map<uint32_t, Relay> relays_;          // by the relay ping's seq; lookups only
  std::unordered_map<uint32_t, Suspicion> suspicions_;  // by member; lookups only
  Duration suspicion_timeout_;                          // the shortest
  Symbol m_suspect_, m_dead_, m_alive_, m_refute_, m_rejoin_, m_left_, m_leave_, m_syncs_,
      m_probes_, m_failed_probes_, m_indirect_, m_messages_, m_bytes_, m_view_, m_health_, m_nacks_,
      m_missed_nacks_, m_confirmations_;
};

template <class M>
void SwimNode::send(Context& ctx, NodeId to, M msg) {
  ctx.record().count(m_messages_);
  ctx.record().count(m_bytes_, msg.size_bytes());
  ctx.send(to, std::move(msg));
}

}  // namespace dsim::swim
