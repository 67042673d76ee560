// The gossip node: its rounds, the exchanges of push, pull and push-pull, and the stop rules
// of rumor mongering (Demers et al. 1987, sections 1.3 and 1.4).
#include "models/gossip/gossip.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "models/kit/timer.h"
#include "sim/core/assert.h"

namespace dsim::gossip {

namespace {

std::string rumor_list(const std::vector<RumorId>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size() && i < 4; ++i) {
    out +=
        (i ? "," : "") + std::to_string(ids[i] >> 32) + "." + std::to_string(ids[i] & 0xffffffffu);
  }
  if (ids.size() > 4) out += ",+" + std::to_string(ids.size() - 4);
  return out;
}

bool contains(const std::vector<RumorId>& sorted, RumorId id) {
  return std::binary_search(sorted.begin(), sorted.end(), id);
}

}  // namespace

uint32_t GossipRequest::size_bytes() const {
  return sizes.message(rumors.size(), digest.size());
}
std::string GossipRequest::describe() const {
  return "gossip rumors [" + rumor_list(rumors) + "] digest of " + std::to_string(digest.size());
}
uint32_t GossipReply::size_bytes() const {
  return sizes.message(rumors.size(), wanted.size() + already_known.size());
}
std::string GossipReply::describe() const {
  return "gossip reply rumors [" + rumor_list(rumors) + "] wanted " +
         std::to_string(wanted.size()) + " known " + std::to_string(already_known.size());
}
uint32_t GossipValues::size_bytes() const {
  return sizes.message(rumors.size(), 0);
}
std::string GossipValues::describe() const {
  return "gossip values [" + rumor_list(rumors) + "]";
}

// --- rounds and rumors ---------------------------------------------------------------------

void GossipNode::on_start(Context& ctx) {
  peers_ = ctx.group_nodes(ctx.group_name());
  self_index_ = ctx.index_in_group();
  DSIM_ASSERT(self_index_ < peers_.size() && peers_[self_index_] == ctx.self(), "node ", ctx.self(),
              " is not at its place in its group");
  sizes_ = WireSizes{static_cast<uint32_t>(config_.rumor_bytes),
                     static_cast<uint32_t>(config_.id_bytes)};
  m_informed_ = ctx.intern(kMarkInformed);
  m_cooled_ = ctx.intern(kMarkCooled);
  m_traffic_ = ctx.intern(kMarkTraffic);
  m_traffic_bytes_ = ctx.intern(kMarkTrafficBytes);
  m_messages_ = ctx.intern("gossip_messages");
  m_bytes_ = ctx.intern("gossip_bytes");
  m_hot_ = ctx.intern("hot_rumors");
  m_learned_ = ctx.intern("rumors_learned");
  m_redundant_ = ctx.intern("redundant_rumors");
  ctx.record().level(m_hot_, 0);
  if (config_.peers == Peers::kNearby) find_nearest(ctx);

  const int64_t p = config_.period.ns();
  const Duration first = config_.phase == Phase::kAligned
                             ? Duration::from_ns(p - ((ctx.now().ns() % p) + p) % p)
                             : kit::random_phase(ctx.rng(), config_.period);
  ctx.set_timer(first, kit::timer_tag(Timer::kRound, 0));
  schedule_rumor(ctx, 0);
  if (config_.rumor_rate > 0) schedule_random_rumor(ctx);
}

// Each node starts rumors as a Poisson process at rumor_rate / n: together, a Poisson
// stream at rumor_rate with uniformly random origins.
void GossipNode::schedule_random_rumor(Context& ctx) {
  const double mean_s = static_cast<double>(peers_.size()) / config_.rumor_rate;
  ctx.set_timer(
      Duration::from_ns(static_cast<int64_t>(-std::log(ctx.rng().uniform_open01()) * mean_s * 1e9)),
      kit::timer_tag(Timer::kRandomRumor, 0));
}

void GossipNode::schedule_rumor(Context& ctx, uint64_t from) {
  const uint64_t n = peers_.size();
  // Rumor i starts on node (origin + i) mod n: this node's are i ≡ self − origin (mod n).
  const uint64_t first = (self_index_ + n - config_.origin % n) % n;
  uint64_t i = from <= first ? first : first + (from - first + n - 1) / n * n;
  for (; i < config_.rumors; i += n) {
    const SimTime at = SimTime::zero() + config_.first_rumor + config_.rumor_every * int64_t(i);
    if (at < ctx.now()) continue;  // a restart after its time: it is not started late
    ctx.set_timer(at - ctx.now(), kit::timer_tag(Timer::kRumor, i));
    return;
  }
}

void GossipNode::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  switch (kind) {
    case Timer::kRound:
      round(ctx);
      ctx.set_timer(config_.period, tag);
      return;
    case Timer::kRumor:
      start_rumor(ctx);
      schedule_rumor(ctx, value + 1);
      return;
    case Timer::kRandomRumor:
      start_rumor(ctx);
      schedule_random_rumor(ctx);
      return;
  }
}

void GossipNode::start_rumor(Context& ctx) {
  const RumorId id = (uint64_t{self_index_} << 32) | started_++;
  learn(ctx, id);
}

void GossipNode::round(Context& ctx) {
  ++rounds_;
  if (peers_.size() < 2) return;
  // Only a node with something to push calls in a push exchange; pulls call regardless.
  if (config_.exchange == Exchange::kPush && !spreads_anything()) return;
  const uint32_t others = static_cast<uint32_t>(peers_.size() - 1);
  const uint32_t fanout = std::min(config_.fanout, others);
  std::vector<NodeId> chosen;
  chosen.reserve(fanout);
  while (chosen.size() < fanout) {
    const NodeId peer = pick_peer(ctx);
    if (std::find(chosen.begin(), chosen.end(), peer) != chosen.end()) continue;
    chosen.push_back(peer);
  }
  for (NodeId peer : chosen)
    contact(ctx, peer);
}

void GossipNode::find_nearest(Context& ctx) {
  Duration least = Duration::max();
  for (NodeId peer : peers_) {
    if (peer == ctx.self()) continue;
    const Duration d = ctx.typical_latency(peer);
    if (d < least) least = d, nearest_.clear();
    if (d == least) nearest_.push_back(peer);
  }
}

NodeId GossipNode::pick_peer(Context& ctx) {
  if (!nearest_.empty() && ctx.rng().uniform01() < config_.nearby)
    return nearest_[ctx.rng().below(static_cast<uint32_t>(nearest_.size()))];
  uint32_t i = ctx.rng().below(static_cast<uint32_t>(peers_.size() - 1));
  if (i >= self_index_) ++i;
  return peers_[i];
}

// --- one exchange ----------------------------------------------------------------------------

void GossipNode::contact(Context& ctx, NodeId peer) {
  const bool rumor = config_.protocol == Protocol::kRumor;
  const bool pushes = config_.exchange != Exchange::kPull;
  const bool pulls = config_.exchange != Exchange::kPush;
  const bool digest = !rumor && config_.content == Content::kDigest;
  GossipRequest req;
  req.sizes = sizes_;
  if (pushes && !digest) req.rumors = spread_set();
  if (digest || (rumor && pulls)) req.digest = known_ids();
  req.wants_reply = pulls || digest || (rumor && config_.feedback == Feedback::kFeedback);
  if (rumor && config_.feedback == Feedback::kBlind) {
    for (RumorId id : req.rumors)
      counted(ctx, id, /*needless=*/false);
  }
  send(ctx, peer, std::move(req));
}

void GossipNode::on_message(Context& ctx, const Envelope& env) {
  if (const auto* req = env.msg.get<GossipRequest>()) {
    on_request(ctx, env.from, *req);
  } else if (const auto* reply = env.msg.get<GossipReply>()) {
    on_reply(ctx, env.from, *reply);
  } else if (const auto* values = env.msg.get<GossipValues>()) {
    for (RumorId id : values->rumors)
      receive(ctx, id);
  }
}

void GossipNode::on_request(Context& ctx, NodeId from, const GossipRequest& req) {
  const bool rumor = config_.protocol == Protocol::kRumor;
  const bool pulls = config_.exchange != Exchange::kPush;
  GossipReply reply;
  reply.sizes = sizes_;
  if (pulls) {
    // What this node sends back is decided on what it knew when the request arrived.
    if (rumor) {
      for (RumorId id : spread_set()) {
        const bool knew = contains(req.digest, id);
        if (!knew) reply.rumors.push_back(id);
        if (knew || config_.feedback == Feedback::kBlind) counted(ctx, id, knew);
      }
    } else if (config_.content == Content::kDigest) {
      reply.rumors = missing_from(req.digest);
    } else {
      reply.rumors = known_ids();
    }
  }
  if (!rumor && config_.content == Content::kDigest && config_.exchange != Exchange::kPull) {
    for (RumorId id : req.digest)
      if (!find(id)) reply.wanted.push_back(id);
  }
  for (RumorId id : req.rumors)
    if (!receive(ctx, id)) reply.already_known.push_back(id);
  if (!(rumor && config_.feedback == Feedback::kFeedback)) reply.already_known.clear();
  if (req.wants_reply) send(ctx, from, std::move(reply));
}

void GossipNode::on_reply(Context& ctx, NodeId from, const GossipReply& reply) {
  for (RumorId id : reply.rumors)
    receive(ctx, id);
  for (RumorId id : reply.already_known)
    counted(ctx, id, /*needless=*/true);
  if (reply.wanted.empty()) return;
  GossipValues values;
  values.sizes = sizes_;
  for (RumorId id : reply.wanted)
    if (find(id)) values.rumors.push_back(id);
  if (!values.rumors.empty()) send(ctx, from, std::move(values));
}

template <class M>
void GossipNode::send(Context& ctx, NodeId to, M msg) {
  ++messages_;
  bytes_ += msg.size_bytes();
  ctx.record().count(m_messages_);
  ctx.record().count(m_bytes_, msg.size_bytes());
  ctx.send(to, std::move(msg));
}

// --- what a node knows ---------------------------------------------------------------------

bool GossipNode::learn(Context& ctx, RumorId id) {
  const auto it = std::lower_bound(known_.begin(), known_.end(), id,
                                   [](const Known& k, RumorId v) { return k.id < v; });
  if (it != known_.end() && it->id == id) return false;
  const bool hot = config_.protocol == Protocol::kRumor;
  known_.insert(it, Known{id, hot, 0});
  ctx.record().mark(m_informed_, static_cast<int64_t>(id));
  ctx.record().count(m_learned_);
  if (hot) ctx.record().level(m_hot_, ++hot_);
  return true;
}

bool GossipNode::receive(Context& ctx, RumorId id) {
  if (learn(ctx, id)) return true;
  ctx.record().count(m_redundant_);
  return false;
}

void GossipNode::counted(Context& ctx, RumorId id, bool needless) {
  Known* k = find(id);
  if (!k || !k->hot) return;
  if (config_.feedback == Feedback::kFeedback && !needless) return;
  const bool cool = config_.loss == LossOfInterest::kCounter ? ++k->count >= config_.k
                                                             : ctx.rng().below(config_.k) == 0;
  if (!cool) return;
  k->hot = false;
  ctx.record().level(m_hot_, --hot_);
  ctx.record().mark(m_cooled_, static_cast<int64_t>(id));
}

const GossipNode::Known* GossipNode::find(RumorId id) const {
  const auto it = std::lower_bound(known_.begin(), known_.end(), id,
                                   [](const Known& k, RumorId v) { return k.id < v; });
  return it != known_.end() && it->id == id ? &*it : nullptr;
}

GossipNode::Known* GossipNode::find(RumorId id) {
  return const_cast<Known*>(std::as_const(*this).find(id));
}

bool GossipNode::spreads_anything() const {
  return config_.protocol == Protocol::kAntiEntropy ? !known_.empty() : hot_ > 0;
}

std::vector<RumorId> GossipNode::spread_set() const {
  std::vector<RumorId> out;
  for (const Known& k : known_)
    if (k.hot || config_.protocol == Protocol::kAntiEntropy) out.push_back(k.id);
  return out;
}

std::vector<RumorId> GossipNode::known_ids() const {
  std::vector<RumorId> out;
  out.reserve(known_.size());
  for (const Known& k : known_)
    out.push_back(k.id);
  return out;
}

std::vector<RumorId> GossipNode::missing_from(const std::vector<RumorId>& theirs) const {
  std::vector<RumorId> out;
  for (const Known& k : known_)
    if (!contains(theirs, k.id)) out.push_back(k.id);
  return out;
}

void GossipNode::on_stop(Context& ctx) {
  ctx.record().mark(m_traffic_, rounds_, messages_);
  ctx.record().mark(m_traffic_bytes_, bytes_);
}

void GossipNode::check_invariants() const {
  uint32_t hot = 0;
  for (size_t i = 0; i < known_.size(); ++i) {
    DSIM_ASSERT(i == 0 || known_[i - 1].id < known_[i].id, "known rumors out of order at ", i);
    hot += known_[i].hot ? 1 : 0;
  }
  DSIM_ASSERT(hot == hot_, "hot rumors counted ", hot_, " but held ", hot);
}

}  // namespace dsim::gossip
