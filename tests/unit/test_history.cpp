// Operation histories: what the Recorder records through the engine (true times,
// outcomes mapped from end_op) into a family's log, and the memory bound all the
// families' logs share.
#include <catch2/catch.hpp>

#include "models/kv/history.h"
#include "sim/core/metrics.h"

using namespace dsim;

namespace {

// A second family, to show that sim/core keeps families apart without knowing them:
// each "job" operation declares a queue name's length and returns nothing.
struct JobInvocation {
  uint32_t queue = 0;
};
class JobLog final : public HistoryLog {
 public:
  JobLog();
  uint32_t invoke(SimTime at, NodeId client, const void* what) override {
    spans_.push_back({client, at, kNever, false});
    queues_.push_back(static_cast<const JobInvocation*>(what)->queue);
    return static_cast<uint32_t>(spans_.size() - 1);
  }
  void complete(uint32_t i, SimTime at, HistoryOutcome, const void*, uint32_t) override {
    if (spans_[i].complete == kNever) spans_[i].complete = at;
  }
  void set_served(uint32_t i, bool served) override { spans_[i].served = served; }
  size_t size() const override { return spans_.size(); }
  uint64_t bytes() const override { return spans_.size() * op_bytes(); }
  uint64_t op_bytes() const override { return sizeof(HistorySpan) + sizeof(uint32_t); }
  HistorySpan span(size_t i) const override { return spans_[i]; }
  const std::vector<uint32_t>& queues() const { return queues_; }

 private:
  std::vector<HistorySpan> spans_;
  std::vector<uint32_t> queues_;
};
std::unique_ptr<HistoryLog> make_job_log() {
  return std::make_unique<JobLog>();
}
constexpr HistoryFamily kJobFamily{"job", &make_job_log};
JobLog::JobLog() : HistoryLog(kJobFamily) {}

}  // namespace

TEST_CASE("history: the recorder stamps true times and maps outcomes") {
  SymbolTable symbols;
  MetricsRecorder m(&symbols, Duration::zero(), seconds(1), SimTime::zero() + seconds(10));
  m.add_node(0);
  m.set_current_node(0);
  const Symbol get = symbols.intern("get");
  kv::KvInvocation what;
  what.kind = kv::KvOpKind::kPut;
  what.key = 7;
  what.value = 42;
  what.session = 3;
  what.idempotency_key = 99;

  m.set_now(SimTime::from_ns(100));
  const OpToken a = m.begin_op(get);
  kv::record_invoke(m, a, what);
  const OpToken b = m.begin_op(get);
  kv::record_invoke(m, b, what);
  const OpToken c = m.begin_op(get);
  kv::record_invoke(m, c, what);
  const OpToken d = m.begin_op(get);
  kv::record_invoke(m, d, what);
  const OpToken untracked = m.begin_op(get);  // no op_invoke: not in the history

  m.set_now(SimTime::from_ns(250));
  m.end_op(a, Outcome::kOk);
  m.end_op(b, Outcome::kTimeout);
  m.end_op(c, Outcome::kRejected);
  const int64_t read[] = {1, 2};
  kv::record_result(m, d, HistoryOutcome::kFail, read, 3);  // a cas mismatch: ok for the metrics
  m.end_op(d, Outcome::kOk);
  m.end_op(untracked, Outcome::kOk);
  m.finish(SimTime::zero() + seconds(10));

  REQUIRE(m.history().logs().size() == 1);
  const kv::KvHistory& h = *kv::kv_history(m.history());
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
  const HistorySpan s = h.span(0);
  CHECK(s.client == 0);
  CHECK(s.invoke == SimTime::from_ns(100));
  CHECK(s.complete == SimTime::from_ns(250));
  CHECK(s.served);
}

TEST_CASE("history: an operation in flight at the end has no completion and an unknown outcome") {
  SymbolTable symbols;
  MetricsRecorder m(&symbols, Duration::zero(), seconds(1), SimTime::zero() + seconds(1));
  m.add_node(0);
  const OpToken t = m.begin_op(symbols.intern("put"));
  kv::record_invoke(m, t, kv::KvInvocation{});
  m.finish(SimTime::zero() + seconds(1));
  const kv::KvHistory* h = kv::kv_history(m.history());
  REQUIRE(h);
  REQUIRE(h->size() == 1);
  CHECK(h->ops()[0].complete == kv::KvHistoryOp::kNever);
  CHECK(h->ops()[0].outcome == HistoryOutcome::kUnknown);
}

TEST_CASE("history: families keep separate logs, in the order they first recorded") {
  SymbolTable symbols;
  MetricsRecorder m(&symbols, Duration::zero(), seconds(1), SimTime::zero() + seconds(10));
  m.add_node(0);
  m.add_node(0);
  m.set_current_node(1);
  m.set_now(SimTime::from_ns(5));
  const OpToken job = m.begin_op(symbols.intern("enqueue"));
  m.op_invoke(job, kJobFamily, &static_cast<const JobInvocation&>(JobInvocation{12}));
  m.set_current_node(0);
  const OpToken put = m.begin_op(symbols.intern("put"));
  kv::record_invoke(m, put, kv::KvInvocation{});
  m.set_now(SimTime::from_ns(9));
  m.end_op(job, Outcome::kOk);
  m.end_op(put, Outcome::kRejected);

  const Histories& h = m.history();
  REQUIRE(h.logs().size() == 2);
  CHECK(&h.logs()[0]->family() == &kJobFamily);
  CHECK(&h.logs()[1]->family() == &kv::kKvFamily);
  CHECK(h.size() == 2);
  const auto* jobs = static_cast<const JobLog*>(h.find(kJobFamily));
  REQUIRE(jobs);
  CHECK(jobs->queues() == std::vector<uint32_t>{12});
  CHECK(jobs->span(0).client == 1);
  CHECK(jobs->span(0).complete == SimTime::from_ns(9));
  CHECK(jobs->span(0).served);
  CHECK_FALSE(kv::kv_history(h)->span(0).served);
  // Each operation keeps its type (begin_op's symbol), whatever its family.
  CHECK(symbols.name(jobs->op_type(0)) == "enqueue");
  CHECK(symbols.name(kv::kv_history(h)->op_type(0)) == "put");
}

TEST_CASE(
    "history: memory is bounded over every family, later operations are dropped and counted") {
  const kv::KvHistory probe;
  Histories h((probe.op_bytes() + sizeof(Symbol)) * 10);
  uint32_t recorded = 0;
  const kv::KvInvocation what;
  for (int i = 0; i < 20; ++i) {
    const JobInvocation job{static_cast<uint32_t>(i)};
    const Histories::Ref ref = i % 2 ? h.invoke(kJobFamily, SimTime::from_ns(i), 0, {}, &job)
                                     : h.invoke(kv::kKvFamily, SimTime::from_ns(i), 0, {}, &what);
    if (ref.valid()) {
      ++recorded;
      h.complete(ref, SimTime::from_ns(i + 1), HistoryOutcome::kOk, nullptr, 1);
    }
  }
  CHECK(recorded < 20);
  CHECK(recorded > 10);  // the job records are smaller than the kv ones
  CHECK(h.size() == recorded);
  CHECK(h.truncated());
  CHECK(h.dropped() == 20 - recorded);
  CHECK(h.truncated_at() == SimTime::from_ns(recorded));
  CHECK(h.bytes() <= h.max_bytes());
}
