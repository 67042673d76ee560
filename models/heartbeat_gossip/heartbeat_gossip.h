// `heartbeat_gossip`: membership and failure detection by gossiped heartbeat counters (van
// Renesse, Minsky and Hayden, "A Gossip-Style Failure Detection Service", Middleware 1998;
// the membership of the key-value store chapter of the system-design books, and of
// Cassandra):
//   - every member keeps a table of every member's heartbeat counter and, on its own
//     clock, each `period` raises its own counter and sends the whole table to `fanout`
//     random members, which keep the higher counter of each entry;
//   - a member whose counter has not risen for `fail_after` is declared dead (the
//     paper's T_fail); or, with `detector: phi`, when the phi-accrual level of the gaps
//     between its counter's rises passes `phi_threshold` (Hayashibara et al. 2004, as
//     Cassandra and Akka use it: the kit's PhiAccrualDetector, with Akka's acceptable
//     heartbeat pause as `phi_acceptable_pause`);
//   - a counter that rises again brings the member back. A counter's high bits are the
//     member's generation, raised at each restart and kept on its disk (as Cassandra's
//     generation), so a restarted member's counter starts above its old one;
//   - joins and leaves (as Cassandra's gossip states): a member joining after the start is
//     unknown to the others until a counter of it reaches them; a leaving member marks its
//     counter `left` and gossips it for `leave_linger` before it stops: who hears it holds
//     it left, neither watched nor sent to, and not declared dead.
// Memory: each member holds the whole table, n counters (and, with phi, a window of
// gaps per member), so a group costs O(n^2): thousands of members, not millions. A message
// carries the table: `entry_size` bytes per member.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/failure_detector.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"
#include "sim/core/timeline.h"

namespace dsim::heartbeat_gossip {

/// Timeline marks (a = the target's index in the group, b = its generation as last seen):
/// declared dead; back. A restart: a = self, b = the new generation.
inline constexpr std::string_view kMarkDead = "heartbeat_dead";
inline constexpr std::string_view kMarkAlive = "heartbeat_alive";
inline constexpr std::string_view kMarkRejoin = "heartbeat_rejoin";
/// Holds the member left (a = the member, b = its generation); a member leaves (a = self).
inline constexpr std::string_view kMarkLeft = "heartbeat_left";
inline constexpr std::string_view kMarkLeave = "heartbeat_leave";
/// A counter: generation << kGenerationShift, plus the heartbeats of that generation, and
/// kLeftBit once the member leaves.
inline constexpr int kGenerationShift = 40;
inline constexpr uint64_t kLeftBit = uint64_t{1} << 63;
/// `a` is newer news than `b`: a higher counter, or the same one marked left.
inline bool newer(uint64_t a, uint64_t b) {
  const uint64_t ca = a & ~kLeftBit, cb = b & ~kLeftBit;
  return ca > cb || (ca == cb && (a & kLeftBit) && !(b & kLeftBit));
}

/// A member's table: every member's heartbeat counter, by index in the group.
struct Heartbeats {
  static constexpr std::string_view kName = "heartbeats";
  std::vector<uint64_t> counters;
  uint32_t entry_bytes = 0;
  uint32_t size_bytes() const { return 16 + static_cast<uint32_t>(counters.size()) * entry_bytes; }
  std::string describe() const { return "heartbeats of " + std::to_string(counters.size()); }
};

class HeartbeatGossip final : public Model {
 public:
  static constexpr std::string_view kName = "heartbeat_gossip";
  static constexpr std::string_view kDescription =
      "membership by gossiped heartbeat counters (van Renesse et al. 1998): a member whose "
      "counter stops rising is declared dead after a timeout or a phi-accrual threshold";

  enum class Detector : uint8_t { kTimeout, kPhi };

  struct Config {
    Duration period = seconds(1);
    uint32_t fanout = 1;
    Detector detector = Detector::kTimeout;
    Duration fail_after = seconds(10);  ///< T_fail
    kit::PhiAccrualDetector::Config phi;
    uint64_t entry_bytes = 12;
    Duration leave_linger = seconds(1);  ///< a leaving member gossips its leave this long
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static AnalysisOutput analyze(const AnalysisInput& in);
  /// Its sections of the HTML report: detection times per crash and false positives
  /// (kit/detection.h).
  static std::vector<ReportSection> report(const ReportInput& in);

  explicit HeartbeatGossip(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  Duration on_leave(Context& ctx) override;
  void check_invariants() const override;

 private:
  enum class Timer : uint8_t { kPeriod };

  void round(Context& ctx);
  void heard(Context& ctx, uint32_t member);
  bool suspected(uint32_t member, SimTime now) const;

  const Config& config_;
  std::span<const NodeId> peers_;
  uint32_t self_ = 0;
  std::vector<uint64_t> counters_;
  std::vector<uint8_t> dead_;
  std::vector<uint8_t> member_;  // in the group as this member knows: not left, not unknown
  std::unique_ptr<kit::HeartbeatDetector> timeout_;
  std::unique_ptr<kit::PhiAccrualDetector> phi_;
  void watch(Context& ctx, uint32_t member);
  Symbol m_dead_, m_alive_, m_rejoin_, m_left_, m_leave_, m_messages_, m_bytes_, m_dead_count_;
};

}  // namespace dsim::heartbeat_gossip
