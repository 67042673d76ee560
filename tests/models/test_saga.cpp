// The saga models one handler at a time: saga_service (local transactions made durable
// before they are answered, at most once per saga, compensation before its step, the
// choreography's outbox), saga_orchestrator (the steps in order, compensation in reverse,
// the forced saga log, step timeouts, recovery) and the analysis's verdicts.
#include <catch2/catch.hpp>

#include <memory>

#include "models/saga/client.h"
#include "models/saga/orchestrator.h"
#include "models/saga/service.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::saga;
using dsim::testing::RecordingContext;

namespace {

constexpr NodeId kOrchestrator = 1;
constexpr NodeId kClient = 2;
constexpr NodeId kSelf = 10;
constexpr NodeId kNext = 11;
constexpr NodeId kPrevious = 12;
constexpr uint64_t kSaga = 77;

template <class M>
struct Rig {
  typename M::Config config;
  RecordingContext ctx{kSelf};
  std::unique_ptr<M> node;

  void start() {
    node = std::make_unique<M>(config);
    node->on_start(ctx);
  }
  void crash_restart() {
    ctx.node_disk().crash();
    start();
  }
  void deliver(NodeId from, Message m) { ctx.deliver(*node, from, std::move(m)); }
  void sync() { REQUIRE(ctx.complete_sync(*node)); }
  void fire() { REQUIRE(ctx.fire_next(*node)); }
  // Runs syncs and timers (a few: an outbox resends for ever) until nothing is pending.
  void settle() {
    for (int i = 0; i < 8 && (ctx.complete_sync(*node) || ctx.fire_next(*node)); ++i) {
    }
  }
  template <class T>
  std::vector<T> sent() const {
    std::vector<T> out;
    for (const auto& [to, m] : ctx.template sent_of<T>())
      out.push_back(m);
    return out;
  }
  int64_t marks(std::string_view kind) {
    const Symbol s = ctx.intern(kind);
    int64_t n = 0;
    for (const TimelineMark& m : ctx.recorder().marks)
      n += m.kind == s ? 1 : 0;
    return n;
  }
};

StepCommand cmd(uint32_t step, StepCommand::Kind kind, uint64_t saga = kSaga) {
  return StepCommand{saga, step, kind};
}
constexpr auto kDo = StepCommand::Kind::kDo;
constexpr auto kUndo = StepCommand::Kind::kUndo;

struct ServiceRig : Rig<SagaService> {
  explicit ServiceRig(double fail = 0, double compensation_fail = 0) {
    config.fail = fail;
    config.compensation_fail = compensation_fail;
    start();
  }
  std::vector<StepReply> replies() const { return sent<StepReply>(); }
};

}  // namespace

TEST_CASE("saga service answers a step only once its record is durable, and applies it once") {
  ServiceRig r;
  r.deliver(kOrchestrator, cmd(1, kDo));
  r.fire();  // the local transaction's time
  CHECK(r.replies().empty());
  r.sync();
  REQUIRE(r.replies().size() == 1);
  CHECK(r.replies()[0].result == StepReply::Result::kDone);
  CHECK(r.marks("saga_do") == 1);
  // The command again (its answer was lost): answered from the record, not run again.
  r.deliver(kOrchestrator, cmd(1, kDo));
  REQUIRE(r.replies().size() == 2);
  CHECK(r.replies()[1].result == StepReply::Result::kDone);
  CHECK(r.ctx.counter("steps_done") == 1);
  CHECK(r.ctx.counter("duplicates") == 1);
  CHECK(r.ctx.pending().empty());
  // Its compensation runs once too.
  r.deliver(kOrchestrator, cmd(1, kUndo));
  r.settle();
  r.deliver(kOrchestrator, cmd(1, kUndo));
  REQUIRE(r.replies().size() == 4);
  CHECK(r.replies()[2].result == StepReply::Result::kDone);
  CHECK(r.replies()[3].result == StepReply::Result::kDone);
  CHECK(r.ctx.counter("compensations") == 1);
  CHECK(r.marks("saga_undo") == 1);
}

TEST_CASE("saga service refuses a step that arrives after its compensation") {
  ServiceRig r;
  r.deliver(kOrchestrator, cmd(2, kUndo));
  r.settle();
  REQUIRE(r.replies().size() == 1);
  CHECK(r.replies()[0].kind == kUndo);
  CHECK(r.replies()[0].result == StepReply::Result::kDone);
  CHECK(r.ctx.counter("cancelled_early") == 1);
  r.deliver(kOrchestrator, cmd(2, kDo));
  REQUIRE(r.replies().size() == 2);
  CHECK(r.replies()[1].result == StepReply::Result::kFailed);
  CHECK(r.ctx.counter("refused_late") == 1);
  CHECK(r.marks("saga_refused") == 1);
  CHECK(r.marks("saga_do") == 0);
  CHECK(r.ctx.pending().empty());
}

TEST_CASE("saga service cancels a step still running when its compensation arrives") {
  ServiceRig r;
  r.deliver(kOrchestrator, cmd(0, kDo));
  r.deliver(kOrchestrator, cmd(0, kUndo));  // before the step's transaction ended
  r.settle();
  REQUIRE(r.replies().size() == 1);
  CHECK(r.replies()[0].kind == kUndo);
  CHECK(r.replies()[0].result == StepReply::Result::kDone);
  CHECK(r.marks("saga_do") == 0);
  CHECK(r.ctx.counter("steps_done") == 0);
}

TEST_CASE("saga service: a failed step has nothing to compensate") {
  ServiceRig r(/*fail=*/1.0);
  r.deliver(kOrchestrator, cmd(3, kDo));
  r.settle();
  REQUIRE(r.replies().size() == 1);
  CHECK(r.replies()[0].result == StepReply::Result::kFailed);
  r.deliver(kOrchestrator, cmd(3, kUndo));
  REQUIRE(r.replies().size() == 2);
  CHECK(r.replies()[1].result == StepReply::Result::kDone);
  CHECK(r.ctx.counter("compensations") == 0);
  CHECK(r.marks("saga_undo") == 0);
}

TEST_CASE("saga service asks the orchestrator to retry a compensation that failed") {
  ServiceRig r(0, /*compensation_fail=*/1.0);
  r.deliver(kOrchestrator, cmd(1, kDo));
  r.settle();
  r.deliver(kOrchestrator, cmd(1, kUndo));
  r.settle();
  REQUIRE(r.replies().size() == 2);
  CHECK(r.replies()[1].result == StepReply::Result::kRetry);
  CHECK(r.ctx.counter("compensation_failures") == 1);
  CHECK(r.marks("saga_undo") == 0);
}

TEST_CASE("saga service loses a step whose record was not durable at a crash") {
  ServiceRig r;
  r.deliver(kOrchestrator, cmd(1, kDo));
  r.fire();  // written, not yet synced
  r.crash_restart();
  r.deliver(kOrchestrator, cmd(1, kUndo));  // the orchestrator gave up on it
  r.settle();
  CHECK(r.ctx.counter("cancelled_early") == 1);
  r.deliver(kOrchestrator, cmd(1, kDo));
  CHECK(r.replies().back().result == StepReply::Result::kFailed);
  CHECK(r.marks("saga_do") == 0);
  // A durable step survives a crash.
  r.deliver(kOrchestrator, cmd(1, kDo, 5));
  r.settle();
  r.crash_restart();
  r.deliver(kOrchestrator, cmd(1, kDo, 5));
  CHECK(r.replies().back().result == StepReply::Result::kDone);
  CHECK(r.marks("saga_do") == 1);
}

TEST_CASE("saga service in a choreography publishes from its outbox until acknowledged") {
  ServiceRig r;
  r.config.next = "hotels";
  r.config.previous = "flights";
  r.ctx.groups["hotels"] = {kNext};
  r.ctx.groups["flights"] = {kPrevious};
  r.start();
  kit::CallHeader call;
  call.id = 9;
  call.reply_to = kClient;
  r.deliver(kPrevious, SagaEvent{kSaga, 1, SagaEvent::Direction::kForward, 0, false, call});
  r.fire();
  CHECK(r.sent<SagaEvent>().empty());
  r.sync();
  // Acknowledged to the sender, published to the next step, with the client's call.
  REQUIRE(r.ctx.sent_of<EventAck>().size() == 1);
  CHECK(r.ctx.sent_of<EventAck>()[0].first == kPrevious);
  auto events = r.ctx.sent_of<SagaEvent>();
  REQUIRE(events.size() == 1);
  CHECK(events[0].first == kNext);
  CHECK(events[0].second.step == 2);
  CHECK(events[0].second.call.reply_to == kClient);
  // Not acknowledged: sent again; acknowledged: no more, and the outbox is gone.
  r.fire();
  CHECK(r.sent<SagaEvent>().size() == 2);
  CHECK(r.ctx.counter("event_resends") == 1);
  r.crash_restart();  // the outbox survives: sent again at once
  CHECK(r.sent<SagaEvent>().size() == 3);
  r.deliver(kNext, EventAck{kSaga, SagaEvent::Direction::kForward});
  CHECK(r.ctx.pending().size() <= 1);
  for (int i = 0; i < 4 && r.ctx.fire_next(*r.node); ++i) {
  }
  CHECK(r.sent<SagaEvent>().size() == 3);
  CHECK(!r.ctx.node_disk().get("o/" + std::to_string(kSaga)));
  // The next step failed: compensate, pass it back with the failed step, ack the next.
  r.deliver(kNext, SagaEvent{kSaga, 1, SagaEvent::Direction::kBackward, 2, false, call});
  r.settle();
  events = r.ctx.sent_of<SagaEvent>();
  CHECK(r.marks("saga_undo") == 1);
  CHECK(events.back().first == kPrevious);
  CHECK(events.back().second.direction == SagaEvent::Direction::kBackward);
  CHECK(events.back().second.step == 0);
  CHECK(events.back().second.failed_step == 2);
}

TEST_CASE("saga service ends a choreography: the last completes, the first compensates") {
  ServiceRig last;
  last.config.previous = "cars";
  last.ctx.groups["cars"] = {kPrevious};
  last.start();
  kit::CallHeader call;
  call.id = 4;
  call.reply_to = kClient;
  last.deliver(kPrevious, SagaEvent{kSaga, 3, SagaEvent::Direction::kForward, 0, false, call});
  last.settle();
  REQUIRE(last.sent<SagaResponse>().size() == 1);
  CHECK(last.sent<SagaResponse>()[0].end == SagaEnd::kCompleted);
  CHECK(last.sent<SagaResponse>()[0].call == 4);
  CHECK(last.marks("saga_completed") == 1);

  ServiceRig first(/*fail=*/1.0);
  first.config.next = "hotels";
  first.ctx.groups["hotels"] = {kNext};
  first.start();
  first.deliver(kClient, SagaRequest{call, kSaga});
  first.settle();
  REQUIRE(first.sent<SagaResponse>().size() == 1);
  CHECK(first.sent<SagaResponse>()[0].end == SagaEnd::kCompensated);
  CHECK(first.sent<SagaResponse>()[0].failed_step == 0);
  CHECK(first.sent<SagaEvent>().empty());
}

// --- the orchestrator ---------------------------------------------------------------------

namespace {

constexpr NodeId kFlights = 20, kHotels = 21, kCars = 22;

struct OrchestratorRig : Rig<SagaOrchestrator> {
  OrchestratorRig() {
    config.steps = {"flights", "hotels", "cars"};
    config.compensation_attempts = 2;
    ctx.groups["flights"] = {kFlights};
    ctx.groups["hotels"] = {kHotels};
    ctx.groups["cars"] = {kCars};
    start();
  }
  void request(uint64_t call_id = 1) {
    kit::CallHeader call;
    call.id = call_id;
    call.reply_to = kClient;
    deliver(kClient, SagaRequest{call, kSaga});
  }
  std::vector<std::pair<NodeId, StepCommand>> commands() const {
    return ctx.sent_of<StepCommand>();
  }
  void reply(NodeId from, uint32_t step, StepCommand::Kind kind, StepReply::Result result) {
    deliver(from, StepReply{kSaga, step, kind, result});
  }
};

}  // namespace

TEST_CASE("saga orchestrator logs each step before its command, in order, then answers") {
  OrchestratorRig r;
  r.request();
  CHECK(r.commands().empty());  // the log record first
  r.sync();
  REQUIRE(r.commands().size() == 1);
  CHECK(r.commands()[0].first == kFlights);
  r.reply(kFlights, 0, kDo, StepReply::Result::kDone);
  r.sync();
  r.reply(kHotels, 1, kDo, StepReply::Result::kDone);
  r.sync();
  CHECK(r.commands().back().first == kCars);
  r.reply(kCars, 2, kDo, StepReply::Result::kDone);
  CHECK(r.sent<SagaResponse>().empty());  // the end is logged before the client hears it
  r.sync();
  REQUIRE(r.sent<SagaResponse>().size() == 1);
  CHECK(r.sent<SagaResponse>()[0].end == SagaEnd::kCompleted);
  CHECK(r.ctx.counter("forced_writes") == 4);
  CHECK(r.marks("saga_completed") == 1);
  // A retry of the ended saga is answered from the log.
  r.request(2);
  REQUIRE(r.sent<SagaResponse>().size() == 2);
  CHECK(r.sent<SagaResponse>()[1].call == 2);
  CHECK(r.sent<SagaResponse>()[1].end == SagaEnd::kCompleted);
}

TEST_CASE("saga orchestrator compensates the steps before a failed one, latest first") {
  OrchestratorRig r;
  r.request();
  r.sync();
  r.reply(kFlights, 0, kDo, StepReply::Result::kDone);
  r.sync();
  r.reply(kHotels, 1, kDo, StepReply::Result::kDone);
  r.sync();
  r.reply(kCars, 2, kDo, StepReply::Result::kFailed);
  r.sync();
  auto c = r.commands();
  CHECK(c.back().first == kHotels);
  CHECK(c.back().second.kind == kUndo);
  // A compensation that fails is retried; one that keeps failing is given up.
  r.reply(kHotels, 1, kUndo, StepReply::Result::kRetry);
  r.fire();  // the retry's wait
  CHECK(r.commands().back().second.kind == kUndo);
  CHECK(r.commands().back().first == kHotels);
  r.reply(kHotels, 1, kUndo, StepReply::Result::kRetry);
  r.sync();
  CHECK(r.commands().back().first == kFlights);
  r.reply(kFlights, 0, kUndo, StepReply::Result::kDone);
  r.sync();
  REQUIRE(r.sent<SagaResponse>().size() == 1);
  CHECK(r.sent<SagaResponse>()[0].end == SagaEnd::kAbandoned);
  CHECK(r.sent<SagaResponse>()[0].failed_step == 2);
  CHECK(r.ctx.counter("compensation_retries") == 2);
}

TEST_CASE("saga orchestrator compensates a step that timed out, since it may have run") {
  OrchestratorRig r;
  r.config.step_attempts = 2;
  r.request();
  r.sync();
  r.reply(kFlights, 0, kDo, StepReply::Result::kDone);
  r.sync();
  r.fire();  // hotels: no answer; asked again
  CHECK(r.commands().size() == 3);
  CHECK(r.commands().back().second.kind == kDo);
  r.fire();  // still none: failed
  r.sync();
  CHECK(r.commands().back().first == kHotels);
  CHECK(r.commands().back().second.kind == kUndo);
  r.reply(kHotels, 1, kDo, StepReply::Result::kDone);  // late: ignored
  r.reply(kHotels, 1, kUndo, StepReply::Result::kDone);
  r.sync();
  CHECK(r.commands().back().first == kFlights);
  r.reply(kFlights, 0, kUndo, StepReply::Result::kDone);
  r.sync();
  REQUIRE(r.sent<SagaResponse>().size() == 1);
  CHECK(r.sent<SagaResponse>()[0].end == SagaEnd::kCompensated);
  CHECK(r.sent<SagaResponse>()[0].failed_step == 1);
}

TEST_CASE("saga orchestrator resumes from its log after a restart") {
  OrchestratorRig r;
  r.request();
  r.sync();
  r.reply(kFlights, 0, kDo, StepReply::Result::kDone);
  r.sync();  // logged: at the hotels
  r.crash_restart();
  CHECK(r.ctx.counter("resumed") == 1);
  CHECK(r.commands().back().first == kHotels);
  CHECK(r.commands().back().second.kind == kDo);
  r.request(3);  // the client's retry joins the saga
  r.reply(kHotels, 1, kDo, StepReply::Result::kDone);
  r.sync();
  r.reply(kCars, 2, kDo, StepReply::Result::kDone);
  r.sync();
  REQUIRE(r.sent<SagaResponse>().size() == 1);
  CHECK(r.sent<SagaResponse>()[0].call == 3);
  // A record not forced at the crash is lost: the saga had not begun.
  OrchestratorRig lost;
  lost.request();
  lost.crash_restart();
  CHECK(lost.ctx.counter("resumed") == 0);
  CHECK(lost.commands().empty());
}

// --- the verdicts -------------------------------------------------------------------------

namespace {

struct Marks {
  SymbolTable symbols;
  std::vector<TimelineMark> marks;
  void add(std::string_view kind, NodeId node, int64_t saga, int64_t b, int64_t ms) {
    marks.push_back(
        TimelineMark{SimTime::from_ns(ms * 1'000'000), node, symbols.intern(kind), saga, b});
  }
  double figure(const AnalysisOutput& out, std::string_view metric) const {
    for (const auto& row : out.rows)
      if (row.metric == metric) return row.value;
    FAIL("no figure " << metric);
    return -1;
  }
  AnalysisOutput analyze() const {
    AnalysisInput in;
    in.groups.push_back({"clients", {0}, nullptr, 0});
    in.marks = marks;
    in.node_count = 5;
    in.end = SimTime::from_ns(10'000'000'000);
    in.symbol_name = [this](Symbol s) { return symbols.name(s); };
    in.node_name = [](NodeId n) { return "n" + std::to_string(n); };
    return SagaClient::analyze(in);
  }
};

}  // namespace

TEST_CASE("saga analysis finds a step left done, a missing step, a late step and two ends") {
  Marks m;
  // 1: completed properly (2 steps). 2: compensated, step 0 undone. 3: compensated with
  // step 1 left done. 4: completed without step 1. 5: a step after its compensation.
  // 6: ended two ways. 7: started, never ended. 8: its request reached no one.
  for (int64_t s = 1; s <= 8; ++s)
    m.add("saga_begin", 0, s, 0, 1);
  m.add("saga_do", 1, 1, 0, 2);
  m.add("saga_do", 2, 1, 1, 3);
  m.add("saga_completed", 3, 1, 2, 4);
  m.add("saga_do", 1, 2, 0, 2);
  m.add("saga_undo", 1, 2, 0, 5);
  m.add("saga_compensated", 3, 2, 1, 6);
  m.add("saga_do", 1, 3, 0, 2);
  m.add("saga_do", 2, 3, 1, 3);
  m.add("saga_undo", 1, 3, 0, 5);
  m.add("saga_compensated", 3, 3, 2, 6);
  m.add("saga_do", 1, 4, 0, 2);
  m.add("saga_completed", 3, 4, 2, 4);
  m.add("saga_undo", 1, 5, 0, 2);
  m.add("saga_do", 1, 5, 0, 3);
  m.add("saga_compensated", 3, 5, 1, 6);
  m.add("saga_do", 1, 6, 0, 2);
  m.add("saga_completed", 3, 6, 1, 4);
  m.add("saga_compensated", 3, 6, 1, 5);
  m.add("saga_started", 3, 7, 0, 2);
  m.add("saga_do", 1, 7, 0, 3);
  const AnalysisOutput out = m.analyze();
  CHECK(m.figure(out, "sagas_checked") == 8);
  CHECK(m.figure(out, "uncompensated") == 2);  // 3, and 5 (its late step is left done)
  CHECK(m.figure(out, "incomplete") == 1);
  CHECK(m.figure(out, "late_steps") == 1);
  CHECK(m.figure(out, "conflicting_ends") == 1);
  CHECK(m.figure(out, "pending_at_end") == 1);
  CHECK(m.figure(out, "residue_at_end") == 1);
  CHECK(m.figure(out, "not_started") == 1);
  CHECK(m.figure(out, "sagas_completed") == 3);
}

TEST_CASE("saga service compensates a step whose compensation came while it was recorded") {
  ServiceRig r;
  r.deliver(kOrchestrator, cmd(1, kDo));
  r.fire();                                 // the step's record is written
  r.deliver(kOrchestrator, cmd(1, kUndo));  // and its compensation arrives before the sync
  r.sync();
  CHECK(r.replies().empty());  // not answered "done" for a step being compensated
  r.settle();
  REQUIRE(r.replies().size() == 1);
  CHECK(r.replies()[0].kind == kUndo);
  CHECK(r.replies()[0].result == StepReply::Result::kDone);
  CHECK(r.marks("saga_do") == 1);
  CHECK(r.marks("saga_undo") == 1);
}
