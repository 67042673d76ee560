#include "support/models/lagging_store.h"

#include <string>

namespace dsim::kv {

KvLaggingStore::Config KvLaggingStore::parse(ParamReader& r) {
  Config c;
  c.lag = r.distribution("lag", c.lag, "how long a replica waits before applying an update");
  read_state_machine_params(r, c.state);
  return c;
}

void KvLaggingStore::on_start(Context& ctx) {
  const auto group = ctx.group_nodes(ctx.group_name());
  group_.assign(group.begin(), group.end());
  primary_ = group_.empty() || group_[0] == ctx.self();
  m_dups_ = ctx.intern("duplicate_applications");
}

void KvLaggingStore::on_message(Context& ctx, const Envelope& env) {
  if (const auto* up = env.msg.get<KvReplicate>()) {
    const uint64_t wait = next_wait_++;
    waiting_.emplace(wait, *up);
    ctx.set_timer(config_.lag.sample_duration(ctx.rng()), kit::timer_tag(Timer::kApply, wait));
    return;
  }
  const auto* req = env.msg.get<KvRequest>();
  if (!req) return;
  if (req->op == kv::KvOpKind::kGet) {
    if (primary_) {
      ctx.send(req->call.reply_to, sm_.apply(*req, ctx.now()));
    } else {
      KvResponse resp = kv_reply(*req, KvStatus::kOk);
      if (auto it = copies_.find(req->key); it != copies_.end()) resp.value = it->second.value;
      ctx.send(req->call.reply_to, std::move(resp));
    }
    return;
  }
  if (!primary_) {
    ctx.send(req->call.reply_to, kv_reply(*req, KvStatus::kNotLeader, group_[0]));
    return;
  }
  const uint64_t dups = sm_.duplicate_applications();
  const uint64_t applied = sm_.applied_writes();
  KvResponse resp = sm_.apply(*req, ctx.now());
  if (sm_.duplicate_applications() != dups) ctx.record().count(m_dups_);
  if (sm_.applied_writes() != applied) {  // applied now, not answered from the table
    KvReplicate up{req->key, ++versions_[req->key], sm_.get(req->key)};
    for (NodeId n : group_) {
      if (n != ctx.self()) ctx.send(n, up);
    }
  }
  ctx.send(req->call.reply_to, std::move(resp));
}

void KvLaggingStore::on_timer(Context& /*ctx*/, TimerId /*id*/, TimerTag tag) {
  auto it = waiting_.find(kit::timer_of<Timer>(tag).value);
  if (it == waiting_.end()) return;
  const KvReplicate& up = it->second;
  Copy& c = copies_[up.key];
  if (up.version > c.version) c = Copy{up.version, up.value};
  waiting_.erase(it);
}

}  // namespace dsim::kv
