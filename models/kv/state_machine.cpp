#include "models/kv/state_machine.h"

namespace dsim::kv {

namespace {
const KvValue kEmpty;
}

std::string_view kv_status_name(KvStatus s) {
  switch (s) {
    case KvStatus::kOk:
      return "ok";
    case KvStatus::kCasMismatch:
      return "cas_mismatch";
    case KvStatus::kNotLeader:
      return "not_leader";
    case KvStatus::kUnavailable:
      return "unavailable";
    case KvStatus::kIndeterminate:
      return "indeterminate";
  }
  return "?";
}

std::string KvRequest::describe() const {
  std::string s =
      std::string(kv_op_name(op)) + " #" + std::to_string(id) + " key " + std::to_string(key);
  if (op != KvOpKind::kGet) s += " value " + std::to_string(value);
  if (op == KvOpKind::kCas) {
    s += expected_absent ? " if absent" : " if " + std::to_string(expected);
  }
  return s;
}

std::string KvResponse::describe() const {
  std::string s = "#" + std::to_string(id) + " " + std::string(kv_status_name(status));
  if (status == KvStatus::kNotLeader && hint != kNoNode) s += " try node " + std::to_string(hint);
  if (!value.empty()) s += " (" + std::to_string(value.size()) + " elements)";
  if (causal && !causal->siblings.empty()) {
    s += " " + std::to_string(causal->siblings.size()) + " siblings";
  }
  return s;
}

void read_state_machine_params(ParamReader& r, KvStateMachine::Config& c) {
  c.dedup = r.boolean("dedup", c.dedup,
                      "answer a retried write (same idempotency key) from the idempotency "
                      "table instead of applying it again");
  c.idempotency_ttl = r.duration("idempotency_ttl", c.idempotency_ttl,
                                 "how long a write's idempotency key is remembered");
  c.idempotency_capacity = static_cast<uint64_t>(
      r.integer("idempotency_capacity", static_cast<int64_t>(c.idempotency_capacity),
                "idempotency keys remembered at most (the oldest are forgotten first)", 1));
}

const KvValue& KvStateMachine::get(uint64_t key) const {
  auto it = data_.find(key);
  return it == data_.end() ? kEmpty : it->second;
}

void KvStateMachine::forget_expired(SimTime now) {
  while (!expiry_.empty() &&
         (expiry_.front().first <= now || expiry_.size() > config_.idempotency_capacity)) {
    auto it = applied_.find(expiry_.front().second);
    // Only forget the entry this expiry record was made for (a key remembered again has
    // a later expiry).
    if (it != applied_.end() && it->second.expires == expiry_.front().first) applied_.erase(it);
    expiry_.pop_front();
  }
}

void KvStateMachine::remember(uint64_t idempotency_key, KvStatus status, SimTime now) {
  const SimTime expires = saturating_add(now, config_.idempotency_ttl);
  applied_[idempotency_key] = Remembered{status, expires};
  expiry_.emplace_back(expires, idempotency_key);
}

KvResponse KvStateMachine::apply(const KvRequest& req, SimTime now) {
  KvResponse resp = kv_reply(req, KvStatus::kOk);
  if (req.op == KvOpKind::kGet) {
    resp.value = get(req.key);
    return resp;
  }
  forget_expired(now);
  const bool keyed = req.idempotency_key != 0;
  if (keyed) {
    if (auto it = applied_.find(req.idempotency_key); it != applied_.end()) {
      if (config_.dedup) {
        ++deduplicated_;
        resp.status = it->second.status;
        return resp;
      }
      if (it->second.status == KvStatus::kOk) ++duplicates_;
    }
  }
  KvValue& v = data_[req.key];
  switch (req.op) {
    case KvOpKind::kPut:
      v = KvValue::single(req.value, req.value_bytes);
      break;
    case KvOpKind::kCas:
      if (req.expected_absent ? !v.empty() : !v.is_single(req.expected)) {
        resp.status = KvStatus::kCasMismatch;
      } else {
        v = KvValue::single(req.value, req.value_bytes);
      }
      break;
    case KvOpKind::kAppend:
      v.append(req.value, req.value_bytes);
      break;
    case KvOpKind::kGet:
      break;
  }
  if (v.empty()) data_.erase(req.key);  // a failed cas on an absent key
  if (resp.status == KvStatus::kOk) ++applied_writes_;
  if (keyed) remember(req.idempotency_key, resp.status, now);
  return resp;
}

}  // namespace dsim::kv
