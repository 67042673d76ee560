// The messages of a saga (Garcia-Molina and Salem, "Sagas", SIGMOD 1987): a long-lived
// transaction split into steps, each a local transaction of one service with a
// compensating transaction that undoes it semantically. A saga either runs every step, or
// stops at a step that fails and runs the compensations of the steps before it, in reverse
// order. Two ways to drive one (the microservice literature's orchestration and
// choreography):
//
//   orchestrated  client --saga request--> saga_orchestrator --step command (do, undo)-->
//                 each step's saga_service --step reply--> orchestrator --response--> client
//   choreographed client --saga request--> the first saga_service; each service, its step
//                 done, publishes an event to the next (forward); a step that fails
//                 publishes one to the previous (backward), which compensates and passes it
//                 on; the service that ends the saga answers the client
//
// Commands and events are delivered at least once (resent until answered or acknowledged),
// so a service applies each at most once: it keeps what it did for each saga on its disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "models/kit/call.h"
#include "sim/core/ids.h"

namespace dsim::saga {

/// How a saga ended (the client's answer, and the marks the checker reads).
enum class SagaEnd : uint8_t {
  kCompleted,    ///< every step done
  kCompensated,  ///< a step failed; every step done before it was compensated
  kAbandoned,    ///< a step failed and some compensation kept failing: a human must repair it
};
std::string_view saga_end_name(SagaEnd e);

/// Client -> orchestrator, or -> the first service of a choreography: run saga `saga`.
struct SagaRequest {
  static constexpr std::string_view kName = "saga_request";
  kit::CallHeader call;
  uint64_t saga = 0;  ///< unique in the run; the same in every attempt
  uint32_t size_bytes() const { return 64; }
  std::string describe() const;
};

/// -> client: how the saga ended. `saga` lets the client match an answer to any of its
/// attempts (the service that ends a choreographed saga answers the attempt that began it).
struct SagaResponse {
  static constexpr std::string_view kName = "saga_response";
  enum class Status : uint8_t { kEnded, kUnavailable };
  uint64_t call = 0;
  uint64_t saga = 0;
  Status status = Status::kEnded;
  SagaEnd end = SagaEnd::kCompleted;
  uint32_t failed_step = 0;  ///< not completed: the step that failed
  uint32_t size_bytes() const { return 40; }
  std::string describe() const;
};

/// Orchestrator -> a step's service: run step `step` of the saga (its local transaction),
/// or its compensation.
struct StepCommand {
  static constexpr std::string_view kName = "saga_step";
  enum class Kind : uint8_t { kDo, kUndo };
  uint64_t saga = 0;
  uint32_t step = 0;
  Kind kind = Kind::kDo;
  uint32_t size_bytes() const { return 48; }
  std::string describe() const;
};

/// Service -> orchestrator: what became of a command.
struct StepReply {
  static constexpr std::string_view kName = "saga_step_reply";
  enum class Result : uint8_t {
    kDone,    ///< the step's transaction (or its compensation) committed, now or before
    kFailed,  ///< do: the step failed (a business refusal) or was compensated before it ran
    kRetry,   ///< undo: the compensation's transaction failed this time; try it again
  };
  uint64_t saga = 0;
  uint32_t step = 0;
  StepCommand::Kind kind = StepCommand::Kind::kDo;
  Result result = Result::kDone;
  uint32_t size_bytes() const { return 40; }
  std::string describe() const;
};

/// Service -> service in a choreography: the saga moves on. Forward: run step `step` (the
/// previous one is done). Backward: step `step + 1` failed or was compensated; compensate
/// `step`. It carries the client's call, so whichever service ends the saga can answer.
struct SagaEvent {
  static constexpr std::string_view kName = "saga_event";
  enum class Direction : uint8_t { kForward, kBackward };
  uint64_t saga = 0;
  uint32_t step = 0;
  Direction direction = Direction::kForward;
  uint32_t failed_step = 0;  ///< backward: the step that failed
  bool abandoned = false;    ///< backward: a compensation after it was given up
  kit::CallHeader call;      ///< the client's
  uint32_t size_bytes() const { return 96; }
  std::string describe() const;
};

/// The receiver of an event has made it durable (its step's outcome recorded, and what it
/// publishes next in its outbox): the sender stops resending it.
struct EventAck {
  static constexpr std::string_view kName = "saga_event_ack";
  uint64_t saga = 0;
  SagaEvent::Direction direction = SagaEvent::Direction::kForward;
  uint32_t size_bytes() const { return 24; }
  std::string describe() const;
};

}  // namespace dsim::saga

namespace dsim::saga {

/// The node of a step's group that holds a saga's records (a service's database is
/// sharded by saga): the same rule for the orchestrator, the services and the client.
uint32_t shard_of(uint64_t saga, size_t nodes);

}  // namespace dsim::saga
