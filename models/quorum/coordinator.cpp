// The coordinator: a client's request, forwarded or redirected to a replica of its key
// when the receiving node should not coordinate it, then run as an operation in phases —
// a read of R replicas (gets, and appends and cas before they write), a write to W
// replicas, a synchronous read repair to W replicas — each phase a round of requests that
// ends at its quorum or at replica_timeout, when silent replicas are suspected and the
// next round asks others (stand-ins, with a sloppy quorum). Then the answer to the client,
// and read repair in the background (Dynamo 5).
#include "models/quorum/store.h"

#include <algorithm>
#include <cstdint>

namespace dsim::quorum {

using kv::KvOpKind;
using kv::KvRequest;
using kv::KvResponse;
using kv::KvStatus;
using kv::KvValue;

namespace {

// Up to k indexes of [0, n), at random (all of them when k >= n).
std::vector<size_t> pick_indexes(Rng& rng, size_t n, size_t k) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i)
    idx[i] = i;
  if (k >= n) return idx;
  for (size_t i = 0; i < k; ++i) {
    const size_t j = i + rng.below(static_cast<uint32_t>(n - i));
    std::swap(idx[i], idx[j]);
  }
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Every target that was asked has answered.
template <class Target>
bool all_answered(const std::vector<Target>& targets) {
  return std::all_of(targets.begin(), targets.end(),
                     [](const Target& x) { return !x.asked || x.replied; });
}

// The targets whose `flag` is set.
template <class Target>
uint32_t count_of(const std::vector<Target>& targets, bool Target::*flag) {
  return static_cast<uint32_t>(
      std::count_if(targets.begin(), targets.end(), [&](const Target& x) { return x.*flag; }));
}

}  // namespace

std::vector<QuorumStore::Target> QuorumStore::targets(Context& ctx, uint64_t key) const {
  const auto at = [](NodeId node) {
    Target t;
    t.node = node;
    return t;
  };
  std::vector<Target> out;
  const uint64_t pos = key_position(key, config_.ring_seed);
  const auto n = static_cast<size_t>(config_.n);
  if (!config_.sloppy_quorum) {
    for (uint32_t m : ring_.walk(pos, n)) {
      if (healthy(ctx, node_of(m))) out.push_back(at(node_of(m)));
    }
    return out;
  }
  // Sloppy quorum: the first N healthy nodes clockwise; a stand-in beyond the preference
  // list keeps its writes for the first unhealthy home replica not yet stood in for.
  const auto walk = ring_.walk(pos, ring_.members().size());
  std::vector<NodeId> missing;
  size_t next_missing = 0;
  for (size_t i = 0; i < walk.size() && out.size() < n; ++i) {
    const NodeId node = node_of(walk[i]);
    if (i < n) {
      if (healthy(ctx, node)) {
        out.push_back(at(node));
      } else {
        missing.push_back(node);
      }
    } else if (next_missing < missing.size() && healthy(ctx, node)) {
      Target t = at(node);
      t.hint = missing[next_missing++];
      out.push_back(t);
    }
  }
  return out;
}

// --- client requests ----------------------------------------------------------------------

size_t QuorumStore::replicas_needed(KvOpKind op) const {
  const auto r = static_cast<size_t>(config_.r);
  const auto w = static_cast<size_t>(config_.w);
  // Gets with synchronous read repair also write back to W replicas; appends and cas
  // read, then write.
  const bool get_only = op == KvOpKind::kGet && config_.read_repair != ReadRepair::kSync;
  return get_only ? r : op == KvOpKind::kPut ? w : std::max(r, w);
}

void QuorumStore::on_client(Context& ctx, NodeId client, const KvRequest& req,
                            const std::vector<uint64_t>* context, bool forwarded, uint32_t tries) {
  const std::vector<Target> tg = targets(ctx, req.key);
  if (tg.size() < replicas_needed(req.op)) {
    // Not enough replicas known healthy: refuse before touching anything (a definite
    // failure, like Cassandra's UnavailableException).
    ctx.record().count(m_unavailable_);
    ctx.send(client, kv::kv_reply(req, KvStatus::kUnavailable));
    return;
  }
  const bool self_in =
      std::any_of(tg.begin(), tg.end(), [&](const Target& t) { return t.node == self_; });
  // A coordinator that holds no data coordinates whatever it receives: all its legs to the
  // replicas cross the network (PBS's WARS model).
  if (forwarded || data_less_ || (config_.coordinator_choice == Choice::kReceiver && self_in)) {
    coordinate(ctx, client, req, context);
    return;
  }
  const NodeId pick = config_.coordinator_choice == Choice::kRandom
                          ? tg[ctx.rng().below(static_cast<uint32_t>(tg.size()))].node
                          : tg[0].node;
  if (pick == self_) {
    coordinate(ctx, client, req, context);
  } else if (config_.coordinator == Coordinator::kServer) {
    forward(ctx, client, req, context, pick, tries);
  } else {
    ctx.record().count(m_redirected_);
    ctx.send(client, kv::kv_reply(req, KvStatus::kNotLeader, pick));
  }
}

void QuorumStore::forward(Context& ctx, NodeId client, const KvRequest& req,
                          const std::vector<uint64_t>* context, NodeId to, uint32_t tries) {
  ctx.record().count(m_forwarded_);
  const uint64_t id = next_forward_++;
  QuorumForward f{id, client, req, {}, context != nullptr};
  if (context) f.context = *context;
  forwards_[id] = Forward{client, req, f.context, f.has_context, to, tries + 1};
  ctx.set_timer(config_.replica_timeout, kit::timer_tag(Timer::kForward, id));
  ctx.send(to, std::move(f));
}

void QuorumStore::forward_timeout(Context& ctx, uint64_t id) {
  auto it = forwards_.find(id);       // ids stay below 2^56: the tag holds them whole
  if (it == forwards_.end()) return;  // acknowledged
  const Forward f = std::move(it->second);
  forwards_.erase(it);
  // The coordinator did not take the request over: suspect it and try another (the
  // request most likely never reached it), up to max_rounds forwards.
  suspect(ctx, f.to);
  if (f.tries >= static_cast<uint32_t>(config_.max_rounds)) {
    ctx.record().count(m_unavailable_);
    ctx.send(f.client, kv::kv_reply(f.req, KvStatus::kUnavailable));
    return;
  }
  on_client(ctx, f.client, f.req, f.has_context ? &f.context : nullptr, false, f.tries);
}

void QuorumStore::coordinate(Context& ctx, NodeId client, const KvRequest& req,
                             const std::vector<uint64_t>* context) {
  const uint64_t id = next_op_++;
  Op& op = ops_[id];
  op.client = client;
  op.req = req;
  op.has_context = context != nullptr;
  if (context) op.client_context = *context;
  op.timer = kit::Timeout(kit::timer_tag(Timer::kOp, id), config_.replica_timeout);
  if (req.op == KvOpKind::kPut) {
    ctx.record().count(m_puts_);
    op.written = put_version(ctx, op);
    start_write(ctx, id);
    return;
  }
  // Gets read; appends and cas read, then write what they make of it.
  ctx.record().count(req.op == KvOpKind::kGet      ? m_gets_
                     : req.op == KvOpKind::kAppend ? m_appends_
                                                   : m_cas_);
  start_read(ctx, id);
}

Version QuorumStore::put_version(Context& ctx, const Op& op) {
  VClock past;
  const Siblings none;
  const auto it = data_.find(op.req.key);
  const Siblings& local = it == data_.end() ? none : it->second;
  if (op.has_context && config_.versioning == Versioning::kVectorClock) {
    // Dynamo 4.4: the client names the versions it updates by their context.
    if (auto c = VClock::from_words(op.client_context)) past = std::move(*c);
  } else if (config_.blind_write_context == BlindContext::kLocal) {
    past = context_of(local);
  }
  return new_version(ctx, op.req.key, std::move(past),
                     KvValue::single(op.req.value, op.req.value_bytes), {});
}

uint64_t QuorumStore::actor_for(uint64_t key) const {
  auto it = key_actor_.find(key);
  const uint64_t epoch = it == key_actor_.end() ? 0 : it->second.epoch;
  return (static_cast<uint64_t>(self_) << 32) | ((incarnation_ & 0xffff) << 16) | (epoch & 0xffff);
}

Version QuorumStore::new_version(Context& ctx, uint64_t key, VClock past, KvValue value,
                                 const Siblings& seen) {
  Version v;
  v.dot.actor = actor_for(key);
  KeyActor& ka = key_actor_[key];
  uint64_t counter =
      std::max({max_counter(seen, v.dot.actor), past.get(v.dot.actor), ka.last_counter});
  if (auto it = data_.find(key); it != data_.end()) {
    counter = std::max(counter, max_counter(it->second, v.dot.actor));
  }
  v.dot.counter = counter + 1;
  ka.last_counter = v.dot.counter;
  v.past = std::move(past);
  v.ts = ctx.now().ns();
  v.value = std::move(value);
  return v;
}

// --- phases -------------------------------------------------------------------------------

bool QuorumStore::begin_phase(Context& ctx, uint64_t op_id, Phase phase, int64_t needed) {
  Op& op = ops_.at(op_id);
  op.phase = phase;
  op.targets = targets(ctx, op.req.key);
  op.needed = static_cast<uint32_t>(needed);
  op.rounds = 0;
  if (op.targets.size() >= op.needed) return true;
  fail(ctx, op_id);
  return false;
}

std::vector<size_t> QuorumStore::first_round(Context& ctx, const Op& op, Fanout fanout) {
  return pick_indexes(ctx.rng(), op.targets.size(),
                      fanout == Fanout::kAll ? op.targets.size() : op.needed);
}

void QuorumStore::start_read(Context& ctx, uint64_t op_id) {
  if (!begin_phase(ctx, op_id, Phase::kRead, config_.r)) return;
  ask(ctx, op_id, first_round(ctx, ops_.at(op_id), config_.read_fanout));
}

void QuorumStore::start_write(Context& ctx, uint64_t op_id) {
  if (!begin_phase(ctx, op_id, Phase::kWrite, config_.w)) return;
  Op& op = ops_.at(op_id);
  op.payload = write_payload(op);
  const auto chosen = first_round(ctx, op, config_.write_fanout);
  if (!chosen.empty()) op.any_stored = true;
  ask(ctx, op_id, chosen);
}

Siblings QuorumStore::write_payload(const Op& op) const {
  // Replicas get the key's versions after the write as the coordinator knows them (with
  // vector clocks: the new version and the siblings it does not supersede), so a replica
  // holding the new version also holds what it did not supersede; with LWW, just the
  // new version (each replica keeps the later one).
  if (config_.versioning != Versioning::kVectorClock) return {op.written};
  const auto d = data_.find(op.req.key);
  if (d == data_.end()) return {op.written};
  return merge(d->second, {op.written}, config_.versioning,
               static_cast<size_t>(config_.max_siblings))
      .merged;
}

void QuorumStore::start_sync_repair(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  // What the read returns must be on W replicas before it is returned (the write-back of
  // ABD's read), so every later read quorum meets it.
  uint32_t holders = 0;
  for (auto& t : op.targets) {
    const bool holds = t.replied && same_versions(t.versions, op.merged);
    t.stored = holds;
    t.replied = holds;
    t.asked = holds;
    holders += holds ? 1 : 0;
  }
  op.phase = Phase::kRepair;
  op.needed = static_cast<uint32_t>(config_.w);
  op.rounds = 0;
  if (holders >= op.needed || op.merged.empty()) {
    answer_read(ctx, op);
    end_op(ctx, op_id);
    return;
  }
  std::vector<size_t> others;
  for (size_t i = 0; i < op.targets.size(); ++i) {
    if (!op.targets[i].asked) others.push_back(i);
  }
  ask(ctx, op_id, others);
}

void QuorumStore::ask(Context& ctx, uint64_t op_id, const std::vector<size_t>& which) {
  Op& op = ops_.at(op_id);
  bool local = false;
  for (size_t i : which) {
    send_phase(ctx, op_id, op, op.targets[i]);
    local = local || op.targets[i].node == self_;
  }
  op.timer.start(ctx);
  if (local) reply_locally(ctx, op_id);
}

void QuorumStore::send_phase(Context& ctx, uint64_t op_id, Op& op, Target& t) {
  t.asked = true;
  if (t.node == self_) return;  // the caller handles the local replica last
  switch (op.phase) {
    case Phase::kRead:
      ctx.send(t.node, QuorumRead{op_id, op.req.key});
      return;
    case Phase::kWrite: {
      QuorumWrite w{op_id, op.req.key, op.payload, t.hint};
      if (t.hint != kNoNode && !op.substituted) {
        op.substituted = true;
        ctx.record().count(m_sloppy_);
      }
      ctx.send(t.node, std::move(w));
      return;
    }
    case Phase::kRepair:
      ctx.send(t.node, counted_repair(ctx, op_id, op.req.key, op.merged));
      return;
    case Phase::kLinger:
      return;
  }
}

void QuorumStore::reply_locally(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  const uint64_t key = op.req.key;
  switch (op.phase) {
    case Phase::kRead: {
      const auto d = data_.find(key);
      on_read_reply(ctx, op_id, self_, d == data_.end() ? Siblings{} : d->second);
      return;
    }
    case Phase::kWrite: {
      // The coordinator writes its own copy first (Dynamo 4.5) and counts its own ack.
      const auto self = std::find_if(op.targets.begin(), op.targets.end(),
                                     [&](const Target& t) { return t.node == self_; });
      const bool stored = store_own(ctx, key, {op.written}, self->hint);
      reply_durably(ctx, self_, QuorumWriteAck{op_id, stored});
      return;
    }
    case Phase::kRepair: {
      const bool stored = store(ctx, key, op.merged);
      reply_durably(ctx, self_, QuorumRepairAck{op_id, stored});
      return;
    }
    case Phase::kLinger:
      return;
  }
}

// --- replies ------------------------------------------------------------------------------

QuorumStore::Awaited QuorumStore::awaited(uint64_t op_id, NodeId from, Phase a, Phase b) {
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return {};
  Op& op = it->second;
  if (op.phase != a && op.phase != b) return {};
  auto t = std::find_if(op.targets.begin(), op.targets.end(),
                        [&](const Target& x) { return x.node == from && x.asked && !x.replied; });
  if (t == op.targets.end()) return {};
  return {&op, &*t};
}

void QuorumStore::on_read_reply(Context& ctx, uint64_t op_id, NodeId from, Siblings versions) {
  const Awaited reply = awaited(op_id, from, Phase::kRead, Phase::kLinger);
  if (!reply) return;
  Op& op = *reply.op;
  reply.target->replied = true;
  reply.target->versions = std::move(versions);
  if (op.phase == Phase::kLinger) {
    if (all_answered(op.targets)) finish_background_repair(ctx, op_id);
    return;
  }
  if (count_of(op.targets, &Target::replied) >= op.needed) read_done(ctx, op_id);
}

void QuorumStore::on_write_ack(Context& ctx, uint64_t op_id, NodeId from, bool stored) {
  const Awaited ack = awaited(op_id, from, Phase::kWrite, Phase::kRepair);
  if (!ack) return;
  Op& op = *ack.op;
  ack.target->replied = true;
  ack.target->stored = stored;
  const uint32_t acks = count_of(op.targets, &Target::stored);
  const bool all = all_answered(op.targets);
  if (acks < op.needed) {
    if (op.answered && all) end_op(ctx, op_id);
    return;
  }
  if (op.phase == Phase::kWrite) {
    answer(ctx, op, KvStatus::kOk);
    // Answered; the write still waits for the other replicas it was sent to, so that a
    // silent one is noticed (and, with a sloppy quorum, stood in for: the write reaches N
    // nodes, Dynamo 4.6) — until they answer or replica_timeout ends the wait.
    if (!all) return;
  } else {
    answer_read(ctx, op);
  }
  end_op(ctx, op_id);
}

Siblings QuorumStore::merged_replies(const Op& op) const {
  Siblings merged;
  for (const auto& t : op.targets) {
    if (t.replied) {
      merged =
          merge(merged, t.versions, config_.versioning, static_cast<size_t>(config_.max_siblings))
              .merged;
    }
  }
  return merged;
}

void QuorumStore::read_done(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  op.merged = merged_replies(op);
  switch (op.req.op) {
    case KvOpKind::kGet:
      finish_get(ctx, op_id);
      return;
    case KvOpKind::kAppend:
      apply_append(ctx, op_id);
      return;
    case KvOpKind::kCas:
      apply_cas(ctx, op_id);
      return;
    case KvOpKind::kPut:
      return;
  }
}

void QuorumStore::finish_get(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  if (config_.read_repair == ReadRepair::kSync) {
    start_sync_repair(ctx, op_id);
    return;
  }
  answer_read(ctx, op);
  if (config_.read_repair == ReadRepair::kNone) {
    end_op(ctx, op_id);
    return;
  }
  op.phase = Phase::kLinger;
  if (all_answered(op.targets)) {
    finish_background_repair(ctx, op_id);
    return;
  }
  op.timer.start(ctx, config_.read_repair_wait);
}

void QuorumStore::apply_append(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  const Siblings& merged = op.merged;
  KvValue base;
  if (!merged.empty()) {
    base = config_.versioning == Versioning::kVectorClock ? union_value(merged) : merged[0].value;
  }
  const auto elems = base.elements();
  if (std::find(elems.begin(), elems.end(), op.req.value) != elems.end()) {
    // A retried append whose element is already there: applied once only (values
    // identify their logical write).
    ctx.record().count(m_duplicate_appends_skipped_);
    answer(ctx, op, KvStatus::kOk);
    end_op(ctx, op_id);
    return;
  }
  base.append(op.req.value, op.req.value_bytes);
  op.written = new_version(ctx, op.req.key, context_of(merged), std::move(base), merged);
  start_write(ctx, op_id);
}

void QuorumStore::apply_cas(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  const Siblings& merged = op.merged;
  bool match = false;
  if (op.req.expected_absent) {
    match =
        std::all_of(merged.begin(), merged.end(), [](const Version& v) { return v.value.empty(); });
  } else {
    match = merged.size() == 1 && merged[0].value.is_single(op.req.expected);
  }
  if (!match) {
    ctx.record().count(m_cas_mismatch_);
    answer(ctx, op, KvStatus::kCasMismatch);
    end_op(ctx, op_id);
    return;
  }
  op.written = new_version(ctx, op.req.key, context_of(merged),
                           KvValue::single(op.req.value, op.req.value_bytes), merged);
  start_write(ctx, op_id);
}

// --- rounds, failures and answers -------------------------------------------------------

void QuorumStore::op_timeout(Context& ctx, uint64_t op_id) {
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return;
  Op& op = it->second;
  if (op.phase == Phase::kLinger) {
    finish_background_repair(ctx, op_id);
    return;
  }
  for (const auto& t : op.targets) {
    if (t.asked && !t.replied) suspect(ctx, t.node);
  }
  const bool lingering = op.answered;  // an acknowledged write waiting for the rest
  if (lingering && (!config_.sloppy_quorum || config_.write_fanout == Fanout::kQuorum)) {
    end_op(ctx, op_id);
    return;
  }
  if (++op.rounds >= static_cast<uint32_t>(config_.max_rounds)) {
    give_up(ctx, op_id);
    return;
  }
  const auto next = next_round(ctx, op);
  if (next.empty()) {
    give_up(ctx, op_id);
    return;
  }
  ask(ctx, op_id, next);
}

std::vector<size_t> QuorumStore::next_round(Context& ctx, Op& op) {
  // Another round: replicas not asked yet (quorum fan-out), then — with a sloppy quorum —
  // stand-ins for the silent ones, found by walking the ring past them.
  const bool reading = op.phase == Phase::kRead;
  const uint32_t progress = count_of(op.targets, reading ? &Target::replied : &Target::stored);
  const Fanout fanout = reading ? config_.read_fanout : config_.write_fanout;
  size_t budget = fanout == Fanout::kAll ? SIZE_MAX : op.needed - std::min(op.needed, progress);
  for (const Target& t : targets(ctx, op.req.key)) {
    if (std::none_of(op.targets.begin(), op.targets.end(),
                     [&](const Target& x) { return x.node == t.node; })) {
      op.targets.push_back(t);
    }
  }
  std::vector<size_t> chosen;
  for (size_t i = 0; i < op.targets.size() && chosen.size() < budget; ++i) {
    const Target& t = op.targets[i];
    if (!t.asked && healthy(ctx, t.node)) chosen.push_back(i);
  }
  return chosen;
}

void QuorumStore::give_up(Context& ctx, uint64_t op_id) {
  // An acknowledged write that was waiting for the rest just ends; anything else fails.
  if (ops_.at(op_id).answered) {
    end_op(ctx, op_id);
  } else {
    fail(ctx, op_id);
  }
}

void QuorumStore::fail(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  // A write some replica may have stored is not known to have failed: the client must
  // treat it as maybe applied (Dynamo keeps what reached a replica).
  const bool maybe = op.phase == Phase::kWrite && op.any_stored;
  ctx.record().count(maybe ? m_indeterminate_ : m_unavailable_);
  answer(ctx, op, maybe ? KvStatus::kIndeterminate : KvStatus::kUnavailable);
  end_op(ctx, op_id);
}

void QuorumStore::answer(Context& ctx, Op& op, KvStatus status) {
  if (op.answered) return;
  op.answered = true;
  KvResponse r = kv::kv_reply(op.req, status);
  if (status == KvStatus::kOk && config_.versioning == Versioning::kVectorClock &&
      op.req.op != KvOpKind::kGet) {
    kv::KvCausal c;
    c.context =
        op.written.dot.counter != 0 ? op.written.clock().words() : context_of(op.merged).words();
    r.causal = kv::KvCausalPtr(std::move(c));
  }
  ctx.send(op.client, std::move(r));
}

void QuorumStore::answer_read(Context& ctx, Op& op) {
  if (op.answered) return;
  op.answered = true;
  const Siblings& m = op.merged;
  KvResponse r = kv::kv_reply(op.req, KvStatus::kOk);
  if (!m.empty()) r.value = m.back().value;  // the newest by the writers' clocks
  ctx.record().count(m_reads_ok_);
  ctx.record().count(m_read_siblings_, static_cast<int64_t>(m.size()));
  if (m.size() >= 2) ctx.record().count(m_reads_with_siblings_);
  if (config_.versioning == Versioning::kVectorClock) {
    kv::KvCausal c;
    if (m.size() >= 2) {
      for (const auto& v : m)
        c.siblings.push_back(v.value);
    }
    c.context = context_of(m).words();
    r.causal = kv::KvCausalPtr(std::move(c));
  }
  ctx.send(op.client, std::move(r));
}

QuorumRepair QuorumStore::counted_repair(Context& ctx, uint64_t op_id, uint64_t key,
                                         const Siblings& versions) {
  QuorumRepair fix{op_id, key, versions};
  ctx.record().count(m_read_repairs_);
  ctx.record().count(m_read_repair_bytes_, fix.size_bytes());
  return fix;
}

void QuorumStore::finish_background_repair(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  // Dynamo 5: once the late replies are in, replicas that returned older versions get
  // the merged result.
  const Siblings merged = merged_replies(op);
  for (const auto& t : op.targets) {
    if (!t.replied || same_versions(t.versions, merged)) continue;
    QuorumRepair fix = counted_repair(ctx, 0, op.req.key, merged);
    if (t.node == self_) {
      store(ctx, op.req.key, merged);
    } else {
      ctx.send(t.node, std::move(fix));
    }
  }
  end_op(ctx, op_id);
}

void QuorumStore::end_op(Context& ctx, uint64_t op_id) {
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return;
  it->second.timer.stop(ctx);
  ops_.erase(it);
}

}  // namespace dsim::quorum
