#include "models/tcc/coordinator.h"

#include <sstream>

#include "models/kit/hash_slots.h"
#include "sim/core/assert.h"

namespace dsim::tcc {

namespace {
constexpr Side kBoth[kSides] = {Side::kDebit, Side::kCredit};
}  // namespace

// --- configuration ------------------------------------------------------------------------

TccCoordinator::Config TccCoordinator::parse(ParamReader& r) {
  Config c;
  c.shards = r.group("shards", "the wallet_shard group holding the account balances");
  if (!c.shards.empty() && !r.doc_mode()) {
    const std::string_view model = r.env().model_of(c.shards);
    if (!model.empty() && model != "wallet_shard") {
      r.error("shards",
              "group '" + c.shards + "' runs " + std::string(model) + ", not wallet_shard");
    }
  }
  c.try_timeout = r.duration("try_timeout", c.try_timeout,
                             "a transfer whose tries have not both answered by then is cancelled");
  c.resend = r.duration("resend", c.resend,
                        "confirms and cancels not yet acknowledged are sent again this often");
  c.remembered = r.integer("remembered", c.remembered,
                           "finished rows of the phase status table kept to answer retried "
                           "requests (the oldest are dropped first)",
                           1, 100'000'000);
  if (c.try_timeout <= Duration::zero()) r.error("try_timeout", "must be > 0");
  if (c.resend <= Duration::zero()) r.error("resend", "must be > 0");
  return c;
}

void TccCoordinator::declare(const Config&, MetricDecls& d) {
  for (const char* name :
       {"confirmed", "cancelled", "forced_writes", "messages", "resends", "conflicts"})
    d.counter(name);
  for (int i = 1; i < kCancelCauses; ++i)
    d.counter("cancelled_" + std::string(cancel_cause_name(static_cast<CancelCause>(i))));
  d.timing("decision_time");
  d.timing("completion_time");
  d.level("in_progress");
}

void TccCoordinator::on_start(Context& ctx) {
  const auto nodes = ctx.group_nodes(config_.shards);
  shards_.assign(nodes.begin(), nodes.end());
  m_.confirmed = ctx.intern("confirmed");
  m_.cancelled = ctx.intern("cancelled");
  m_.forced_writes = ctx.intern("forced_writes");
  m_.messages = ctx.intern("messages");
  m_.resends = ctx.intern("resends");
  m_.conflicts = ctx.intern("conflicts");
  m_.decision_time = ctx.intern("decision_time");
  m_.completion_time = ctx.intern("completion_time");
  m_.in_progress = ctx.intern("in_progress");
  for (int i = 1; i < kCancelCauses; ++i)
    m_.cause[i] =
        ctx.intern("cancelled_" + std::string(cancel_cause_name(static_cast<CancelCause>(i))));
  recover(ctx);
}

void TccCoordinator::on_message(Context& ctx, const Envelope& env) {
  if (const auto* req = env.msg.get<TransferRequest>()) {
    on_request(ctx, *req);
  } else if (const auto* rep = env.msg.get<ShardReply>()) {
    on_reply(ctx, *rep);
  }
  ctx.record().level(m_.in_progress, static_cast<double>(rows_.size() - done_.size()));
}

void TccCoordinator::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  const auto [kind, local] = kit::timer_of<Timer>(tag);
  Row* r = find_local(local);
  if (!r || r->timer != id) return;
  r->timer = TimerId{};
  if (kind == Timer::kTry && r->stage == Stage::kTrying) {
    decide(ctx, *r, false, CancelCause::kTryTimeout);
  } else if (kind == Timer::kResend && r->stage == Stage::kSecond) {
    ctx.record().count(m_.resends);
    send_second(ctx, *r);
  }
}

void TccCoordinator::on_disk(Context& ctx, DiskOpId, uint64_t tag) {
  const auto [kind, local] = kit::timer_of<Sync>(tag);
  Row* r = find_local(local);
  if (!r) return;
  if (kind == Sync::kLogged && r->stage == Stage::kLogging) {
    // The row is durable: the tries may go out.
    send_tries(ctx, *r);
  } else if (kind == Sync::kDecided && r->stage == Stage::kDeciding) {
    // The decision is durable: it takes effect now.
    r->stage = Stage::kSecond;
    if (r->second == Second::kConfirm) {
      ctx.record().count(m_.confirmed);
    } else {
      ctx.record().count(m_.cancelled);
      ctx.record().count(m_.cause[static_cast<int>(r->cause)]);
    }
    ctx.record().observe(m_.decision_time, ctx.monotonic() - r->began);
    answer(ctx, *r);
    send_second(ctx, *r);
  }
}

// --- the try phase ------------------------------------------------------------------------

void TccCoordinator::on_request(Context& ctx, const TransferRequest& req) {
  if (const auto it = rows_.find(req.transfer); it != rows_.end()) {
    Row& r = it->second;
    r.call = req.call;  // a retry: answer this attempt, now if the decision is durable
    if (r.stage == Stage::kSecond || r.stage == Stage::kDone) answer(ctx, r);
    return;
  }
  if (shards_.empty() || req.from == req.to || req.amount <= 0) {
    refuse(ctx, req);
    return;
  }
  Row& r = add(req.transfer);
  r.accounts[0] = req.from;
  r.accounts[1] = req.to;
  r.amount = req.amount;
  const auto n = static_cast<uint32_t>(shards_.size());
  for (int s = 0; s < kSides; ++s)
    r.shard[s] = shards_[kit::slot_shard(kit::hash_slot(r.accounts[s]), n)];
  r.call = req.call;
  r.began = ctx.monotonic();
  r.stage = Stage::kLogging;
  store(ctx, r);
  ctx.disk().sync(kit::timer_tag(Sync::kLogged, r.local));
  ctx.record().count(m_.forced_writes);
}

void TccCoordinator::send_tries(Context& ctx, Row& r) {
  r.stage = Stage::kTrying;
  for (Side side : kBoth) {
    const int s = static_cast<int>(side);
    r.tries[s] = TryStatus::kSent;
    ctx.record().count(m_.messages);
    ctx.send(r.shard[s], ShardOp{r.id, Op::kTry, side, r.accounts[s], r.amount});
  }
  store(ctx, r);  // not forced: an undecided row is cancelled after a restart anyway
  arm(ctx, r, Timer::kTry, config_.try_timeout);
}

void TccCoordinator::on_reply(Context& ctx, const ShardReply& rep) {
  const auto it = rows_.find(rep.transfer);
  if (it == rows_.end()) return;
  Row& r = it->second;
  const int s = static_cast<int>(rep.side);
  if (rep.op == Op::kTry) {
    if (r.tries[s] != TryStatus::kSent) return;
    r.tries[s] = rep.ok ? TryStatus::kDone : TryStatus::kRefused;
    if (r.stage != Stage::kTrying) return;  // decided already (timed out): noted only
    if (!rep.ok) {
      decide(ctx, r, false, CancelCause::kRefused);
    } else if (r.tries[0] == TryStatus::kDone && r.tries[1] == TryStatus::kDone) {
      decide(ctx, r, true, CancelCause::kNone);
    } else {
      store(ctx, r);
    }
    return;
  }
  const bool matches = (rep.op == Op::kConfirm) == (r.second == Second::kConfirm);
  if (r.stage != Stage::kSecond || !matches || r.acks[s] == AckStatus::kAcked) return;
  if (!rep.ok) ctx.record().count(m_.conflicts);  // the side had ended the other way
  r.acks[s] = AckStatus::kAcked;
  if (r.acks[0] == AckStatus::kAcked && r.acks[1] == AckStatus::kAcked) {
    finish(ctx, r);
  } else {
    store(ctx, r);
  }
}

// --- the decision and the second phase ------------------------------------------------------

void TccCoordinator::decide(Context& ctx, Row& r, bool confirm, CancelCause cause) {
  r.second = confirm ? Second::kConfirm : Second::kCancel;
  r.cause = cause;
  // A cancel sent while a try is unanswered may reach its shard first.
  r.out_of_order =
      !confirm && (r.tries[0] == TryStatus::kSent || r.tries[1] == TryStatus::kSent ||
                   r.tries[0] == TryStatus::kNotSent || r.tries[1] == TryStatus::kNotSent);
  r.stage = Stage::kDeciding;
  if (r.timer.valid()) ctx.cancel_timer(r.timer);
  r.timer = TimerId{};
  store(ctx, r);
  ctx.disk().sync(kit::timer_tag(Sync::kDecided, r.local));
  ctx.record().count(m_.forced_writes);
}

void TccCoordinator::send_second(Context& ctx, Row& r) {
  const Op op = r.second == Second::kConfirm ? Op::kConfirm : Op::kCancel;
  for (Side side : kBoth) {
    const int s = static_cast<int>(side);
    if (r.acks[s] == AckStatus::kAcked) continue;
    r.acks[s] = AckStatus::kSent;
    ctx.record().count(m_.messages);
    ctx.send(r.shard[s], ShardOp{r.id, op, side, r.accounts[s], r.amount});
  }
  arm(ctx, r, Timer::kResend, config_.resend);
}

void TccCoordinator::finish(Context& ctx, Row& r) {
  r.stage = Stage::kDone;
  if (r.timer.valid()) ctx.cancel_timer(r.timer);
  r.timer = TimerId{};
  ctx.record().observe(m_.completion_time, ctx.monotonic() - r.began);
  store(ctx, r);  // not forced: a done row lost in a crash is only driven again
  done_.push_back(r.id);
  while (done_.size() > static_cast<size_t>(config_.remembered)) {
    const uint64_t old = done_.front();
    done_.pop_front();
    ctx.disk().erase("r/" + std::to_string(old));
    const auto it = rows_.find(old);
    if (it != rows_.end()) {
      local_.erase(it->second.local);
      rows_.erase(it);
    }
  }
}

void TccCoordinator::answer(Context& ctx, const Row& r) {
  if (r.call.id == 0) return;  // recovered: the client's attempt died with the old instance
  const bool confirmed = r.second == Second::kConfirm;
  ctx.send(r.call.reply_to, TransferResponse{r.call.id, r.id,
                                             confirmed ? TransferResponse::Status::kConfirmed
                                                       : TransferResponse::Status::kCancelled,
                                             r.cause});
}

void TccCoordinator::refuse(Context& ctx, const TransferRequest& req) {
  ctx.record().count(m_.cancelled);
  ctx.record().count(m_.cause[static_cast<int>(CancelCause::kInvalid)]);
  ctx.send(req.call.reply_to,
           TransferResponse{req.call.id, req.transfer, TransferResponse::Status::kCancelled,
                            CancelCause::kInvalid});
}

// --- the table on the disk ----------------------------------------------------------------

void TccCoordinator::store(Context& ctx, const Row& r) {
  std::string text = std::to_string(r.accounts[0]) + ' ' + std::to_string(r.accounts[1]) + ' ' +
                     std::to_string(r.amount);
  for (int s = 0; s < kSides; ++s)
    text += ' ' + std::to_string(r.shard[s]) + ' ' + std::to_string(static_cast<int>(r.tries[s]));
  text += ' ' + std::to_string(static_cast<int>(r.second));
  for (int s = 0; s < kSides; ++s)
    text += ' ' + std::to_string(static_cast<int>(r.acks[s]));
  text += ' ' + std::to_string(r.out_of_order ? 1 : 0) + ' ' +
          std::to_string(static_cast<int>(r.cause));
  ctx.disk().write("r/" + std::to_string(r.id), std::move(text), 0, DiskWrite::kLog);
}

bool TccCoordinator::parse_row(uint64_t id, std::string_view text, Row& r) const {
  std::istringstream in{std::string(text)};
  int tries[kSides] = {0, 0}, acks[kSides] = {0, 0}, second = 0, ooo = 0, cause = 0;
  in >> r.accounts[0] >> r.accounts[1] >> r.amount;
  for (int s = 0; s < kSides; ++s)
    in >> r.shard[s] >> tries[s];
  in >> second;
  for (int s = 0; s < kSides; ++s)
    in >> acks[s];
  in >> ooo >> cause;
  r.id = id;
  for (int s = 0; s < kSides; ++s) {
    r.tries[s] = static_cast<TryStatus>(tries[s]);
    r.acks[s] = static_cast<AckStatus>(acks[s]);
  }
  r.second = static_cast<Second>(second);
  r.out_of_order = ooo != 0;
  r.cause = static_cast<CancelCause>(cause);
  return !in.fail();
}

void TccCoordinator::recover(Context& ctx) {
  std::vector<std::pair<uint64_t, std::string>> rows;
  ctx.disk().for_each("r/", [&](std::string_view key, std::string_view value) {
    rows.emplace_back(std::stoull(std::string(key.substr(2))), std::string(value));
  });
  for (const auto& [id, text] : rows) {
    Row& r = add(id);
    DSIM_ASSERT(parse_row(id, text, r), "a phase status row does not parse: transfer ", id);
    r.began = ctx.monotonic();
    if (r.second == Second::kNone) {
      decide(ctx, r, false, CancelCause::kRecovery);  // undecided: cancel (see the header)
    } else if (r.acks[0] == AckStatus::kAcked && r.acks[1] == AckStatus::kAcked) {
      r.stage = Stage::kDone;
      done_.push_back(id);
    } else {
      r.stage = Stage::kSecond;
      send_second(ctx, r);  // decided: again, until both acknowledge
    }
  }
}

void TccCoordinator::arm(Context& ctx, Row& r, Timer kind, Duration after) {
  if (r.timer.valid()) ctx.cancel_timer(r.timer);
  r.timer = ctx.set_timer(after, kit::timer_tag(kind, r.local));
}

TccCoordinator::Row& TccCoordinator::add(uint64_t id) {
  Row& r = rows_[id];
  r.id = id;
  r.local = next_local_++;
  local_[r.local] = id;
  return r;
}

TccCoordinator::Row* TccCoordinator::find_local(uint64_t local) {
  const auto it = local_.find(local);
  if (it == local_.end()) return nullptr;
  const auto r = rows_.find(it->second);
  return r == rows_.end() ? nullptr : &r->second;
}

const TccCoordinator::Row* TccCoordinator::row(uint64_t transfer) const {
  const auto it = rows_.find(transfer);
  return it == rows_.end() ? nullptr : &it->second;
}

}  // namespace dsim::tcc
