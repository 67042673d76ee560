// The gossip model's cycle-driven form (engine: cycles): PeerSim's cycle-driven set-up.
// Each cycle, every node of the group takes one turn (in the order the engine draws) and
// runs the round of gossip.cpp against its peers' state directly: the same exchanges
// (push, pull, push-pull; full state or digests), the same stop rules, the same messages
// and sizes, the network's loss drawn per message, but no latency, so what a turn changes
// is visible at once to the turns after it.
//
// What a node knows is one word: bit i is scheduled rumor i (so at most kMaxCycleRumors),
// in 1, 2, 4 or 8 bytes as the rumors need. A node costs that (anti-entropy), twice that
// (rumor mongering), plus 2 bytes per rumor with the counter stop rule: 10^6 nodes fit in
// a few megabytes.
#include <algorithm>
#include <bit>

#include "models/gossip/gossip.h"
#include "sim/core/assert.h"

namespace dsim::gossip {

namespace {

// Bits: what a node knows, one bit per rumor: the narrowest word that holds the group's
// rumors, so that one rumor among 10^6 nodes is 1 MB of state, which the caches hold.
template <class Bits>
class GossipCycles final : public CycleGroup {
 public:
  GossipCycles(const GossipNode::Config& c, const CycleSetup& s)
      : config_(c),
        n_(s.count),
        known_(s.count, 0),
        hot_(rumor() ? s.count : 0, 0),
        counts_(rumor() && c.loss == LossOfInterest::kCounter ? size_t{s.count} * c.rumors : 0, 0),
        sizes_{static_cast<uint32_t>(c.rumor_bytes), static_cast<uint32_t>(c.id_bytes)},
        warmup_end_(s.warmup_end),
        measured_seconds_(s.measured.to_seconds()) {
    DSIM_ASSERT(c.rumors <= GossipNode::kMaxCycleRumors && n_ > 0);
  }

  Duration period() const override { return config_.period; }

  SimTime next_due() const override {
    if (started_ >= config_.rumors) return SimTime::max();
    return SimTime::zero() + config_.first_rumor + config_.rumor_every * int64_t(started_);
  }

  // Starts the scheduled rumor that is due: rumor i on node (origin + i) mod n, whose
  // id counts the rumors that node started before (as gossip.cpp numbers them).
  void at(CycleWorld& world) override {
    catch_up(world);
    const uint32_t i = started_++;
    const uint32_t origin = static_cast<uint32_t>((uint64_t{config_.origin} + i) % n_);
    ids_[i] = (uint64_t{origin} << 32) | (i / n_);
    learn(world, origin, i);
  }

  void turn(CycleWorld& world, uint32_t x) override {
    catch_up(world);
    ++rounds_;
    if (n_ < 2) return;
    if (config_.exchange == Exchange::kPush && spread(x) == 0) return;
    const uint32_t fanout = std::min(config_.fanout, n_ - 1);
    chosen_.clear();
    while (chosen_.size() < fanout) {
      const uint32_t peer = draw_peer(world, x);
      if (std::find(chosen_.begin(), chosen_.end(), peer) == chosen_.end()) chosen_.push_back(peer);
    }
    for (const uint32_t peer : chosen_)
      contact(world, x, peer);
  }

  void prefetch(uint32_t x) const override {
    __builtin_prefetch(&known_[x]);
    if (rumor()) __builtin_prefetch(&hot_[x]);
  }

  std::vector<std::pair<std::string, double>> finish(CycleWorld& world) override {
    catch_up(world);
    // The nodes' traffic, as the event-driven nodes report it when the run ends (the
    // analysis adds them up): here the group's total, on its first node.
    world.mark(0, m_traffic_, rounds_, messages_);
    world.mark(0, m_traffic_bytes_, bytes_);
    const double node_seconds = measured_seconds_ * double(n_);
    return {{"gossip_messages", double(counted_messages_)},
            {"gossip_bytes", double(counted_bytes_)},
            {"rumors_learned", double(learned_)},
            {"redundant_rumors", double(redundant_)},
            {"hot_rumors_mean", node_seconds > 0 ? hot_seconds_ / node_seconds : 0.0},
            {"hot_rumors_peak", double(hot_peak_)}};
  }

 private:
  bool rumor() const { return config_.protocol == Protocol::kRumor; }
  Bits spread(uint32_t x) const { return rumor() ? hot_[x] : known_[x]; }

  // Before anything at a new time: the symbols once, and the hot rumors' level up to now.
  // Every turn of a cycle shares its time, so this runs once per cycle, not per turn.
  void catch_up(CycleWorld& world) {
    if (interned_ && world.now() == last_) return;
    intern(world);
    advance(world);
  }

  void intern(CycleWorld& world) {
    if (interned_) return;
    interned_ = true;
    m_informed_ = world.intern(kMarkInformed);
    m_cooled_ = world.intern(kMarkCooled);
    m_traffic_ = world.intern(kMarkTraffic);
    m_traffic_bytes_ = world.intern(kMarkTrafficBytes);
  }

  // The hot rumors' level, integrated over measured time (hot_rumors_mean).
  void advance(CycleWorld& world) {
    const SimTime now = world.now();
    const SimTime from = std::max(last_, warmup_end_);
    if (now > from) hot_seconds_ += double(hot_total_) * (now - from).to_seconds();
    last_ = now;
  }

  // A peer for node x, uniform over the others. The draws are made kAhead peers early, so
  // that the peer's state is loaded by the time its exchange comes.
  uint32_t draw_peer(CycleWorld& world, uint32_t x) {
    if (!drawn_) {
      drawn_ = true;
      for (uint32_t& r : ahead_)
        r = world.rng().below(n_ - 1), prefetch(r);
    }
    const uint32_t r = ahead_[head_];
    ahead_[head_] = world.rng().below(n_ - 1);
    prefetch(ahead_[head_]);
    head_ = (head_ + 1) % kAhead;
    return r >= x ? r + 1 : r;
  }

  // One exchange, caller x and callee y, as GossipNode::contact, on_request and on_reply.
  void contact(CycleWorld& world, uint32_t x, uint32_t y) {
    const bool pushes = config_.exchange != Exchange::kPull;
    const bool pulls = config_.exchange != Exchange::kPush;
    const bool digest = !rumor() && config_.content == Content::kDigest;
    const bool feedback = rumor() && config_.feedback == Feedback::kFeedback;
    const Bits pushed = pushes && !digest ? spread(x) : 0;
    const Bits caller_ids = digest || (rumor() && pulls) ? known_[x] : 0;
    if (rumor() && config_.feedback == Feedback::kBlind)
      each(pushed, [&](uint32_t i) { counted(world, x, i, false); });
    if (send(world, std::popcount(pushed), std::popcount(caller_ids))) return;

    // The callee: what it sends back is decided on what it knew when the request came.
    Bits back = 0, wanted = 0, already = 0;
    if (pulls && rumor()) {
      each(hot_[y], [&](uint32_t i) {
        const bool knew = (known_[x] >> i) & 1;
        if (!knew) back |= Bits{1} << i;
        if (knew || config_.feedback == Feedback::kBlind) counted(world, y, i, knew);
      });
    } else if (pulls) {
      back = digest ? known_[y] & ~known_[x] : known_[y];
    }
    if (digest && pushes) wanted = known_[x] & ~known_[y];
    each(pushed, [&](uint32_t i) {
      if (!receive(world, y, i)) already |= Bits{1} << i;
    });
    if (!feedback) already = 0;
    if (!(pulls || digest || feedback)) return;
    if (send(world, std::popcount(back), std::popcount(wanted) + std::popcount(already))) return;

    // The caller, on the reply.
    each(back, [&](uint32_t i) { receive(world, x, i); });
    each(already, [&](uint32_t i) { counted(world, x, i, true); });
    const Bits values = static_cast<Bits>(wanted & known_[x]);
    if (values == 0 || send(world, std::popcount(values), 0)) return;
    each(values, [&](uint32_t i) { receive(world, y, i); });
  }

  template <class F>
  static void each(Bits bits, F f) {
    for (; bits != 0; bits &= bits - 1)
      f(static_cast<uint32_t>(std::countr_zero(bits)));
  }

  // A message sent: true when lost.
  bool send(CycleWorld& world, int values, int ids) {
    const uint32_t bytes = sizes_.message(size_t(values), size_t(ids));
    ++messages_, bytes_ += bytes;
    if (world.measured()) ++counted_messages_, counted_bytes_ += bytes;
    return world.send(bytes);
  }

  bool learn(CycleWorld& world, uint32_t x, uint32_t i) {
    const Bits bit = Bits{1} << i;
    if (known_[x] & bit) return false;
    known_[x] |= bit;
    world.mark(x, m_informed_, static_cast<int64_t>(ids_[i]));
    if (world.measured()) ++learned_;
    if (rumor()) {
      hot_[x] |= bit;
      ++hot_total_;
      if (world.measured()) hot_peak_ = std::max(hot_peak_, std::popcount(hot_[x]));
    }
    return true;
  }

  bool receive(CycleWorld& world, uint32_t x, uint32_t i) {
    if (learn(world, x, i)) return true;
    if (world.measured()) ++redundant_;
    return false;
  }

  // A contact about rumor i that counts towards node x's stop rule (GossipNode::counted).
  void counted(CycleWorld& world, uint32_t x, uint32_t i, bool needless) {
    const Bits bit = Bits{1} << i;
    if (!(hot_[x] & bit)) return;
    if (config_.feedback == Feedback::kFeedback && !needless) return;
    const bool cool = config_.loss == LossOfInterest::kCounter
                          ? ++counts_[size_t{x} * config_.rumors + i] >= config_.k
                          : world.rng().below(config_.k) == 0;
    if (!cool) return;
    hot_[x] &= ~bit;
    --hot_total_;
    world.mark(x, m_cooled_, static_cast<int64_t>(ids_[i]));
  }

  const GossipNode::Config& config_;
  const uint32_t n_;
  std::vector<Bits> known_;
  std::vector<Bits> hot_;         // rumor mongering
  std::vector<uint16_t> counts_;  // the counter stop rule: per node and rumor
  const WireSizes sizes_;
  RumorId ids_[GossipNode::kMaxCycleRumors] = {};
  uint32_t started_ = 0;
  std::vector<uint32_t> chosen_;
  static constexpr uint32_t kAhead = 16;
  uint32_t ahead_[kAhead] = {};  // the next peers' draws, in [0, n - 1)
  uint32_t head_ = 0;
  bool drawn_ = false;
  bool interned_ = false;
  Symbol m_informed_, m_cooled_, m_traffic_, m_traffic_bytes_;
  int64_t rounds_ = 0, messages_ = 0, bytes_ = 0;  // the whole run (the traffic marks)
  int64_t counted_messages_ = 0, counted_bytes_ = 0, learned_ = 0, redundant_ = 0;  // measured
  int64_t hot_total_ = 0;
  int hot_peak_ = 0;
  const SimTime warmup_end_;
  const double measured_seconds_;
  double hot_seconds_ = 0;
  SimTime last_ = SimTime::zero();
};

}  // namespace

std::unique_ptr<CycleGroup> GossipNode::cycle_group(const Config& c, const CycleSetup& s) {
  if (c.rumors <= 8) return std::make_unique<GossipCycles<uint8_t>>(c, s);
  if (c.rumors <= 16) return std::make_unique<GossipCycles<uint16_t>>(c, s);
  if (c.rumors <= 32) return std::make_unique<GossipCycles<uint32_t>>(c, s);
  return std::make_unique<GossipCycles<uint64_t>>(c, s);
}

std::string GossipNode::cycle_refusal(const Config& c) {
  if (c.peers == Peers::kNearby)
    return "peers: nearby needs the network's topology, which engine: cycles does not have";
  if (c.rumor_rate > 0)
    return "rumor_rate: engine: cycles runs the scheduled rumors only (rumors:, at most " +
           std::to_string(kMaxCycleRumors) + ")";
  if (c.rumors > kMaxCycleRumors)
    return "rumors: engine: cycles holds at most " + std::to_string(kMaxCycleRumors) +
           " rumors (a node's knowledge is one 64-bit word); got " + std::to_string(c.rumors);
  if (c.protocol == Protocol::kRumor && c.loss == LossOfInterest::kCounter && c.k > 65535)
    return "k: engine: cycles counts to at most 65535; got " + std::to_string(c.k);
  return "";
}

}  // namespace dsim::gossip
