// The operation history: what the Recorder records through the engine (true times,
// outcomes mapped from end_op), and its memory bound.
#include <catch2/catch.hpp>

#include "sim/core/metrics.h"

using namespace dsim;

TEST_CASE("history: the recorder stamps true times and maps outcomes") {
  SymbolTable symbols;
  MetricsRecorder m(&symbols, Duration::zero(), seconds(1), SimTime::zero() + seconds(10));
  m.add_node(0);
  m.set_current_node(0);
  const Symbol get = symbols.intern("get");
  OpInvocation what;
  what.kind = KvOpKind::kPut;
  what.key = 7;
  what.value = 42;
  what.session = 3;
  what.idempotency_key = 99;

  m.set_now(SimTime::from_ns(100));
  const OpToken a = m.begin_op(get);
  m.op_invoke(a, what);
  const OpToken b = m.begin_op(get);
  m.op_invoke(b, what);
  const OpToken c = m.begin_op(get);
  m.op_invoke(c, what);
  const OpToken d = m.begin_op(get);
  m.op_invoke(d, what);
  const OpToken untracked = m.begin_op(get);  // no op_invoke: not in the history

  m.set_now(SimTime::from_ns(250));
  m.end_op(a, Outcome::kOk);
  m.end_op(b, Outcome::kTimeout);
  m.end_op(c, Outcome::kRejected);
  const int64_t read[] = {1, 2};
  m.op_result(d, HistoryOutcome::kFail, read, 3);  // a cas mismatch: ok for the metrics
  m.end_op(d, Outcome::kOk);
  m.end_op(untracked, Outcome::kOk);
  m.finish(SimTime::zero() + seconds(10));

  const History& h = m.history();
  REQUIRE(h.size() == 4);
  CHECK(h.ops()[0].invoke == SimTime::from_ns(100));
  CHECK(h.ops()[0].complete == SimTime::from_ns(250));
  CHECK(h.ops()[0].key == 7);
  CHECK(h.ops()[0].value == 42);
  CHECK(h.ops()[0].session == 3);
  CHECK(h.ops()[0].idempotency_key == 99);
  CHECK(h.ops()[0].outcome == HistoryOutcome::kOk);
  CHECK(h.ops()[0].served);
  CHECK(h.ops()[1].outcome == HistoryOutcome::kUnknown);
  CHECK_FALSE(h.ops()[1].served);
  CHECK(h.ops()[2].outcome == HistoryOutcome::kFail);
  CHECK(h.ops()[3].outcome == HistoryOutcome::kFail);
  CHECK(h.ops()[3].served);
  CHECK(h.ops()[3].attempts == 3);
  CHECK(h.read_value(h.ops()[3]).size() == 0);  // only successful reads keep a value
}

TEST_CASE("history: an operation in flight at the end has no completion and an unknown outcome") {
  SymbolTable symbols;
  MetricsRecorder m(&symbols, Duration::zero(), seconds(1), SimTime::zero() + seconds(1));
  m.add_node(0);
  const OpToken t = m.begin_op(symbols.intern("put"));
  m.op_invoke(t, OpInvocation{});
  m.finish(SimTime::zero() + seconds(1));
  REQUIRE(m.history().size() == 1);
  CHECK(m.history().ops()[0].complete == HistoryOp::kNever);
  CHECK(m.history().ops()[0].outcome == HistoryOutcome::kUnknown);
}

TEST_CASE("history: memory is bounded, later operations are dropped and counted") {
  History h(sizeof(HistoryOp) * 10);
  uint32_t recorded = 0;
  for (int i = 0; i < 20; ++i) {
    const uint32_t idx = h.invoke(SimTime::from_ns(i), 0, OpInvocation{});
    if (idx != History::kNone) {
      ++recorded;
      h.complete(idx, SimTime::from_ns(i + 1), HistoryOutcome::kOk);
    }
  }
  CHECK(recorded < 10);
  CHECK(h.size() == recorded);
  CHECK(h.truncated());
  CHECK(h.dropped() == 20 - recorded);
  CHECK(h.truncated_at() == SimTime::from_ns(recorded));
  CHECK(h.bytes() <= h.max_bytes());
}
