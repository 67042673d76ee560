// `saga_orchestrator`: the saga execution coordinator of an orchestrated saga
// (Garcia-Molina and Salem, "Sagas", SIGMOD 1987, section 5; messages.h). A client's saga
// request arrives as a call; the orchestrator runs its `steps` in order, one command at a
// time to the node of each step's group that holds the saga (shard_of), and answers the
// client when the saga ends:
//
//   running       do step i; done: step i + 1 (or completed after the last); failed:
//                 compensating from step i - 1
//   compensating  undo step j, down to step 0; then compensated
//
// A step not answered within `step_timeout` is asked again, `step_attempts` times in all;
// then it counts as failed, and since it may have run, it is compensated too (a
// compensation that finds nothing done records that, so the late step is refused:
// service.h). A compensation whose transaction fails is tried again after `retry`, at most
// `compensation_attempts` times, then given up: the saga goes on compensating the steps
// before it and ends abandoned, for a human to repair. A compensation not answered is asked
// again every `step_timeout`, without end: it must happen.
//
// The saga log (Garcia-Molina and Salem's) is on the orchestrator's disk, one record per
// saga ("g/<saga>": its state, step, failed step), forced before each command is sent and
// before the client hears the end. A restart reads it and resumes every saga where its log
// says (a step's command is sent again: the services apply it at most once); a client's
// retry with the same saga joins it, and a retry of an ended saga is answered from the log.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "models/saga/messages.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::saga {

class SagaOrchestrator final : public Model {
 public:
  static constexpr std::string_view kName = "saga_orchestrator";
  static constexpr std::string_view kDescription =
      "the coordinator of an orchestrated saga: runs the steps in order over saga_service "
      "groups, compensates in reverse on a failure, with a forced saga log and recovery";

  struct Config {
    std::vector<std::string> steps;  ///< a saga_service group per step, in order
    Duration step_timeout = ms(500);
    int64_t step_attempts = 3;
    Duration retry = ms(100);
    int64_t compensation_attempts = 10;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static std::vector<std::string> callees(const Config& c) { return c.steps; }

  explicit SagaOrchestrator(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;

 private:
  enum class Timer : uint8_t { kStep, kRetry };
  enum class Sync : uint8_t { kLogged };
  enum class Phase : char { kRunning = 'R', kCompensating = 'C', kEnded = 'E' };

  struct Saga {
    uint64_t id = 0;
    uint64_t local = 0;
    kit::CallHeader call;  ///< the client's latest attempt (none after a restart)
    Phase phase = Phase::kRunning;
    uint32_t step = 0;         ///< running: the step being done; compensating: being undone
    uint32_t failed_step = 0;  ///< compensating: the step that failed
    bool abandoned = false;    ///< a compensation was given up
    SagaEnd end = SagaEnd::kCompleted;  ///< ended: how
    bool resumed = false;               ///< rebuilt from the log by a restart
    bool started = false;               ///< its first log record is durable
    bool logging = false;               ///< its log record is being forced
    int64_t attempts = 0;               ///< of the current command
    SimTime began;                      ///< monotonic
    TimerId timer;
  };

  void on_request(Context& ctx, const SagaRequest& r);
  void on_reply(Context& ctx, const StepReply& r);
  /// Moves the saga on (its log record forced first), or ends it.
  void step_done(Context& ctx, Saga& s);
  void step_failed(Context& ctx, Saga& s);
  void undo_done(Context& ctx, Saga& s);
  void log(Context& ctx, Saga& s);
  void send_command(Context& ctx, Saga& s);
  void end(Context& ctx, Saga& s);
  void answer(Context& ctx, const kit::CallHeader& call, uint64_t saga, SagaEnd end,
              uint32_t failed_step);
  void recover(Context& ctx);
  void finish(Context& ctx, Saga& s, SagaEnd end);
  Saga& add(uint64_t saga);
  Saga* find_local(uint64_t local);
  static std::string log_key(uint64_t saga) { return "g/" + std::to_string(saga); }

  const Config& config_;
  std::map<uint64_t, Saga> sagas_;      // live, by saga id
  std::map<uint64_t, uint64_t> local_;  // local number -> saga id
  uint64_t next_local_ = 1;
  struct Symbols {
    Symbol started, completed, compensated, abandoned, step_timeouts, compensation_retries,
        forced_writes, messages, resumed, saga_time, in_progress;
    Symbol mark_started, mark_completed, mark_compensated, mark_abandoned;
  } m_;
};

}  // namespace dsim::saga
