#include "models/tcc/shard.h"

#include <sstream>

#include "sim/core/assert.h"

namespace dsim::tcc {

WalletShard::Config WalletShard::parse(ParamReader& r) {
  Config c;
  c.initial_balance = r.integer("initial_balance", c.initial_balance,
                                "the balance every account starts with (in the smallest unit)", 0,
                                int64_t{1} << 40);
  return c;
}

void WalletShard::declare(const Config&, MetricDecls& d) {
  for (const char* name :
       {"tries", "tries_refused", "confirms", "cancels", "repeats", "cancels_before_try",
        "late_tries_refused", "conflicts", "confirms_without_try", "forced_writes"})
    d.counter(name);
  for (const char* name : {"money_created", "negative_balances", "half_applied", "in_flight_at_end",
                           "out_of_order_cancels", "transfers_tried", "in_flight_ms_p50",
                           "in_flight_ms_p99", "in_flight_ms_max"})
    d.figure(name);
}

void WalletShard::on_start(Context& ctx) {
  m_.tries = ctx.intern("tries");
  m_.tries_refused = ctx.intern("tries_refused");
  m_.confirms = ctx.intern("confirms");
  m_.cancels = ctx.intern("cancels");
  m_.repeats = ctx.intern("repeats");
  m_.cancels_before_try = ctx.intern("cancels_before_try");
  m_.late_tries_refused = ctx.intern("late_tries_refused");
  m_.conflicts = ctx.intern("conflicts");
  m_.confirms_without_try = ctx.intern("confirms_without_try");
  m_.forced_writes = ctx.intern("forced_writes");
  m_.tried = ctx.intern("tcc_tried");
  m_.reserve = ctx.intern("tcc_reserve");
  m_.refund = ctx.intern("tcc_refund");
  m_.credit = ctx.intern("tcc_credit");
  m_.balance = ctx.intern("tcc_balance");
  m_.phase2 = ctx.intern("tcc_phase2");
  m_.out_of_order = ctx.intern("tcc_out_of_order");
  recover(ctx);
}

void WalletShard::on_message(Context& ctx, const Envelope& env) {
  const auto* op = env.msg.get<ShardOp>();
  if (!op) return;
  const auto it = records_.find({op->transfer, op->side});
  Record* rec = it == records_.end() ? nullptr : &it->second;
  switch (op->op) {
    case Op::kTry:
      if (rec) {
        ctx.record().count(m_.repeats);
        if (rec->out_of_order) ctx.record().count(m_.late_tries_refused);
        // A side cancelled since says refused: the transfer cannot be confirmed any more.
        answer(ctx, env.from, *op, *rec, rec->tried_ok && rec->state != State::kCancelled);
      } else {
        run_try(ctx, env.from, *op);
      }
      break;
    case Op::kConfirm:
      run_confirm(ctx, env.from, *op, rec);
      break;
    case Op::kCancel:
      run_cancel(ctx, env.from, *op, rec);
      break;
  }
}

void WalletShard::on_disk(Context& ctx, DiskOpId, uint64_t tag) {
  durable_upto_ = tag;
  const auto it = pending_.find(tag);
  if (it == pending_.end()) return;
  // The local transaction is durable: it happened. Its marks, then its answer.
  for (const MarkRec& m : it->second.marks)
    ctx.record().mark(m.kind, m.a, m.b);
  ctx.send(it->second.to, it->second.reply);
  pending_.erase(it);
}

// --- the three operations -----------------------------------------------------------------

void WalletShard::run_try(Context& ctx, NodeId from, const ShardOp& op) {
  ctx.record().count(m_.tries);
  Record& rec = records_[{op.transfer, op.side}];
  rec.account = op.account;
  rec.amount = op.amount;
  std::vector<MarkRec> marks;
  bool changed = false;
  if (op.side == Side::kDebit) {
    const int64_t have = balance(op.account);
    if (op.amount <= 0 || have < op.amount) {
      // Insufficient funds: refused, and the refusal is recorded so a repeat says the same.
      ctx.record().count(m_.tries_refused);
      rec.state = State::kRefused;
      commit(ctx, from, op, rec, false, {}, false);
      return;
    }
    set_balance(op.account, have - op.amount);
    marks.push_back({m_.reserve, static_cast<int64_t>(op.transfer), op.amount});
    marks.push_back({m_.balance, static_cast<int64_t>(op.account), have - op.amount});
    changed = true;
  }
  rec.state = State::kTried;
  rec.tried_ok = true;
  marks.insert(marks.begin(),
               MarkRec{m_.tried, static_cast<int64_t>(op.transfer), static_cast<int64_t>(op.side)});
  commit(ctx, from, op, rec, true, std::move(marks), changed);
}

void WalletShard::run_confirm(Context& ctx, NodeId from, const ShardOp& op, Record* rec) {
  if (rec && rec->state != State::kTried) {
    ctx.record().count(m_.repeats);
    if (rec->state != State::kConfirmed) ctx.record().count(m_.conflicts);
    answer(ctx, from, op, *rec, rec->state == State::kConfirmed);
    return;
  }
  ctx.record().count(m_.confirms);
  if (!rec) {
    // Confirmed with no try recorded here: the coordinator confirms only after both tries
    // answered, so this is counted (and the analysis will see any money it makes).
    ctx.record().count(m_.confirms_without_try);
    rec = &records_[{op.transfer, op.side}];
    rec->account = op.account;
    rec->amount = op.amount;
  }
  rec->state = State::kConfirmed;
  std::vector<MarkRec> marks{
      {m_.phase2, static_cast<int64_t>(op.transfer), static_cast<int64_t>(op.side) * 2 + 1}};
  bool changed = false;
  if (op.side == Side::kCredit) {
    const int64_t now = balance(rec->account) + rec->amount;
    set_balance(rec->account, now);
    marks.push_back({m_.credit, static_cast<int64_t>(op.transfer), rec->amount});
    marks.push_back({m_.balance, static_cast<int64_t>(rec->account), now});
    changed = true;
  }
  commit(ctx, from, op, *rec, true, std::move(marks), changed);
}

void WalletShard::run_cancel(Context& ctx, NodeId from, const ShardOp& op, Record* rec) {
  if (rec && rec->state != State::kTried && rec->state != State::kRefused) {
    ctx.record().count(m_.repeats);
    if (rec->state != State::kCancelled) ctx.record().count(m_.conflicts);
    answer(ctx, from, op, *rec, rec->state == State::kCancelled);
    return;
  }
  ctx.record().count(m_.cancels);
  std::vector<MarkRec> marks{
      {m_.phase2, static_cast<int64_t>(op.transfer), static_cast<int64_t>(op.side) * 2}};
  if (!rec) {
    // Out of order: the cancel overtook its try. Recorded as cancelled, flagged, so the try
    // is refused when it comes.
    ctx.record().count(m_.cancels_before_try);
    rec = &records_[{op.transfer, op.side}];
    rec->account = op.account;
    rec->amount = op.amount;
    rec->out_of_order = true;
    marks.push_back(
        {m_.out_of_order, static_cast<int64_t>(op.transfer), static_cast<int64_t>(op.side)});
  }
  bool changed = false;
  if (op.side == Side::kDebit && rec->tried_ok) {
    const int64_t now = balance(rec->account) + rec->amount;
    set_balance(rec->account, now);
    marks.push_back({m_.refund, static_cast<int64_t>(op.transfer), rec->amount});
    marks.push_back({m_.balance, static_cast<int64_t>(rec->account), now});
    changed = true;
  }
  rec->state = State::kCancelled;
  commit(ctx, from, op, *rec, true, std::move(marks), changed);
}

// --- durability and answers ---------------------------------------------------------------

void WalletShard::answer(Context& ctx, NodeId to, const ShardOp& op, const Record& rec, bool ok) {
  const ShardReply reply{op.transfer, op.op, op.side, ok};
  if (rec.written <= durable_upto_) {
    ctx.send(to, reply);
    return;
  }
  // Its record is written but not yet durable: answer once it is.
  const uint64_t tag = next_sync_++;
  pending_[tag] = Pending{to, reply, {}};
  ctx.disk().sync(tag);
}

void WalletShard::commit(Context& ctx, NodeId to, const ShardOp& op, Record& rec, bool ok,
                         std::vector<MarkRec> marks, bool changed) {
  const uint64_t tag = next_sync_++;
  rec.written = tag;
  std::string text = std::to_string(static_cast<int>(rec.state)) + ' ' +
                     std::to_string(rec.account) + ' ' + std::to_string(rec.amount) + ' ' +
                     (rec.tried_ok ? "1" : "0") + ' ' + (rec.out_of_order ? "1" : "0");
  ctx.disk().write(record_key({op.transfer, op.side}), std::move(text), 0, DiskWrite::kLog);
  if (changed) {
    ctx.disk().write("b/" + std::to_string(rec.account), std::to_string(balance(rec.account)), 0,
                     DiskWrite::kLog);
  }
  ctx.disk().sync(tag);
  ctx.record().count(m_.forced_writes);
  pending_[tag] = Pending{to, ShardReply{op.transfer, op.op, op.side, ok}, std::move(marks)};
}

void WalletShard::recover(Context& ctx) {
  ctx.disk().for_each("b/", [&](std::string_view key, std::string_view value) {
    balances_[std::stoull(std::string(key.substr(2)))] = std::stoll(std::string(value));
  });
  ctx.disk().for_each("x/", [&](std::string_view key, std::string_view value) {
    const std::string k(key.substr(2));
    const size_t slash = k.find('/');
    DSIM_ASSERT(slash != std::string::npos, "a transfer record's key does not parse: ", k);
    const Key id{std::stoull(k.substr(0, slash)),
                 static_cast<Side>(std::stoi(k.substr(slash + 1)))};
    std::istringstream in{std::string(value)};
    int state = 0, tried = 0, ooo = 0;
    Record rec;
    in >> state >> rec.account >> rec.amount >> tried >> ooo;
    DSIM_ASSERT(!in.fail(), "a transfer record does not parse: ", k);
    rec.state = static_cast<State>(state);
    rec.tried_ok = tried != 0;
    rec.out_of_order = ooo != 0;
    records_[id] = rec;
  });
}

std::string WalletShard::record_key(const Key& k) {
  return "x/" + std::to_string(k.first) + '/' + std::to_string(static_cast<int>(k.second));
}

int64_t WalletShard::balance(uint64_t account) const {
  const auto it = balances_.find(account);
  return it == balances_.end() ? config_.initial_balance : it->second;
}

const WalletShard::Record* WalletShard::record(uint64_t transfer, Side side) const {
  const auto it = records_.find({transfer, side});
  return it == records_.end() ? nullptr : &it->second;
}

void WalletShard::check_invariants() const {
  for (const auto& [account, value] : balances_)
    DSIM_ASSERT(value >= 0, "account ", account, " has a negative balance: ", value);
  for (const auto& [key, rec] : records_) {
    DSIM_ASSERT(!(rec.out_of_order && rec.tried_ok), "transfer ", key.first,
                " was cancelled before its try and yet tried");
  }
}

}  // namespace dsim::tcc
