#include "models/saga/messages.h"

#include "sim/core/rng.h"

namespace dsim::saga {

std::string_view saga_end_name(SagaEnd e) {
  switch (e) {
    case SagaEnd::kCompleted:
      return "completed";
    case SagaEnd::kCompensated:
      return "compensated";
    case SagaEnd::kAbandoned:
      return "abandoned";
  }
  return "?";
}

uint32_t shard_of(uint64_t saga, size_t nodes) {
  return nodes == 0 ? 0 : static_cast<uint32_t>(mix64(saga) % nodes);
}

namespace {
std::string_view kind_name(StepCommand::Kind k) {
  return k == StepCommand::Kind::kDo ? "do" : "undo";
}
}  // namespace

std::string SagaRequest::describe() const {
  return "saga " + std::to_string(saga);
}

std::string SagaResponse::describe() const {
  if (status == Status::kUnavailable) return "saga " + std::to_string(saga) + " unavailable";
  return "saga " + std::to_string(saga) + " " + std::string(saga_end_name(end)) +
         (end == SagaEnd::kCompleted ? "" : " at step " + std::to_string(failed_step));
}

std::string StepCommand::describe() const {
  return std::string(kind_name(kind)) + " step " + std::to_string(step) + " of saga " +
         std::to_string(saga);
}

std::string StepReply::describe() const {
  const char* r = result == Result::kDone ? "done" : result == Result::kFailed ? "failed" : "retry";
  return std::string(kind_name(kind)) + " step " + std::to_string(step) + " of saga " +
         std::to_string(saga) + ": " + r;
}

std::string SagaEvent::describe() const {
  return std::string(direction == Direction::kForward ? "forward" : "backward") + " to step " +
         std::to_string(step) + " of saga " + std::to_string(saga);
}

std::string EventAck::describe() const {
  return std::string("ack ") +
         (direction == SagaEvent::Direction::kForward ? "forward" : "backward") +
         " event of saga " + std::to_string(saga);
}

}  // namespace dsim::saga
