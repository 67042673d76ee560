// `pb_monitor`: the group that watches a primary_backup group and decides its shards'
// configurations — who is primary, which backups are in sync — like Redis Sentinel
// ("If master isolated, new master elected. Brief unavailability (<30s) during election",
// as the Modern System Design - Interview Prep Guide describes Redis with Sentinel) or a
// ZooKeeper-based controller.
//
// Failure detection: heartbeats with a timeout (kit::HeartbeatDetector). Each monitor pings every
// replica each `heartbeat_interval`; a primary whose answers stop for `failure_timeout`, or that
// reports it lost its copy (restarted) or was deposed, is suspected. The detector has the failure
// modes the "Infrastructure - Hard Level" problem set lists: false positives when messages are only
// slow or a partition hides a live node, false negatives (slow detection: up to the timeout + one
// interval), and flapping when answers come and go around the timeout. Times are the monitor's own
// clock (ctx.now()), so a step of that clock moves every deadline at once, as it would in a real
// monitor.
//
// Every configuration change is chosen by a majority of the monitors, so the two sides of
// a partition cannot both fail a shard over: one instance of single-decree Paxos per
// change ("which configuration follows the chosen one of epoch b"), ballots being epochs,
// unique to their proposer (monitor i of m uses only epochs = i mod m). A monitor that
// suspects a primary:
//   1. prepare: asks every monitor to promise to ignore lower ballots for the shard. A
//      monitor promises only above its last promise, only if it knows no newer chosen
//      configuration, and for a failover only if it too suspects the primary; it writes the
//      promise to disk and syncs before answering, so a restart cannot break it. With a
//      majority of promises, a configuration some monitor already accepted after the same
//      base (the highest ballot of them) is proposed again; otherwise its own:
//   2. fence: it sends the ballot to the shard's in-sync backups and to the suspected
//      primary (`pb_fence`); with `fencing: epoch` each then refuses the log of any older
//      epoch. Each answers with its log position, or that it has no valid copy (it
//      restarted). It waits for all of them (or `round_timeout`) and needs r − a + 1
//      valid copies of the r in-sync backups, where the primary waits for a of them
//      (sync: 1; semi-sync: all r; async: cannot promise anything, takes whoever
//      answered), or the old primary's own valid copy (it was only slow, or deposed by a
//      round that did not finish: it is chosen again). It picks the most up-to-date
//      (highest (epoch, index)); the other in-sync backups stay in sync, but those that
//      lost their copy (under sync, one that did not answer still holds every
//      acknowledged write: it stays a candidate until the new primary has it removed);
//   3. accept: asks every monitor to accept the configuration (persisted before answering);
//   4. with a majority it is chosen: sent to every replica and monitor (`pb_config`), the
//      chosen backup becomes primary. Monitors resend the newest chosen configuration to
//      any replica whose pongs show an older one.
// The same two phases, without the fence, add a caught-up backup to the in-sync set or
// remove a lagging one at the primary's request (`pb_isr_change`).
//
// Why monitors and not the backups themselves: the primary-backup systems of the
// system-design books fail over from outside (Sentinel; a slave "promoted to master"), the backups'
// view of the primary is only the replication stream, and a separate majority makes the
// monitors' placement decide, in a partition, which side may promote a new primary.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/failure_detector.h"
#include "models/kit/quorum.h"
#include "models/kit/timer.h"
#include "models/primary_backup/layout.h"
#include "models/primary_backup/messages.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"

namespace dsim::pb {

class Monitor final : public Model {
 public:
  static constexpr std::string_view kName = "pb_monitor";
  static constexpr std::string_view kDescription =
      "failure detector and configuration authority of a primary_backup group (Redis "
      "Sentinel style): heartbeats, failover chosen by a majority of monitors (Paxos), "
      "fencing epochs, in-sync set changes";

  struct Config {
    std::string replicas;
    Duration heartbeat_interval = seconds(1);
    Duration failure_timeout = seconds(30);
    Duration round_timeout = seconds(1);
    bool unclean_failover = false;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  /// Its sections of the HTML report: failovers and their phases (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);

  explicit Monitor(const Config& config)
      : config_(config),
        detector_(config.failure_timeout),
        tick_(kit::timer_tag(Timer::kTick), config.heartbeat_interval) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;
  void on_stop(Context& ctx) override;

  // --- inspection (tests) ---
  /// The newest configuration of `shard` this monitor knows to be chosen (nullptr: none).
  const ShardConfig* config(uint32_t shard) const;
  uint64_t promised(uint32_t shard) const;

 private:
  /// One timer kind per concern (kit/timer.h): the heartbeat (pings, suspicions) and the
  /// phase of a round (its value is the round's id).
  enum class Timer : uint8_t { kTick = 1, kRound = 2 };

  enum class Stage : uint8_t { kPrepare, kFence, kAccept };
  struct Round {
    uint64_t id = 0;
    uint64_t ballot = 0;
    Change change = Change::kFailover;
    uint32_t subject = kNoIndex;
    ShardConfig base;
    ShardConfig value;
    Stage stage = Stage::kPrepare;
    std::set<uint32_t> promises, accepts;
    uint32_t refusals = 0;                 // of the prepare and accept phases together
    uint64_t best_accepted = 0;            // highest ballot among the promises' accepted values
    std::vector<uint32_t> candidates;      // fence: the in-sync backups asked
    std::map<uint32_t, LogPos> positions;  // fence: valid answers
    std::set<uint32_t> invalid;            // fence: answers without a valid copy
    uint32_t needed = 1;
    kit::Timeout timer;  // round_timeout, restarted at each phase
  };
  struct Outage {        // a failover of one shard, from the first suspicion to the new primary
    SimTime last_heard;  // the old primary's last sign of life (our clock)
    SimTime suspected;
    uint64_t epoch = 0;  // chosen
    bool chosen = false;
  };
  struct Acceptor {  // what this monitor promised and accepted for one shard (persisted)
    uint64_t promised = 0;
    uint64_t accepted_ballot = 0;
    uint64_t accepted_base = 0;
    ShardConfig accepted;

    /// "promised accepted_ballot accepted_base|configuration": the text on disk.
    std::string serialize() const;
    /// False when the text is not of that shape.
    static bool parse(std::string_view text, Acceptor& out);
  };
  struct PendingReply {
    NodeId to;
    Message msg;
  };

  // Start, dispatch, failure detection (monitor.cpp).
  void intern_metrics(Context& ctx);
  void tick(Context& ctx);
  bool suspects(Context& ctx, uint32_t node, uint32_t s, uint64_t epoch) const;
  void handle_pong(Context& ctx, uint32_t from, const Pong& p);
  void handle_isr_change(Context& ctx, uint32_t from, const IsrChange& req);
  void handle_serving(Context& ctx, const Serving& sv);
  void learn_layout(const Layout& l);
  void learn_chosen(uint32_t s, const ShardConfig& c);
  // The proposer (monitor_paxos.cpp).
  uint64_t next_ballot();
  void start_round(Context& ctx, uint32_t s, Change change, uint32_t subject);
  void handle_promise(Context& ctx, uint32_t from, const Promise& p);
  void after_promises(Context& ctx, uint32_t s, Round& r);
  void start_fence(Context& ctx, uint32_t s, Round& r);
  void handle_fence_reply(Context& ctx, uint32_t from, const FenceReply& f);
  void maybe_choose(Context& ctx, uint32_t s, Round& r, bool timed_out);
  void send_accepts(Context& ctx, uint32_t s, Round& r);
  void handle_accepted(Context& ctx, uint32_t from, const Accepted& a);
  /// One more monitor refused the round's current phase: true when a majority can no
  /// longer grant it.
  bool refused(Round& r) const;
  void chosen(Context& ctx, uint32_t s, const Round& r);
  void abort_round(Context& ctx, uint32_t s, bool backoff);
  void on_round_timeout(Context& ctx, TimerId id);
  // The acceptor (monitor_paxos.cpp).
  void load_acceptors(Context& ctx);
  /// The acceptor's answer (Promise, Accepted) to a proposer's message, for its shard and
  /// ballot (the ballot is heard of: max_seen_).
  template <class Reply, class Request>
  Reply reply_to(const Request& m);
  void persist_and_reply(Context& ctx, uint32_t s, NodeId to, Message reply);
  void handle_prepare(Context& ctx, NodeId from, const Prepare& p);
  void handle_accept(Context& ctx, NodeId from, const Accept& a);

  uint32_t replica_index(NodeId n) const { return index_in(replicas_, n); }
  uint32_t monitor_index(NodeId n) const { return index_in(monitors_, n); }
  uint32_t voters() const { return static_cast<uint32_t>(monitors_.size()); }
  uint32_t majority() const { return kit::majority(voters()); }

  const Config& config_;
  kit::HeartbeatDetector detector_;
  kit::Timeout tick_;  // heartbeat_interval, from a random phase
  std::vector<NodeId> replicas_;
  std::vector<NodeId> monitors_;
  uint32_t me_ = 0;  // index in the monitor group
  bool have_layout_ = false;
  Layout layout_;
  std::map<uint32_t, ShardConfig> chosen_;  // newest chosen configuration known, by shard
  std::map<uint32_t, Acceptor> acceptor_;   // by shard
  uint64_t max_seen_ = 0;                   // highest epoch heard of
  std::vector<SimTime> healthy_;            // last pong with no shard recovering
  std::map<uint32_t, std::map<uint32_t, ShardStatus>> reports_;  // replica -> shard -> status
  std::map<uint32_t, Round> rounds_;                             // by shard: one change at a time
  std::map<uint32_t, SimTime> backoff_;                          // by shard: no new round before
  std::map<uint32_t, Outage> outages_;                           // by shard
  std::map<uint64_t, PendingReply> replies_;  // disk sync seq -> the answer to send after it
  uint64_t ping_seq_ = 0;
  uint64_t next_round_ = 1;

  Symbol m_failovers_, m_rounds_failed_, m_blocked_, m_shrinks_, m_expands_, m_promises_, m_resent_,
      m_suspicions_, m_detection_, m_promotion_, m_failover_time_, m_serving_;
};

}  // namespace dsim::pb
