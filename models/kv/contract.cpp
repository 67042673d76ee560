#include "models/kv/contract.h"

namespace dsim::kv {

std::string_view kv_op_name(KvOpKind k) {
  switch (k) {
    case KvOpKind::kGet:
      return "get";
    case KvOpKind::kPut:
      return "put";
    case KvOpKind::kCas:
      return "cas";
    case KvOpKind::kAppend:
      return "append";
  }
  return "?";
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
    case KvStatus::kMiss:
      return "miss";
  }
  return "?";
}

std::string KvRequest::describe() const {
  std::string s =
      std::string(kv_op_name(op)) + " #" + std::to_string(call.id) + " key " + std::to_string(key);
  if (op != KvOpKind::kGet) s += " value " + std::to_string(value);
  if (op == KvOpKind::kCas) {
    s += expected_absent ? " if absent" : " if " + std::to_string(expected);
  }
  return s;
}

std::string KvCacheOp::describe() const {
  std::string s = std::string(erase ? "delete" : "fill") + " #" + std::to_string(call.id) +
                  " key " + std::to_string(key);
  if (!erase && lease != 0) s += " with lease";
  return s;
}

std::string KvResponse::describe() const {
  std::string s = "#" + std::to_string(call) + " " + std::string(kv_status_name(status));
  if (status == KvStatus::kNotLeader && hint != kNoNode) s += " try node " + std::to_string(hint);
  if (!value.empty()) s += " (" + std::to_string(value.size()) + " elements)";
  if (causal && !causal->siblings.empty()) {
    s += " " + std::to_string(causal->siblings.size()) + " siblings";
  }
  return s;
}

}  // namespace dsim::kv
