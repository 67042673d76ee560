// The gossip model's parameters and the figures it reports.
#include <limits>

#include "models/gossip/gossip.h"

namespace dsim::gossip {

namespace {

void read_stop_rule(ParamReader& r, GossipNode::Config& c) {
  c.feedback =
      r.choice("stop", c.feedback, {{"feedback", Feedback::kFeedback}, {"blind", Feedback::kBlind}},
               "rumor: which contacts count towards losing interest: feedback (only "
               "those that already knew the rumor) or blind (every one)");
  c.loss = r.choice("loss", c.loss,
                    {{"counter", LossOfInterest::kCounter}, {"coin", LossOfInterest::kCoin}},
                    "rumor: counter (lose interest after k counted contacts) or coin (with "
                    "probability 1/k after each counted contact)");
  c.k = static_cast<uint32_t>(
      r.integer("k", c.k, "rumor: the stop rule's k (contacts, or 1/probability)", 1, 1000));
}

void read_rumors(ParamReader& r, GossipNode::Config& c) {
  c.rumors = static_cast<uint32_t>(r.integer(
      "rumors", c.rumors, "rumors started on schedule: at first_rumor, then every rumor_every", 0,
      1'000'000));
  c.first_rumor = r.duration("first_rumor", c.first_rumor, "when the first scheduled rumor starts");
  c.rumor_every = r.duration("rumor_every", c.rumor_every, "time between scheduled rumors",
                             Duration::from_ns(1));
  c.origin = static_cast<uint32_t>(
      r.integer("origin", c.origin,
                "index in the group of the node that starts the first scheduled rumor; rumor i "
                "starts on node (origin + i) mod n",
                0, std::numeric_limits<uint32_t>::max()));
  c.rumor_rate = r.rate("rumor_rate", c.rumor_rate,
                        "more rumors, a Poisson stream in the whole group, each started by a "
                        "uniformly random node (each node at rumor_rate / n)");
  c.rumor_bytes = r.size("rumor_size", c.rumor_bytes, "size of a rumor's value on the wire");
  c.id_bytes = r.size("id_size", c.id_bytes, "size of a rumor id in a digest or feedback list");
  if (c.rumor_bytes > (1u << 20)) r.error("rumor_size", "at most 1MiB");
  if (c.id_bytes > 1024) r.error("id_size", "at most 1KiB");
}

}  // namespace

GossipNode::Config GossipNode::parse(ParamReader& r) {
  Config c;
  c.protocol =
      r.choice("protocol", c.protocol,
               {{"rumor", Protocol::kRumor}, {"anti_entropy", Protocol::kAntiEntropy}},
               "rumor: rumor mongering, hot rumors only, with a stop rule; anti_entropy: reconcile "
               "everything known, every round, forever");
  c.exchange = r.choice(
      "exchange", c.exchange,
      {{"push", Exchange::kPush}, {"pull", Exchange::kPull}, {"push_pull", Exchange::kPushPull}},
      "push: the caller sends; pull: the callee sends; push_pull: both, in one round trip");
  c.fanout = static_cast<uint32_t>(
      r.integer("fanout", c.fanout, "peers each node contacts per round", 1, 1000));
  c.period = r.duration("period", c.period, "time between a node's rounds, on its own clock",
                        Duration::from_ns(1));
  c.phase = r.choice("phase", c.phase, {{"random", Phase::kRandom}, {"aligned", Phase::kAligned}},
                     "random: each node's first round at a uniform draw within the first period; "
                     "aligned: every node's rounds at multiples of the period (lockstep cycles)");
  c.peers = r.choice("peers", c.peers, {{"uniform", Peers::kUniform}, {"nearby", Peers::kNearby}},
                     "uniform: every other node of the group alike; nearby: with probability "
                     "`nearby` one of the nearest (least typical latency: the same zone, else "
                     "region), else any");
  if (c.peers == Peers::kNearby || r.doc_mode() || r.has("nearby")) {
    c.nearby = r.probability("nearby", c.nearby,
                             "peers nearby: the chance a contact goes to one of the nearest peers");
    if (c.peers != Peers::kNearby && !r.doc_mode()) r.error("nearby", "applies to peers: nearby");
  }
  const bool rumor = c.protocol == Protocol::kRumor;
  if (rumor || r.doc_mode() || r.has("stop") || r.has("loss") || r.has("k")) {
    read_stop_rule(r, c);
    if (!rumor && !r.doc_mode()) {
      for (const char* key : {"stop", "loss", "k"})
        if (r.has(key)) r.error(key, "applies to protocol 'rumor' (anti-entropy never stops)");
    }
  }
  if (!rumor || r.doc_mode() || r.has("content")) {
    c.content =
        r.choice("content", c.content, {{"full", Content::kFull}, {"digest", Content::kDigest}},
                 "anti_entropy: full (send every value known) or digest (send ids; values only "
                 "for what the other side lacks)");
    if (rumor && !r.doc_mode()) r.error("content", "applies to protocol 'anti_entropy'");
  }
  read_rumors(r, c);
  return c;
}

void GossipNode::declare(const Config&, MetricDecls& d) {
  d.counter("gossip_messages");
  d.counter("gossip_bytes");
  d.counter("rumors_learned");
  d.counter("redundant_rumors");
  d.level("hot_rumors");
  for (std::string_view f :
       {"rumors", "rumors_reached_all", "residue_mean", "residue_max", "time_to_all_ms_mean",
        "time_to_all_ms_max", "periods_to_all_mean", "periods_to_all_max",
        "messages_per_node_per_period", "bytes_per_node_per_period"})
    d.figure(f);
}

}  // namespace dsim::gossip
