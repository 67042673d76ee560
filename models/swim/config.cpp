// The SWIM model's parameters and the figures it reports.
#include "models/swim/swim.h"

#include "models/kit/detection.h"

namespace dsim::swim {

SwimNode::Config SwimNode::parse(ParamReader& r) {
  Config c;
  c.period = r.duration("period", c.period, "the protocol period T': one probe per period",
                        Duration::from_ns(1));
  c.ping_timeout = r.duration("ping_timeout", c.ping_timeout,
                              "wait for a direct ack before asking others to probe (ping-req)",
                              Duration::from_ns(1));
  c.targets = r.choice("targets", c.targets,
                       {{"round_robin", Targets::kRoundRobin}, {"random", Targets::kRandom}},
                       "whom a member probes: round robin through a random permutation of the "
                       "group, drawn anew each pass (bounded detection time), or uniformly at "
                       "random each period (the basic protocol)");
  c.indirect_probes =
      static_cast<uint32_t>(r.integer("indirect_probes", c.indirect_probes,
                                      "k: members asked to probe the target (ping-req)", 0, 64));
  c.suspicion = r.boolean("suspicion", c.suspicion,
                          "a failed probe makes the target suspected, dead only if nobody refutes "
                          "it in time; false: dead at once (basic SWIM)");
  c.suspicion_mult =
      r.number("suspicion_mult", c.suspicion_mult,
               "suspicion timeout = suspicion_mult x max(1, log10 n) x period", 0.01, 1e6);
  c.retransmit_mult =
      r.number("retransmit_mult", c.retransmit_mult,
               "an update is piggybacked retransmit_mult x ceil(log10(n + 1)) times", 0.01, 1e6);
  c.max_piggyback = static_cast<uint32_t>(
      r.integer("max_piggyback", c.max_piggyback, "updates piggybacked on one message", 1, 1024));
  c.update_bytes = r.size("update_size", c.update_bytes, "one update on the wire");
  c.buddy = r.boolean("buddy", c.buddy,
                      "Lifeguard's buddy system: a ping to a suspected member carries the "
                      "suspicion first, so the member refutes it at once");
  c.health_max = static_cast<uint32_t>(
      r.integer("health_max", c.health_max,
                "Lifeguard's local health multiplier: at most this (0: off; memberlist uses 8). "
                "Failed probes, missing nacks and refutations raise it, successful probes lower "
                "it; period and ping_timeout are x (1 + multiplier)",
                0, 64));
  c.dynamic_suspicion =
      r.boolean("dynamic_suspicion", c.dynamic_suspicion,
                "Lifeguard's dynamic suspicion: the timeout starts at suspicion_max_mult x the "
                "suspicion_mult one and falls to it as `confirmations` other members suspect "
                "the same member");
  c.suspicion_max_mult =
      r.number("suspicion_max_mult", c.suspicion_max_mult,
               "dynamic suspicion: the longest timeout, as a multiple of the shortest", 1, 1e6);
  c.confirmations = static_cast<uint32_t>(r.integer(
      "confirmations", c.confirmations,
      "dynamic suspicion: K, the independent suspicions that bring the timeout to the shortest", 1,
      64));
  c.leave_linger = r.duration("leave_linger", c.leave_linger,
                              "a leaving member (a leave fault) goes on this long, spreading "
                              "its leave on its pings and acks, before it stops",
                              Duration::zero());
  if (c.ping_timeout >= c.period) {
    r.error("ping_timeout", "must be shorter than the period: the indirect probes need the rest");
  }
  if (c.update_bytes > 4096) r.error("update_size", "at most 4KiB");
  return c;
}

void SwimNode::declare(const Config& config, MetricDecls& d) {
  for (std::string_view c :
       {"probes", "failed_probes", "indirect_probes_sent", "swim_messages", "swim_bytes", "syncs"})
    d.counter(c);
  d.level("view_entries");
  if (config.health_max > 0) {
    d.counter("nacks");
    d.counter("missed_nacks");
    d.level("local_health");
  }
  if (config.dynamic_suspicion) d.counter("suspicion_confirmations");
  for (std::string_view f :
       {"crashes", "crashes_detected", "first_suspect_ms_mean", "first_suspect_ms_max",
        "first_dead_ms_mean", "first_dead_ms_max", "all_dead_ms_mean", "all_dead_ms_max",
        "false_positives", "false_positives_per_node_hour", "false_suspicions", "refutations"})
    d.figure(f);
  for (std::string_view f : kit::kFlapAndHealFigures)
    d.figure(f);
  for (std::string_view f : kit::kJoinAndLeaveFigures)
    d.figure(f);
}

}  // namespace dsim::swim
