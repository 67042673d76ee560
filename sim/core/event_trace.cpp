#include "sim/core/event_trace.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "sim/core/assert.h"

namespace dsim {

namespace {

// A time in microseconds with its nanoseconds as decimals: exact, and the same bytes
// everywhere (no floating point).
void append_us(std::string& out, int64_t ns) {
  if (ns < 0) {
    out += '-';
    ns = -ns;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ns / 1000),
                static_cast<long long>(ns % 1000));
  out += buf;
}

void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

const char* handler_name(EventTrace::Handler h) {
  switch (h) {
    case EventTrace::Handler::kStart:
      return "start";
    case EventTrace::Handler::kMessage:
      return "message";
    case EventTrace::Handler::kTimer:
      return "timer";
    case EventTrace::Handler::kDisk:
      return "disk";
    case EventTrace::Handler::kLeave:
      return "leave";
  }
  return "?";
}

}  // namespace

EventTrace::EventTrace(std::optional<TraceConfig> config, std::vector<uint32_t> node_group,
                       std::vector<std::string> node_name)
    : config_(config.value_or(TraceConfig{})),
      json_(config.has_value()),
      node_group_(std::move(node_group)),
      seen_(node_group_.size(), false) {
  node_name_.reserve(node_name.size());
  for (const auto& n : node_name) {
    node_name_.emplace_back();
    append_string(node_name_.back(), n);
  }
  uint32_t groups = 0;
  for (const uint32_t g : node_group_)
    groups = std::max(groups, g + 1);
  fault_pid_ = groups + 1;  // groups are processes 1..groups
}

void EventTrace::record_messages(const MessageLogConfig& config) {
  messages_ = std::make_unique<MessageLog>(config);
}

const std::string& EventTrace::name_of(NodeId node) const {
  static const std::string none = "null";
  return node < node_name_.size() ? node_name_[node] : none;
}

bool EventTrace::begin(SimTime now, char ph, uint32_t pid, uint64_t tid) {
  if (!json_ || closed_ || !in_window(now)) return false;
  if (events_ >= config_.max_events) {
    if (!truncated_) {
      truncated_ = true;
      truncated_at_ = now;
    }
    return false;
  }
  ++events_;
  body_ += "{\"ph\":\"";
  body_ += ph;
  body_ += "\",\"pid\":";
  body_ += std::to_string(pid);
  body_ += ",\"tid\":";
  body_ += std::to_string(tid);
  body_ += ",\"ts\":";
  append_us(body_, now.ns());
  return true;
}

bool EventTrace::begin_node(SimTime now, char ph, NodeId node) {
  if (node >= node_group_.size()) return false;
  if (!begin(now, ph, node_group_[node] + 1, uint64_t{node} + 1)) return false;
  seen_[node] = true;
  return true;
}

void EventTrace::handler(SimTime now, NodeId node, Handler kind, std::string_view name, NodeId from,
                         uint32_t bytes, uint64_t tag) {
  if (!begin_node(now, 'X', node)) return;
  body_ += ",\"dur\":";
  append_us(body_, kSliceNs);
  body_ += ",\"cat\":\"";
  body_ += handler_name(kind);
  body_ += "\",\"name\":";
  append_string(body_, kind == Handler::kMessage ? name : std::string_view(handler_name(kind)));
  if (kind == Handler::kMessage) {
    body_ += ",\"args\":{\"from\":";
    body_ += name_of(from);
    body_ += ",\"bytes\":";
    body_ += std::to_string(bytes);
    body_ += '}';
  } else if (kind == Handler::kTimer) {
    body_ += ",\"args\":{\"tag\":";
    body_ += std::to_string(tag);
    body_ += '}';
  }
  end_event();
}

uint64_t EventTrace::send(SimTime now, NodeId from, NodeId to, std::string_view kind,
                          uint32_t bytes, bool duplicate) {
  const uint64_t record = messages_ ? messages_->send(now, from, to, kind, bytes, duplicate) : 0;
  const uint64_t high = record << kRecordShift;
  if (!begin_node(now, 's', from)) return high;
  const uint64_t flow = next_flow_++;
  DSIM_ASSERT(flow < (uint64_t{1} << kRecordShift), "too many trace arrows for their ids");
  body_ += ",\"cat\":\"message\",\"name\":";
  append_string(body_, kind);
  body_ += ",\"id\":";
  body_ += std::to_string(flow);
  body_ += ",\"args\":{\"to\":";
  body_ += name_of(to);
  body_ += ",\"bytes\":";
  body_ += std::to_string(bytes);
  if (duplicate) body_ += ",\"duplicate\":true";
  body_ += '}';
  end_event();
  ++open_flows_;
  return high | flow;
}

void EventTrace::arrive(SimTime now, uint64_t flow, NodeId to, std::string_view kind) {
  if (messages_) messages_->deliver(now, static_cast<uint32_t>(flow >> kRecordShift));
  flow &= (uint64_t{1} << kRecordShift) - 1;
  if (flow == 0 || !begin_node(now, 'f', to)) return;
  body_ += ",\"bp\":\"e\",\"cat\":\"message\",\"name\":";
  append_string(body_, kind);
  body_ += ",\"id\":";
  body_ += std::to_string(flow);
  end_event();
  --open_flows_;
}

void EventTrace::drop(SimTime now, uint64_t flow, NodeId at_node, NodeId from, NodeId to,
                      std::string_view kind, std::string_view cause) {
  if (messages_) messages_->drop(now, static_cast<uint32_t>(flow >> kRecordShift), cause);
  flow &= (uint64_t{1} << kRecordShift) - 1;
  if (!begin_node(now, 'i', at_node)) return;
  body_ += ",\"s\":\"t\",\"cat\":\"drop\",\"name\":";
  append_string(body_, "dropped " + std::string(kind));
  body_ += ",\"args\":{\"cause\":";
  append_string(body_, cause);
  body_ += ",\"from\":";
  body_ += name_of(from);
  body_ += ",\"to\":";
  body_ += name_of(to);
  if (flow != 0) {
    body_ += ",\"flow\":";
    body_ += std::to_string(flow);
    --open_flows_;
  }
  body_ += '}';
  end_event();
}

void EventTrace::refuse(SimTime now, NodeId from, NodeId to, std::string_view kind, uint32_t bytes,
                        std::string_view cause) {
  if (messages_) messages_->refuse(now, from, to, kind, bytes, cause);
  drop(now, 0, from, from, to, kind, cause);
}

void EventTrace::life(SimTime now, NodeId node, std::string_view what) {
  if (!begin_node(now, 'i', node)) return;
  body_ += ",\"s\":\"t\",\"cat\":\"node\",\"name\":";
  append_string(body_, what);
  end_event();
}

void EventTrace::fault(const FaultEvent& e) {
  const std::string name = e.kind + "#" + std::to_string(e.id);
  auto args = [&] {
    body_ += ",\"args\":{\"targets\":";
    append_string(body_, e.no_target ? "no target" : e.targets);
    body_ += ",\"detail\":";
    append_string(body_, e.detail);
    body_ += '}';
  };
  if (e.phase == FaultPhase::kEnd) {
    if (!open_faults_.count(e.id) || !begin(e.at, 'e', fault_pid_, 1)) return;
    open_faults_.erase(e.id);
  } else {
    // Seen across every track: a global instant.
    if (!begin(e.at, 'i', fault_pid_, 1)) return;
    any_fault_ = true;
    body_ += ",\"s\":\"g\",\"cat\":\"fault\",\"name\":";
    append_string(body_, name);
    args();
    end_event();
    if (e.phase == FaultPhase::kInstant || !begin(e.at, 'b', fault_pid_, 1)) return;
    open_faults_.emplace(e.id, name);
  }
  // A span on the faults process (an async slice: faults overlap).
  body_ += ",\"cat\":\"fault\",\"name\":";
  append_string(body_, name);
  body_ += ",\"id\":";
  body_ += std::to_string(e.id);
  if (e.phase == FaultPhase::kStart) args();
  end_event();
}

void EventTrace::close(SimTime now) {
  if (closed_) return;
  end_ = now;
  const SimTime at = now > config_.to ? config_.to : now;
  while (!open_faults_.empty()) {
    const auto it = open_faults_.begin();
    if (!begin(at, 'e', fault_pid_, 1)) break;
    body_ += ",\"cat\":\"fault\",\"name\":";
    append_string(body_, it->second);
    body_ += ",\"id\":";
    body_ += std::to_string(it->first);
    body_ += ",\"args\":{\"open_at_end\":true}";
    end_event();
    open_faults_.erase(it);
  }
  closed_ = true;
}

std::string EventTrace::render(const std::string& head,
                               const std::vector<std::string>& group_names) const {
  std::string out;
  // The events once, with room for the names and the rest (the file can be large).
  out.reserve(body_.size() + head.size() + 160 * (seen_.size() + node_group_.size()) + 1024);
  out += "{\n";
  out += head;
  out += "  \"displayTimeUnit\": \"ns\",\n  \"traceEvents\": [\n";
  auto meta = [&out](const char* what, uint32_t pid, uint64_t tid, const char* key,
                     const std::string& value) {
    out += "{\"ph\":\"M\",\"pid\":";
    out += std::to_string(pid);
    out += ",\"tid\":";
    out += std::to_string(tid);
    out += ",\"name\":\"";
    out += what;
    out += "\",\"args\":{\"";
    out += key;
    out += "\":";
    out += value;
    out += "}},\n";
  };
  auto quoted = [](std::string_view s) {
    std::string q;
    append_string(q, s);
    return q;
  };
  std::vector<bool> group_seen(group_names.size(), false);
  for (NodeId n = 0; n < seen_.size(); ++n) {
    if (seen_[n] && node_group_[n] < group_seen.size()) group_seen[node_group_[n]] = true;
  }
  for (uint32_t g = 0; g < group_names.size(); ++g) {
    if (!group_seen[g]) continue;
    meta("process_name", g + 1, 0, "name", quoted(group_names[g]));
    meta("process_sort_index", g + 1, 0, "sort_index", std::to_string(g + 1));
  }
  for (NodeId n = 0; n < seen_.size(); ++n) {
    if (!seen_[n]) continue;
    meta("thread_name", node_group_[n] + 1, uint64_t{n} + 1, "name", name_of(n));
    meta("thread_sort_index", node_group_[n] + 1, uint64_t{n} + 1, "sort_index", std::to_string(n));
  }
  if (any_fault_) {
    meta("process_name", fault_pid_, 0, "name", "\"faults\"");
    meta("process_sort_index", fault_pid_, 0, "sort_index", "0");
  }
  out += body_;
  // Every event ends with ",\n": the last one without its comma.
  if (out.ends_with("},\n")) out.erase(out.size() - 2, 1);
  out += "  ],\n  \"otherData\": {\n";
  out += "    \"window_from_us\": ";
  append_us(out, config_.from.ns());
  out += ",\n    \"window_to_us\": ";
  append_us(out, (config_.to > end_ ? end_ : config_.to).ns());
  out += ",\n    \"max_events\": " + std::to_string(config_.max_events);
  out += ",\n    \"events\": " + std::to_string(events_);
  out += ",\n    \"truncated\": ";
  out += truncated_ ? "true" : "false";
  out += ",\n    \"truncated_at_us\": ";
  if (truncated_) {
    append_us(out, truncated_at_.ns());
  } else {
    out += "null";
  }
  out += ",\n    \"unfinished_flows\": " + std::to_string(open_flows_);
  out += ",\n    \"slice_ns\": " + std::to_string(kSliceNs);
  out += "\n  }\n}\n";
  return out;
}

}  // namespace dsim
