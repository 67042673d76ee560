#include "models/txn/acceptor.h"

#include <sstream>

#include "sim/core/assert.h"

namespace dsim::txn {

TxnAcceptor::Config TxnAcceptor::parse(ParamReader& r) {
  Config c;
  c.remembered = r.integer("remembered", c.remembered,
                           "transactions whose instances are kept (memory and disk); the oldest "
                           "are forgotten first",
                           1, 100'000'000);
  return c;
}

void TxnAcceptor::declare(const Config&, MetricDecls& d) {
  for (const char* name : {"accepted", "refused", "promised", "forced_writes", "syncs", "messages"})
    d.counter(name);
}

void TxnAcceptor::on_start(Context& ctx) {
  m_accepted_ = ctx.intern("accepted");
  m_refused_ = ctx.intern("refused");
  m_promised_ = ctx.intern("promised");
  m_forced_writes_ = ctx.intern("forced_writes");
  m_syncs_ = ctx.intern("syncs");
  m_messages_ = ctx.intern("messages");
  // What a crash kept: every instance's promise and accepted value.
  ctx.disk().for_each("a/", [&](std::string_view key, std::string_view value) {
    std::istringstream k{std::string(key.substr(2))}, v{std::string(value)};
    uint64_t txn = 0;
    NodeId participant = kNoNode;
    char slash = 0;
    k >> txn >> slash >> participant;
    Instance i;
    int any = 0, prepared = 0;
    v >> i.promised >> any >> i.ballot >> prepared;
    DSIM_ASSERT(!k.fail() && !v.fail(), "an acceptor record does not parse: ", key);
    i.any = any != 0;
    i.prepared = prepared != 0;
    if (txn_instances_[txn]++ == 0) txn_order_.push_back(txn);
    instances_[{txn, participant}] = i;
  });
}

void TxnAcceptor::on_message(Context& ctx, const Envelope& env) {
  if (const auto* a = env.msg.get<Phase2a>()) {
    // Paxos phase 2: accept unless a higher ballot was promised.
    Instance& i = instance(ctx, a->txn, a->instance);
    if (a->ballot < i.promised) {
      ctx.record().count(m_refused_);
      return;
    }
    i.promised = a->ballot;
    i.any = true;
    i.ballot = a->ballot;
    i.prepared = a->prepared;
    store(ctx, a->txn, a->instance, i);
    ctx.record().count(m_accepted_);
    answer_after_sync(
        ctx, a->leader,
        Phase2b{a->txn, a->instance, a->ballot, a->prepared, a->delays == 0 ? 0 : a->delays + 1});
    return;
  }
  if (const auto* p = env.msg.get<Phase1a>()) {
    // Paxos phase 1: promise the ballot for every instance, reporting what was accepted.
    Phase1b out;
    out.txn = p->txn;
    out.ballot = p->ballot;
    for (NodeId participant : p->instances) {
      Instance& i = instance(ctx, p->txn, participant);
      if (p->ballot <= i.promised && !(p->ballot == i.promised && !i.any)) out.promised = false;
    }
    if (!out.promised) {
      ctx.record().count(m_refused_);
      ctx.record().count(m_messages_);
      ctx.send(env.from, std::move(out));
      return;
    }
    for (NodeId participant : p->instances) {
      Instance& i = instance(ctx, p->txn, participant);
      i.promised = p->ballot;
      store(ctx, p->txn, participant, i);
      out.accepted.push_back({participant, i.any, i.ballot, i.prepared});
    }
    ctx.record().count(m_promised_);
    answer_after_sync(ctx, env.from, std::move(out));
  }
}

void TxnAcceptor::on_disk(Context& ctx, DiskOpId, uint64_t) {
  if (!sync_in_flight_) return;  // stale: a crash came between
  sync_in_flight_ = false;
  for (Pending& p : syncing_) {
    ctx.record().count(m_messages_);
    ctx.send(p.to, std::move(p.msg));
  }
  syncing_.clear();
  if (!waiting_.empty()) flush(ctx);
}

void TxnAcceptor::flush(Context& ctx) {
  syncing_ = std::move(waiting_);
  waiting_.clear();
  sync_in_flight_ = true;
  ctx.disk().sync();
  ctx.record().count(m_syncs_);
}

TxnAcceptor::Instance& TxnAcceptor::instance(Context& ctx, uint64_t txn, NodeId participant) {
  const auto [it, added] = instances_.try_emplace({txn, participant});
  if (!added) return it->second;
  if (txn_instances_[txn]++ == 0) {
    txn_order_.push_back(txn);
    while (txn_order_.size() > static_cast<size_t>(config_.remembered)) {
      const uint64_t old = txn_order_.front();
      txn_order_.pop_front();
      txn_instances_.erase(old);
      auto first = instances_.lower_bound({old, 0});
      while (first != instances_.end() && first->first.first == old) {
        ctx.disk().erase("a/" + std::to_string(old) + "/" + std::to_string(first->first.second));
        first = instances_.erase(first);
      }
    }
  }
  return instances_.at({txn, participant});
}

void TxnAcceptor::store(Context& ctx, uint64_t txn, NodeId participant, const Instance& i) {
  ctx.disk().write("a/" + std::to_string(txn) + "/" + std::to_string(participant),
                   std::to_string(i.promised) + ' ' + (i.any ? "1 " : "0 ") +
                       std::to_string(i.ballot) + ' ' + (i.prepared ? "1" : "0"),
                   0, DiskWrite::kLog);
}

void TxnAcceptor::answer_after_sync(Context& ctx, NodeId to, Message msg) {
  waiting_.push_back(Pending{to, std::move(msg)});
  ctx.record().count(m_forced_writes_);
  if (!sync_in_flight_) flush(ctx);
}

}  // namespace dsim::txn
