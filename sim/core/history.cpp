#include "sim/core/history.h"

namespace dsim {

std::string_view history_outcome_name(HistoryOutcome o) {
  switch (o) {
    case HistoryOutcome::kOk:
      return "ok";
    case HistoryOutcome::kFail:
      return "fail";
    case HistoryOutcome::kUnknown:
      return "unknown";
  }
  return "?";
}

uint32_t Histories::index_of(const HistoryFamily& family) {
  for (size_t i = 0; i < logs_.size(); ++i) {
    if (&logs_[i]->family() == &family) return static_cast<uint32_t>(i);
  }
  logs_.push_back(family.make_log());
  return static_cast<uint32_t>(logs_.size() - 1);
}

const HistoryLog* Histories::find(const HistoryFamily& family) const {
  for (const auto& l : logs_) {
    if (&l->family() == &family) return l.get();
  }
  return nullptr;
}

HistoryLog& Histories::log(const HistoryFamily& family) {
  return *logs_[index_of(family)];
}

Histories::Ref Histories::invoke(const HistoryFamily& family, SimTime at, NodeId client,
                                 Symbol op_type, const void* invocation) {
  const uint32_t l = index_of(family);
  HistoryLog& log = *logs_[l];
  uint32_t op = HistoryLog::kNone;
  if (bytes() + log.op_bytes() + sizeof(Symbol) <= max_bytes_) {
    op = log.invoke(at, client, invocation);
  }
  if (op == HistoryLog::kNone) {
    if (dropped_++ == 0) truncated_at_ = at;
    return {};
  }
  log.set_op_type(op, op_type);
  return {l, op};
}

void Histories::complete(Ref ref, SimTime at, HistoryOutcome outcome, const void* result,
                         uint32_t attempts) {
  if (ref.valid()) logs_[ref.log]->complete(ref.op, at, outcome, result, attempts);
}

void Histories::set_served(Ref ref, bool served) {
  if (ref.valid()) logs_[ref.log]->set_served(ref.op, served);
}

size_t Histories::size() const {
  size_t n = 0;
  for (const auto& l : logs_)
    n += l->size();
  return n;
}

uint64_t Histories::bytes() const {
  uint64_t n = 0;
  for (const auto& l : logs_)
    n += l->bytes() + l->op_type_bytes();
  return n;
}

}  // namespace dsim
