#include "models/saga/orchestrator.h"

#include <sstream>

#include "models/kit/timer.h"
#include "sim/core/assert.h"

namespace dsim::saga {

// --- configuration ------------------------------------------------------------------------

SagaOrchestrator::Config SagaOrchestrator::parse(ParamReader& r) {
  Config c;
  const ParamNode* list = r.raw("steps", "list of groups",
                                "the saga_service group of each step, in the order they run");
  if (!r.doc_mode()) {
    if (!list || list->kind != ParamNode::Kind::kList || list->items.empty()) {
      r.error("steps", "expected a list of saga_service groups, e.g. [flights, hotels, cars]");
    } else {
      for (size_t i = 0; i < list->items.size(); ++i) {
        const ParamNode& item = list->items[i];
        // Each error at the step that is wrong.
        const auto error = [&](const std::string& message) {
          r.env().diagnostics->error(item.loc,
                                     r.path() + ".steps[" + std::to_string(i) + "]: " + message);
        };
        if (item.kind != ParamNode::Kind::kScalar || !r.env().find_group(item.scalar)) {
          error("no group named '" + item.scalar + "' (each step is a saga_service group)");
        } else if (r.env().model_of(item.scalar) != "saga_service") {
          error("group '" + item.scalar + "' runs " + std::string(r.env().model_of(item.scalar)) +
                ", not saga_service");
        } else {
          c.steps.push_back(item.scalar);
        }
      }
    }
  }
  c.step_timeout = r.duration("step_timeout", c.step_timeout,
                              "a command not answered within this is sent again");
  c.step_attempts = r.integer("step_attempts", c.step_attempts,
                              "commands sent for a step before it counts as failed (it may "
                              "have run, so it is compensated too)",
                              1, 1000);
  c.retry = r.duration("retry", c.retry, "a compensation that failed is tried again after this");
  c.compensation_attempts = r.integer(
      "compensation_attempts", c.compensation_attempts,
      "runs of a compensation before it is given up (the saga ends abandoned)", 1, 1'000'000);
  if (c.step_timeout <= Duration::zero()) r.error("step_timeout", "must be > 0");
  if (c.retry <= Duration::zero()) r.error("retry", "must be > 0");
  return c;
}

void SagaOrchestrator::declare(const Config&, MetricDecls& d) {
  for (const char* name : {"started", "completed", "compensated", "abandoned", "step_timeouts",
                           "compensation_retries", "forced_writes", "messages", "resumed"})
    d.counter(name);
  d.timing("saga_time");
  d.level("in_progress");
}

void SagaOrchestrator::on_start(Context& ctx) {
  m_.started = ctx.intern("started");
  m_.completed = ctx.intern("completed");
  m_.compensated = ctx.intern("compensated");
  m_.abandoned = ctx.intern("abandoned");
  m_.step_timeouts = ctx.intern("step_timeouts");
  m_.compensation_retries = ctx.intern("compensation_retries");
  m_.forced_writes = ctx.intern("forced_writes");
  m_.messages = ctx.intern("messages");
  m_.resumed = ctx.intern("resumed");
  m_.saga_time = ctx.intern("saga_time");
  m_.in_progress = ctx.intern("in_progress");
  m_.mark_started = ctx.intern("saga_started");
  m_.mark_completed = ctx.intern("saga_completed");
  m_.mark_compensated = ctx.intern("saga_compensated");
  m_.mark_abandoned = ctx.intern("saga_abandoned");
  recover(ctx);
}

void SagaOrchestrator::on_message(Context& ctx, const Envelope& env) {
  if (const auto* r = env.msg.get<StepReply>()) {
    on_reply(ctx, *r);
  } else if (const auto* q = env.msg.get<SagaRequest>()) {
    on_request(ctx, *q);
  }
  ctx.record().level(m_.in_progress, static_cast<double>(sagas_.size()));
}

void SagaOrchestrator::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  const auto [kind, local] = kit::timer_of<Timer>(tag);
  Saga* s = find_local(local);
  if (!s || s->timer != id || s->logging) return;
  s->timer = TimerId{};
  if (kind == Timer::kRetry) {
    send_command(ctx, *s);
    return;
  }
  ctx.record().count(m_.step_timeouts);
  if (s->phase == Phase::kRunning && ++s->attempts >= config_.step_attempts) {
    // It may have run: compensate it as well as the steps before it.
    s->phase = Phase::kCompensating;
    s->failed_step = s->step;
    s->attempts = 0;
    log(ctx, *s);
    return;
  }
  send_command(ctx, *s);  // again: a compensation is asked for until it is answered
}

void SagaOrchestrator::on_disk(Context& ctx, DiskOpId, uint64_t tag) {
  const auto [kind, local] = kit::timer_of<Sync>(tag);
  Saga* s = find_local(local);
  if (!s || kind != Sync::kLogged || !s->logging) return;
  s->logging = false;
  if (!s->started) {
    s->started = true;  // the saga's first record is durable: it will end, whatever happens
    ctx.record().mark(m_.mark_started, static_cast<int64_t>(s->id), 0);
  }
  if (s->phase == Phase::kEnded) {
    finish(ctx, *s, s->end);
  } else {
    send_command(ctx, *s);
  }
  ctx.record().level(m_.in_progress, static_cast<double>(sagas_.size()));
}

// --- the saga -----------------------------------------------------------------------------

void SagaOrchestrator::on_request(Context& ctx, const SagaRequest& r) {
  if (const auto it = sagas_.find(r.saga); it != sagas_.end()) {
    it->second.call = r.call;  // a retry: the end is told to this attempt
    return;
  }
  if (const auto rec = ctx.disk().get(log_key(r.saga))) {
    std::istringstream in{std::string(*rec)};
    char phase = 0;
    int end = 0;
    uint32_t failed = 0;
    in >> phase >> end >> failed;
    DSIM_ASSERT(phase == static_cast<char>(Phase::kEnded), "a live saga missing from memory");
    answer(ctx, r.call, r.saga, static_cast<SagaEnd>(end), failed);
    return;
  }
  Saga& s = add(r.saga);
  s.call = r.call;
  s.began = ctx.monotonic();
  ctx.record().count(m_.started);
  log(ctx, s);
}

void SagaOrchestrator::on_reply(Context& ctx, const StepReply& r) {
  const auto it = sagas_.find(r.saga);
  if (it == sagas_.end()) return;
  Saga& s = it->second;
  const bool doing = s.phase == Phase::kRunning && r.kind == StepCommand::Kind::kDo;
  const bool undoing = s.phase == Phase::kCompensating && r.kind == StepCommand::Kind::kUndo;
  if (s.logging || r.step != s.step || !(doing || undoing)) return;  // stale
  if (s.timer.valid()) ctx.cancel_timer(s.timer);
  s.timer = TimerId{};
  if (doing) {
    if (r.result == StepReply::Result::kDone) {
      step_done(ctx, s);
    } else {
      step_failed(ctx, s);
    }
  } else if (r.result == StepReply::Result::kDone) {
    undo_done(ctx, s);
  } else {
    ctx.record().count(m_.compensation_retries);
    if (++s.attempts >= config_.compensation_attempts) {
      s.abandoned = true;
      undo_done(ctx, s);  // given up: on to the steps before it
    } else {
      s.timer = ctx.set_timer(config_.retry, kit::timer_tag(Timer::kRetry, s.local));
    }
  }
}

void SagaOrchestrator::step_done(Context& ctx, Saga& s) {
  s.attempts = 0;
  if (s.step + 1 == config_.steps.size()) {
    s.phase = Phase::kEnded;
    s.end = SagaEnd::kCompleted;
  } else {
    ++s.step;
  }
  log(ctx, s);
}

// A step failed without running: the steps before it are compensated, latest first.
void SagaOrchestrator::step_failed(Context& ctx, Saga& s) {
  s.failed_step = s.step;
  s.attempts = 0;
  s.phase = Phase::kCompensating;
  if (s.step == 0) {
    s.phase = Phase::kEnded;
    s.end = SagaEnd::kCompensated;
  } else {
    --s.step;
  }
  log(ctx, s);
}

void SagaOrchestrator::undo_done(Context& ctx, Saga& s) {
  s.attempts = 0;
  if (s.step == 0) {
    s.phase = Phase::kEnded;
    s.end = s.abandoned ? SagaEnd::kAbandoned : SagaEnd::kCompensated;
  } else {
    --s.step;
  }
  log(ctx, s);
}

void SagaOrchestrator::log(Context& ctx, Saga& s) {
  std::ostringstream rec;
  if (s.phase == Phase::kEnded) {
    rec << static_cast<char>(s.phase) << ' ' << static_cast<int>(s.end) << ' ' << s.failed_step;
  } else {
    rec << static_cast<char>(s.phase) << ' ' << s.step << ' ' << s.failed_step << ' '
        << (s.abandoned ? 1 : 0);
  }
  ctx.disk().write(log_key(s.id), rec.str(), 0, DiskWrite::kLog);
  ctx.record().count(m_.forced_writes);
  s.logging = true;
  ctx.disk().sync(kit::timer_tag(Sync::kLogged, s.local));
}

void SagaOrchestrator::send_command(Context& ctx, Saga& s) {
  const auto nodes = ctx.group_nodes(config_.steps[s.step]);
  if (!nodes.empty()) {
    const auto kind =
        s.phase == Phase::kRunning ? StepCommand::Kind::kDo : StepCommand::Kind::kUndo;
    ctx.record().count(m_.messages);
    ctx.send(nodes[shard_of(s.id, nodes.size())], StepCommand{s.id, s.step, kind});
  }
  s.timer = ctx.set_timer(config_.step_timeout, kit::timer_tag(Timer::kStep, s.local));
}

void SagaOrchestrator::finish(Context& ctx, Saga& s, SagaEnd end) {
  const Symbol count = end == SagaEnd::kCompleted     ? m_.completed
                       : end == SagaEnd::kCompensated ? m_.compensated
                                                      : m_.abandoned;
  const Symbol mark = end == SagaEnd::kCompleted     ? m_.mark_completed
                      : end == SagaEnd::kCompensated ? m_.mark_compensated
                                                     : m_.mark_abandoned;
  ctx.record().count(count);
  const auto figure = end == SagaEnd::kCompleted ? config_.steps.size() : s.failed_step;
  ctx.record().mark(mark, static_cast<int64_t>(s.id), static_cast<int64_t>(figure));
  if (!s.resumed) ctx.record().observe(m_.saga_time, ctx.monotonic() - s.began);
  if (s.call.reply_to != kNoNode) answer(ctx, s.call, s.id, end, s.failed_step);
  local_.erase(s.local);
  sagas_.erase(s.id);
}

void SagaOrchestrator::answer(Context& ctx, const kit::CallHeader& call, uint64_t saga, SagaEnd end,
                              uint32_t failed_step) {
  ctx.record().count(m_.messages);
  ctx.send(call.reply_to, SagaResponse{call.id, saga, SagaResponse::Status::kEnded, end,
                                       end == SagaEnd::kCompleted ? 0 : failed_step});
}

// A restart: every saga the log has not ended goes on where it was.
void SagaOrchestrator::recover(Context& ctx) {
  std::vector<uint64_t> live;
  ctx.disk().for_each("g/", [&](std::string_view key, std::string_view value) {
    std::istringstream in{std::string(value)};
    char phase = 0;
    uint32_t step = 0, failed = 0;
    int abandoned = 0;
    in >> phase >> step >> failed >> abandoned;
    if (phase == static_cast<char>(Phase::kEnded)) return;
    Saga& s = add(std::stoull(std::string(key.substr(2))));
    s.phase = static_cast<Phase>(phase);
    s.step = step;
    s.failed_step = failed;
    s.abandoned = abandoned != 0;
    s.resumed = true;
    s.started = true;
    live.push_back(s.id);
  });
  for (uint64_t id : live) {
    ctx.record().count(m_.resumed);
    send_command(ctx, sagas_.at(id));
  }
}

SagaOrchestrator::Saga& SagaOrchestrator::add(uint64_t saga) {
  Saga& s = sagas_[saga];
  s.id = saga;
  s.local = next_local_++;
  local_[s.local] = saga;
  return s;
}

SagaOrchestrator::Saga* SagaOrchestrator::find_local(uint64_t local) {
  const auto it = local_.find(local);
  return it == local_.end() ? nullptr : &sagas_.at(it->second);
}

}  // namespace dsim::saga
