#include "models/tcc/messages.h"

namespace dsim::tcc {

std::string_view side_name(Side s) {
  return s == Side::kDebit ? "debit" : "credit";
}

std::string_view op_name(Op op) {
  switch (op) {
    case Op::kTry:
      return "try";
    case Op::kConfirm:
      return "confirm";
    case Op::kCancel:
      return "cancel";
  }
  return "?";
}

std::string_view cancel_cause_name(CancelCause c) {
  switch (c) {
    case CancelCause::kNone:
      return "none";
    case CancelCause::kRefused:
      return "refused";
    case CancelCause::kTryTimeout:
      return "try_timeout";
    case CancelCause::kRecovery:
      return "recovery";
    case CancelCause::kInvalid:
      return "invalid";
  }
  return "?";
}

std::string TransferRequest::describe() const {
  return "transfer " + std::to_string(transfer) + ": " + std::to_string(amount) + " from " +
         std::to_string(from) + " to " + std::to_string(to);
}

std::string TransferResponse::describe() const {
  return "transfer " + std::to_string(transfer) +
         (status == Status::kConfirmed
              ? " confirmed"
              : " cancelled (" + std::string(cancel_cause_name(cause)) + ")");
}

std::string ShardOp::describe() const {
  return std::string(op_name(op)) + ' ' + std::string(side_name(side)) + " transfer " +
         std::to_string(transfer) + " account " + std::to_string(account) + " amount " +
         std::to_string(amount);
}

std::string ShardReply::describe() const {
  return std::string(op_name(op)) + ' ' + std::string(side_name(side)) + " transfer " +
         std::to_string(transfer) + (ok ? " ok" : " refused");
}

}  // namespace dsim::tcc
