#include "models/phold/phold.h"

#include <limits>

#include "models/kit/timer.h"
#include "sim/core/assert.h"

namespace dsim::phold {

Phold::Config Phold::parse(ParamReader& r) {
  Config c;
  c.workload =
      r.choice("workload", c.workload, {{"timers", Workload::kTimers}, {"net", Workload::kNet}},
               "timers: each token is a timer re-armed when it fires; net: each token is a "
               "message forwarded at once to a random other node of the group");
  c.tokens = r.integer("tokens", c.tokens,
                       "tokens in the whole group, started round robin (token t on node t mod n)",
                       0, std::numeric_limits<uint32_t>::max());
  // Each workload reads only its own keys, so the resolved scenario (which lists every key
  // read) holds no key the other workload would reject.
  const bool timers = c.workload == Workload::kTimers;
  if (timers || r.doc_mode() || r.has("delay")) {
    c.delay = r.distribution("delay", c.delay, "timers: how long a token waits before it fires");
    if (!timers && !r.doc_mode()) {
      r.error("delay",
              "delay applies to workload 'timers'; with 'net' a hop takes the "
              "network's latency (network.latency, network.access_latency)");
    }
  }
  if (!timers || r.doc_mode() || r.has("token_size")) {
    c.token_bytes = r.size("token_size", c.token_bytes, "net: size of a token on the wire");
    if (timers && !r.doc_mode()) r.error("token_size", "token_size applies to workload 'net'");
  }
  if (timers && !r.doc_mode() && c.delay.kind() == Distribution::Kind::kConstant &&
      c.delay.mean() <= 0) {
    r.error("delay", "a constant delay of 0 would fire the same timers forever at one instant");
  }
  if (c.token_bytes > std::numeric_limits<uint32_t>::max()) {
    r.error("token_size", "at most 4294967295 bytes");
  }
  return c;
}

void Phold::declare(const Config&, MetricDecls&) {}  // the engine's own figures only

void Phold::on_start(Context& ctx) {
  const auto peers = ctx.group_nodes(ctx.group_name());
  peers_ = peers.data();
  peer_count_ = static_cast<uint32_t>(peers.size());
  self_index_ = ctx.index_in_group();
  DSIM_ASSERT(self_index_ < peer_count_ && peers_[self_index_] == ctx.self(), "node ", ctx.self(),
              " is not at its place in its group");
  const auto tokens = static_cast<uint64_t>(config_.tokens);
  for (uint64_t t = self_index_; t < tokens; t += peer_count_) {
    const auto token = static_cast<uint32_t>(t);
    if (config_.workload == Workload::kTimers) {
      ctx.set_timer(config_.delay.sample_duration(ctx.rng()), kit::timer_tag(Timer::kToken, token));
    } else {
      forward(ctx, token);
    }
  }
}

void Phold::forward(Context& ctx, uint32_t token) {
  // A node alone in its group has nobody to pass its tokens to: they stay with it.
  if (peer_count_ < 2) return;
  uint32_t to = ctx.rng().below(peer_count_ - 1);
  if (to >= self_index_) ++to;
  ctx.send(peers_[to], Token{token, static_cast<uint32_t>(config_.token_bytes)});
}

void Phold::on_message(Context& ctx, const Envelope& env) {
  if (const Token* t = env.msg.get<Token>()) forward(ctx, t->id);
}

void Phold::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  ctx.set_timer(config_.delay.sample_duration(ctx.rng()), tag);  // the same token, again
}

}  // namespace dsim::phold
