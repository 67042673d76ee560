#include "models/saga/service.h"

#include <algorithm>
#include <sstream>

#include "models/kit/timer.h"
#include "sim/core/assert.h"

namespace dsim::saga {

// --- configuration ------------------------------------------------------------------------

SagaService::Config SagaService::parse(ParamReader& r) {
  Config c;
  if (r.has("next") || r.doc_mode())
    c.next = r.group("next", "choreography: the saga_service group whose step comes next");
  if (r.has("previous") || r.doc_mode())
    c.previous =
        r.group("previous", "choreography: the saga_service group whose step comes before");
  c.fail = r.probability("fail", c.fail,
                         "chance that the step's local transaction fails (a business refusal): "
                         "the saga compensates the steps before it");
  c.compensation_fail = r.probability("compensation_fail", c.compensation_fail,
                                      "chance that one run of the compensation fails (a "
                                      "transient error): it is tried again");
  c.service_time = r.distribution("service_time", c.service_time,
                                  "the time a local transaction (a step or its compensation) "
                                  "takes before its record is written");
  c.resend = r.duration("resend", c.resend,
                        "choreography: an event not acknowledged is sent again this often");
  c.retry = r.duration("retry", c.retry,
                       "choreography: a compensation that failed is tried again after this");
  c.compensation_attempts =
      r.integer("compensation_attempts", c.compensation_attempts,
                "choreography: runs of a compensation before it is given up (the saga ends "
                "abandoned)",
                1, 1'000'000);
  if (c.resend <= Duration::zero()) r.error("resend", "must be > 0");
  if (c.retry <= Duration::zero()) r.error("retry", "must be > 0");
  for (const std::string* g : {&c.next, &c.previous}) {
    if (g->empty() || r.doc_mode()) continue;
    if (r.env().model_of(*g) != kName) {
      r.error(g == &c.next ? "next" : "previous",
              "group '" + *g + "' runs " + std::string(r.env().model_of(*g)) +
                  ", not saga_service: a choreography's events go from service to service");
    }
  }
  return c;
}

void SagaService::declare(const Config&, MetricDecls& d) {
  for (const char* name : {"steps_done", "steps_failed", "compensations", "compensation_failures",
                           "abandoned", "cancelled_early", "refused_late", "duplicates",
                           "events_sent", "event_resends", "messages"})
    d.counter(name);
  d.level("busy");
}

void SagaService::on_start(Context& ctx) {
  m_.steps_done = ctx.intern("steps_done");
  m_.steps_failed = ctx.intern("steps_failed");
  m_.compensations = ctx.intern("compensations");
  m_.compensation_failures = ctx.intern("compensation_failures");
  m_.abandoned = ctx.intern("abandoned");
  m_.cancelled_early = ctx.intern("cancelled_early");
  m_.refused_late = ctx.intern("refused_late");
  m_.duplicates = ctx.intern("duplicates");
  m_.events_sent = ctx.intern("events_sent");
  m_.event_resends = ctx.intern("event_resends");
  m_.messages = ctx.intern("messages");
  m_.busy = ctx.intern("busy");
  m_.mark_do = ctx.intern("saga_do");
  m_.mark_undo = ctx.intern("saga_undo");
  m_.mark_refused = ctx.intern("saga_refused");
  m_.mark_completed = ctx.intern("saga_completed");
  m_.mark_compensated = ctx.intern("saga_compensated");
  m_.mark_abandoned = ctx.intern("saga_abandoned");
  recover(ctx);
}

void SagaService::on_message(Context& ctx, const Envelope& env) {
  if (const auto* c = env.msg.get<StepCommand>()) {
    on_command(ctx, env.from, *c);
  } else if (const auto* e = env.msg.get<SagaEvent>()) {
    on_event(ctx, env.from, *e);
  } else if (const auto* a = env.msg.get<EventAck>()) {
    on_ack(ctx, env.from, *a);
  } else if (const auto* r = env.msg.get<SagaRequest>()) {
    on_request(ctx, env.from, *r);
  }
  ctx.record().level(m_.busy, static_cast<double>(work_.size()));
}

void SagaService::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  const auto [kind, local] = kit::timer_of<Timer>(tag);
  Work* w = find_local(local);
  if (!w) return;
  if (kind == Timer::kResend) {
    if (w->resend_timer != id || !w->outbox) return;
    ctx.record().count(m_.event_resends);
    send_outbox(ctx, *w);
    return;
  }
  if (w->timer != id) return;
  w->timer = TimerId{};
  if (kind == Timer::kWork) {
    work_done(ctx, *w);
  } else if (w->job == Job::kNone && state_of(ctx, w->saga) == State::kDone) {
    start(ctx, *w, Job::kUndo);  // kRetry: the compensation again
  }
  ctx.record().level(m_.busy, static_cast<double>(work_.size()));
}

void SagaService::on_disk(Context& ctx, DiskOpId, uint64_t tag) {
  const auto [kind, local] = kit::timer_of<Sync>(tag);
  if (Work* w = find_local(local); w && kind == Sync::kRecorded) durable(ctx, *w);
  ctx.record().level(m_.busy, static_cast<double>(work_.size()));
}

// --- commands, requests and events --------------------------------------------------------

void SagaService::on_command(Context& ctx, NodeId from, const StepCommand& c) {
  Work& w = work(ctx, c.saga, c.step);
  if (std::find(w.orchestrators.begin(), w.orchestrators.end(), from) == w.orchestrators.end())
    w.orchestrators.push_back(from);
  ask(ctx, w, c.kind == StepCommand::Kind::kDo ? Job::kDo : Job::kUndo);
}

void SagaService::on_request(Context& ctx, NodeId, const SagaRequest& r) {
  if (!config_.choreographed() || !config_.previous.empty()) {
    ctx.record().count(m_.messages);
    ctx.send(r.call.reply_to, SagaResponse{r.call.id, r.saga, SagaResponse::Status::kUnavailable,
                                           SagaEnd::kCompleted, 0});
    return;
  }
  if (state_of(ctx, r.saga) != State::kNone || work_.count(r.saga)) {
    ctx.record().count(m_.duplicates);  // a retry: the saga goes on and ends with an answer
    return;
  }
  Work& w = work(ctx, r.saga, 0);
  w.trigger = SagaEvent{r.saga, 0, SagaEvent::Direction::kForward, 0, false, r.call};
  ask(ctx, w, Job::kDo);
}

void SagaService::on_event(Context& ctx, NodeId from, const SagaEvent& e) {
  Work& w = work(ctx, e.saga, e.step);
  if (std::find(w.ack_to.begin(), w.ack_to.end(), from) == w.ack_to.end()) w.ack_to.push_back(from);
  if (w.job == Job::kNone && !w.syncing) w.trigger = e;
  ask(ctx, w, e.direction == SagaEvent::Direction::kForward ? Job::kDo : Job::kUndo);
}

void SagaService::on_ack(Context& ctx, NodeId, const EventAck& a) {
  const auto it = work_.find(a.saga);
  if (it == work_.end()) return;
  Work& w = it->second;
  if (!w.outbox || w.outbox->direction != a.direction) return;
  w.outbox.reset();
  if (w.resend_timer.valid()) ctx.cancel_timer(w.resend_timer);
  w.resend_timer = TimerId{};
  ctx.disk().erase(outbox_key(w.saga));  // not forced: a resend after a crash is acked again
  erase_if_idle(ctx, w);
}

// --- local transactions -------------------------------------------------------------------

void SagaService::ask(Context& ctx, Work& w, Job job) {
  w.asked = job;
  if (w.syncing) return;  // answered once its record is durable
  if (w.job != Job::kNone) {
    if (job == Job::kUndo && w.job == Job::kDo) {
      // The compensation overtook its step: cancel the step, which will not run.
      ctx.cancel_timer(w.timer);
      w.timer = TimerId{};
      w.job = Job::kUndo;
      ctx.record().count(m_.cancelled_early);
      record(ctx, w, State::kCancelled);
    }
    return;
  }
  const State s = state_of(ctx, w.saga);
  if (job == Job::kDo && s == State::kNone) {
    start(ctx, w, Job::kDo);
  } else if (job == Job::kUndo && s == State::kDone) {
    if (!w.timer.valid()) start(ctx, w, Job::kUndo);  // else a retry is due
  } else if (job == Job::kUndo && s == State::kNone) {
    ctx.record().count(m_.cancelled_early);
    record(ctx, w, State::kCancelled);
  } else {
    if (job == Job::kDo && s != State::kDone && s != State::kFailed) {
      ctx.record().count(m_.refused_late);
      ctx.record().mark(m_.mark_refused, static_cast<int64_t>(w.saga), w.step);
    } else {
      ctx.record().count(m_.duplicates);
    }
    answer(ctx, w, job, s);
    erase_if_idle(ctx, w);
  }
}

void SagaService::start(Context& ctx, Work& w, Job job) {
  w.job = job;
  w.timer = ctx.set_timer(config_.service_time.sample_duration(ctx.rng()),
                          kit::timer_tag(Timer::kWork, w.local));
}

void SagaService::work_done(Context& ctx, Work& w) {
  if (w.job == Job::kDo) {
    record(ctx, w, ctx.rng().uniform01() < config_.fail ? State::kFailed : State::kDone);
    return;
  }
  if (ctx.rng().uniform01() >= config_.compensation_fail) {
    record(ctx, w, State::kCompensated);
    return;
  }
  ctx.record().count(m_.compensation_failures);
  w.job = Job::kNone;
  if (!config_.choreographed()) {
    answer(ctx, w, Job::kUndo, State::kDone);  // not compensated: the orchestrator retries
    erase_if_idle(ctx, w);
    return;
  }
  if (++w.undo_attempts >= config_.compensation_attempts) {
    record(ctx, w, State::kAbandoned);
    return;
  }
  w.timer = ctx.set_timer(config_.retry, kit::timer_tag(Timer::kRetry, w.local));
}

// The step's record and, in a choreography, the event it publishes, in one forced write.
void SagaService::record(Context& ctx, Work& w, State state) {
  std::ostringstream rec;
  rec << static_cast<char>(state) << ' ' << w.step;
  ctx.disk().write(record_key(w.saga), rec.str());
  if (config_.choreographed() && w.trigger) publish(ctx, w, state);
  w.syncing = true;
  ctx.disk().sync(kit::timer_tag(Sync::kRecorded, w.local));
}

// What a choreographed step publishes once its record is written: the next step, the
// previous one's compensation, or nothing when the saga ends here.
void SagaService::publish(Context& ctx, Work& w, State s) {
  if (w.outbox) {
    // What it published before (its step done) is superseded: the event that brought it
    // here came from the receiver of that one.
    w.outbox.reset();
    if (w.resend_timer.valid()) ctx.cancel_timer(w.resend_timer);
    w.resend_timer = TimerId{};
    ctx.disk().erase(outbox_key(w.saga));
  }
  const SagaEvent& t = *w.trigger;
  SagaEvent e;
  e.saga = w.saga;
  e.call = t.call;
  if (s == State::kDone) {
    if (config_.next.empty()) return;
    e.direction = SagaEvent::Direction::kForward;
    e.step = w.step + 1;
  } else {
    if (config_.previous.empty()) return;
    e.direction = SagaEvent::Direction::kBackward;
    e.step = w.step - 1;
    const bool backward = t.direction == SagaEvent::Direction::kBackward;
    e.failed_step = backward ? t.failed_step : w.step;
    e.abandoned = (backward && t.abandoned) || s == State::kAbandoned;
  }
  w.outbox = e;
  std::ostringstream out;
  out << static_cast<int>(e.direction) << ' ' << e.step << ' ' << e.failed_step << ' '
      << (e.abandoned ? 1 : 0) << ' ' << e.call.id << ' ' << e.call.origin << ' '
      << e.call.reply_to;
  ctx.disk().write(outbox_key(w.saga), out.str());
}

void SagaService::durable(Context& ctx, Work& w) {
  if (!w.syncing) return;
  w.syncing = false;
  w.job = Job::kNone;
  const State s = state_of(ctx, w.saga);
  const auto saga = static_cast<int64_t>(w.saga);
  switch (s) {
    case State::kDone:
      ctx.record().count(m_.steps_done);
      ctx.record().mark(m_.mark_do, saga, w.step);
      break;
    case State::kFailed:
      ctx.record().count(m_.steps_failed);
      break;
    case State::kCompensated:
      ctx.record().count(m_.compensations);
      ctx.record().mark(m_.mark_undo, saga, w.step);
      break;
    case State::kAbandoned:
      ctx.record().count(m_.abandoned);
      break;
    case State::kCancelled:
    case State::kNone:
      break;
  }
  if (w.asked == Job::kUndo && s == State::kDone && !config_.choreographed()) {
    start(ctx, w, Job::kUndo);  // its compensation came while the step was being recorded
    return;
  }
  answer(ctx, w, w.asked, s);
  if (config_.choreographed() && w.trigger) {
    if (w.outbox) {
      send_outbox(ctx, w);
    } else if (s == State::kDone) {
      end_saga(ctx, *w.trigger, SagaEnd::kCompleted, w.step + 1);
    } else {
      const SagaEvent& t = *w.trigger;
      const bool backward = t.direction == SagaEvent::Direction::kBackward;
      const bool abandoned = (backward && t.abandoned) || s == State::kAbandoned;
      end_saga(ctx, t, abandoned ? SagaEnd::kAbandoned : SagaEnd::kCompensated,
               backward ? t.failed_step : w.step);
    }
  }
  erase_if_idle(ctx, w);
}

void SagaService::answer(Context& ctx, Work& w, Job asked, State s) {
  for (NodeId to : w.orchestrators) {
    StepReply r{w.saga, w.step,
                asked == Job::kDo ? StepCommand::Kind::kDo : StepCommand::Kind::kUndo,
                StepReply::Result::kDone};
    if (asked == Job::kDo && s != State::kDone) r.result = StepReply::Result::kFailed;
    if (asked == Job::kUndo && s == State::kDone) r.result = StepReply::Result::kRetry;
    ctx.record().count(m_.messages);
    ctx.send(to, r);
  }
  w.orchestrators.clear();
  if (!w.trigger) return;
  for (NodeId to : w.ack_to) {
    ctx.record().count(m_.messages);
    ctx.send(to, EventAck{w.saga, w.trigger->direction});
  }
  w.ack_to.clear();
}

void SagaService::send_outbox(Context& ctx, Work& w) {
  const SagaEvent& e = *w.outbox;
  const std::string& group =
      e.direction == SagaEvent::Direction::kForward ? config_.next : config_.previous;
  ctx.record().count(m_.events_sent);
  ctx.record().count(m_.messages);
  ctx.send(node_of(ctx, group, w.saga), e);
  if (w.resend_timer.valid()) ctx.cancel_timer(w.resend_timer);
  w.resend_timer = ctx.set_timer(config_.resend, kit::timer_tag(Timer::kResend, w.local));
}

void SagaService::end_saga(Context& ctx, const SagaEvent& at, SagaEnd end, uint32_t figure) {
  const Symbol mark = end == SagaEnd::kCompleted     ? m_.mark_completed
                      : end == SagaEnd::kCompensated ? m_.mark_compensated
                                                     : m_.mark_abandoned;
  ctx.record().mark(mark, static_cast<int64_t>(at.saga), figure);
  if (at.call.reply_to == kNoNode) return;  // rebuilt after a restart: nobody to answer
  ctx.record().count(m_.messages);
  ctx.send(at.call.reply_to, SagaResponse{at.call.id, at.saga, SagaResponse::Status::kEnded, end,
                                          end == SagaEnd::kCompleted ? 0 : figure});
}

// --- state --------------------------------------------------------------------------------

// A restart: the records are read when asked for; the events in the outbox are sent again.
void SagaService::recover(Context& ctx) {
  ctx.disk().for_each("o/", [&](std::string_view key, std::string_view value) {
    const uint64_t saga = std::stoull(std::string(key.substr(2)));
    std::istringstream in{std::string(value)};
    int direction = 0, abandoned = 0;
    SagaEvent e;
    e.saga = saga;
    in >> direction >> e.step >> e.failed_step >> abandoned >> e.call.id >> e.call.origin >>
        e.call.reply_to;
    e.direction = static_cast<SagaEvent::Direction>(direction);
    e.abandoned = abandoned != 0;
    uint32_t step = 0;
    state_of(ctx, saga, &step);
    Work& w = work(ctx, saga, step);
    w.outbox = e;
  });
  for (auto& [saga, w] : work_)
    send_outbox(ctx, w);
}

SagaService::State SagaService::state_of(Context& ctx, uint64_t saga, uint32_t* step) const {
  const auto rec = ctx.disk().get(record_key(saga));
  if (!rec || rec->size() < 3) return State::kNone;
  if (step) *step = static_cast<uint32_t>(std::stoul(std::string(rec->substr(2))));
  return static_cast<State>((*rec)[0]);
}

SagaService::Work& SagaService::work(Context&, uint64_t saga, uint32_t step) {
  const auto [it, added] = work_.try_emplace(saga);
  Work& w = it->second;
  if (added) {
    w.saga = saga;
    w.step = step;
    w.local = next_local_++;
    local_[w.local] = saga;
  }
  return w;
}

SagaService::Work* SagaService::find_local(uint64_t local) {
  const auto it = local_.find(local);
  return it == local_.end() ? nullptr : &work_.at(it->second);
}

void SagaService::erase_if_idle(Context&, Work& w) {
  if (w.job != Job::kNone || w.syncing || w.outbox || w.timer.valid()) return;
  DSIM_ASSERT(w.orchestrators.empty() && w.ack_to.empty(), "a saga left with nobody answered");
  local_.erase(w.local);
  work_.erase(w.saga);
}

NodeId SagaService::node_of(Context& ctx, const std::string& group, uint64_t saga) const {
  const auto nodes = ctx.group_nodes(group);
  DSIM_ASSERT(!nodes.empty(), "a choreography group without nodes");
  return nodes[shard_of(saga, nodes.size())];
}

}  // namespace dsim::saga
