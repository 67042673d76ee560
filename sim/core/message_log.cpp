#include "sim/core/message_log.h"

#include <algorithm>

#include "sim/core/assert.h"

namespace dsim {

namespace {

// The drop causes the engine names, as static text (records keep views of them).
std::string_view static_cause(std::string_view cause) {
  for (std::string_view c : {"partition", "loss", "queue_overflow", "node_down"}) {
    if (c == cause) return c;
  }
  return "other";
}

}  // namespace

MessageLog::MessageLog(MessageLogConfig config) : config_(config) {
  config_.max_messages = std::min(config_.max_messages, kMaxLoggedMessages);
}

uint32_t MessageLog::kind_index(std::string_view kind) {
  if (auto it = kind_ids_.find(kind); it != kind_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(kinds_.size());
  kinds_.emplace_back(kind);
  kind_ids_.emplace(std::string(kind), id);
  return id;
}

uint32_t MessageLog::send(SimTime now, NodeId from, NodeId to, std::string_view kind,
                          uint32_t bytes, bool duplicate) {
  if (now < config_.from || now > config_.to) return 0;
  if (records_.size() >= config_.max_messages) {
    if (not_kept_++ == 0) first_not_kept_ = now;
    return 0;
  }
  MessageRecord r;
  r.sent = now;
  r.from = from;
  r.to = to;
  r.bytes = bytes;
  r.kind = kind_index(kind);
  r.duplicate = duplicate;
  records_.push_back(r);
  return static_cast<uint32_t>(records_.size());
}

void MessageLog::deliver(SimTime now, uint32_t record) {
  if (record == 0) return;
  DSIM_ASSERT(record <= records_.size(), "a delivery of a message the log never recorded");
  MessageRecord& r = records_[record - 1];
  r.ended = now;
  r.fate = MessageFate::kDelivered;
}

void MessageLog::drop(SimTime now, uint32_t record, std::string_view cause) {
  if (record == 0) return;
  DSIM_ASSERT(record <= records_.size(), "a drop of a message the log never recorded");
  MessageRecord& r = records_[record - 1];
  r.ended = now;
  r.fate = MessageFate::kDropped;
  r.cause = static_cause(cause);
}

void MessageLog::refuse(SimTime now, NodeId from, NodeId to, std::string_view kind, uint32_t bytes,
                        std::string_view cause) {
  drop(now, send(now, from, to, kind, bytes, false), cause);
}

}  // namespace dsim
