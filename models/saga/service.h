// `saga_service`: one step of a saga (messages.h), a service with its own database. Each
// step is a local transaction: it takes `service_time`, fails with probability `fail` (a
// business refusal: payment declined, no room left) and is made durable on the service's
// disk before anyone hears of it. Its compensation is a local transaction too, which
// fails with probability `compensation_fail` (a transient error: it is tried again).
//
// What the service did for each saga is on its disk ("s/<saga>": done, failed, compensated,
// or cancelled before it ran), so every command and event is applied at most once however
// often it comes: a repeated step or compensation is answered from the record. A
// compensation that arrives before its step (the orchestrator gave up waiting, and its
// command overtook the step's) records the saga as cancelled, and the step arriving later
// is refused: the same out-of-order rule as TC/C's (Xu and Lam, System Design Interview
// vol. 2, digital wallet).
//
// Orchestrated (no `next` or `previous`): it answers the orchestrator's commands.
// Choreographed: the first service (no `previous`) takes the client's request; each
// service publishes an event to the next when its step is done, or to the previous when
// its step failed or it compensated its own; the last answers the client (completed), the
// first too (compensated). An event stays in the sender's outbox on its disk, written with
// the step's record, and is resent every `resend` until the receiver acknowledges it (a
// transactional outbox); the receiver acknowledges once its own outcome and outbox are
// durable. A compensation that keeps failing is tried every `retry`, at most
// `compensation_attempts` times, then given up (abandoned): the event goes on backward and
// the saga ends abandoned, for a human to repair.
//
// Every node runs each local transaction at once (no queue): the steps' cost is latency,
// not contention.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/saga/messages.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::saga {

class SagaService final : public Model {
 public:
  static constexpr std::string_view kName = "saga_service";
  static constexpr std::string_view kDescription =
      "one step of a saga: a local transaction with its compensation, applied at most once, "
      "answering an orchestrator or passing events on in a choreography";

  struct Config {
    std::string next;      ///< choreography: the group whose step follows this one
    std::string previous;  ///< choreography: the group whose step precedes it
    double fail = 0;
    double compensation_fail = 0;
    Distribution service_time = Distribution::constant(1e-3);
    Duration resend = ms(200);
    Duration retry = ms(100);
    int64_t compensation_attempts = 10;
    bool choreographed() const { return !next.empty() || !previous.empty(); }
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static std::vector<std::string> callees(const Config& c) {
    std::vector<std::string> out;
    if (!c.next.empty()) out.push_back(c.next);
    return out;
  }

  explicit SagaService(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;

 private:
  enum class Timer : uint8_t { kWork, kRetry, kResend };
  enum class Sync : uint8_t { kRecorded };
  /// What the disk says of a saga here.
  enum class State : char {
    kNone = '-',
    kDone = 'D',
    kFailed = 'F',
    kCancelled = 'C',  ///< compensated before its step ran: the step is refused
    kCompensated = 'U',
    kAbandoned = 'A',  ///< its compensation was given up (choreography)
  };
  enum class Job : uint8_t { kNone, kDo, kUndo };

  /// A saga this node is working on, or whose event it has yet to hand over.
  struct Work {
    uint64_t saga = 0;
    uint64_t local = 0;  ///< what its timers and syncs carry
    uint32_t step = 0;
    Job job = Job::kNone;    ///< the local transaction running or being made durable
    Job asked = Job::kNone;  ///< what it was last asked for (the answer says what became of it)
    bool syncing = false;    ///< its record is written, not yet durable
    int64_t undo_attempts = 0;
    std::vector<NodeId> orchestrators;  ///< to answer once durable
    std::vector<NodeId> ack_to;         ///< choreography: senders of the event it handles
    std::optional<SagaEvent> trigger;   ///< choreography: the event (or request) it handles
    std::optional<SagaEvent> outbox;    ///< choreography: the event it publishes
    TimerId timer, resend_timer;
  };

  void on_command(Context& ctx, NodeId from, const StepCommand& c);
  void on_request(Context& ctx, NodeId from, const SagaRequest& r);
  void on_event(Context& ctx, NodeId from, const SagaEvent& e);
  void on_ack(Context& ctx, NodeId from, const EventAck& a);
  /// A step or compensation was asked for: answers from the record, or starts it.
  void ask(Context& ctx, Work& w, Job job);
  void start(Context& ctx, Work& w, Job job);
  void work_done(Context& ctx, Work& w);
  void record(Context& ctx, Work& w, State state);
  void durable(Context& ctx, Work& w);
  /// Tells whoever asked what the record says (`s`, durable).
  void answer(Context& ctx, Work& w, Job asked, State s);
  void publish(Context& ctx, Work& w, State s);
  void send_outbox(Context& ctx, Work& w);
  void end_saga(Context& ctx, const SagaEvent& at, SagaEnd end, uint32_t steps_or_failed);
  void recover(Context& ctx);

  State state_of(Context& ctx, uint64_t saga, uint32_t* step = nullptr) const;
  Work& work(Context& ctx, uint64_t saga, uint32_t step);
  Work* find_local(uint64_t local);
  void erase_if_idle(Context& ctx, Work& w);
  NodeId node_of(Context& ctx, const std::string& group, uint64_t saga) const;
  static std::string record_key(uint64_t saga) { return "s/" + std::to_string(saga); }
  static std::string outbox_key(uint64_t saga) { return "o/" + std::to_string(saga); }

  const Config& config_;
  std::map<uint64_t, Work> work_;       // by saga
  std::map<uint64_t, uint64_t> local_;  // local number -> saga
  uint64_t next_local_ = 1;
  struct Symbols {
    Symbol steps_done, steps_failed, compensations, compensation_failures, abandoned,
        cancelled_early, refused_late, duplicates, events_sent, event_resends, messages, busy;
    Symbol mark_do, mark_undo, mark_refused, mark_completed, mark_compensated, mark_abandoned;
  } m_;
};

}  // namespace dsim::saga
