#include "models/kv/state_machine.h"

#include "sim/core/bytes.h"
#include "sim/core/rng.h"

namespace dsim::kv {

namespace {
const KvValue kEmpty;

}  // namespace

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
  const bool keyed = req.call.idempotency_key != 0;
  if (keyed) {
    if (auto it = applied_.find(req.call.idempotency_key); it != applied_.end()) {
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
  if (keyed) remember(req.call.idempotency_key, resp.status, now);
  return resp;
}

// Layout (little-endian u64s): counters (3); key count, then per key: key, total bytes,
// element count, elements; expiry record count, then per record: expires, idempotency key,
// live (1 when the table holds the key with this expiry), status.
std::string KvStateMachine::encode() const {
  std::string out;
  put_u64(out, duplicates_);
  put_u64(out, deduplicated_);
  put_u64(out, applied_writes_);
  put_u64(out, data_.size());
  for (const auto& [key, v] : data_) {
    put_u64(out, key);
    put_u64(out, v.bytes());
    put_u64(out, v.size());
    for (int64_t x : v.elements())
      put_u64(out, static_cast<uint64_t>(x));
  }
  put_u64(out, expiry_.size());
  for (const auto& [expires, ikey] : expiry_) {
    put_u64(out, static_cast<uint64_t>(expires.ns()));
    put_u64(out, ikey);
    auto it = applied_.find(ikey);
    const bool live = it != applied_.end() && it->second.expires == expires;
    put_u64(out, live ? 1 : 0);
    put_u64(out, live ? static_cast<uint64_t>(it->second.status) : 0);
  }
  return out;
}

bool KvStateMachine::decode(std::string_view in) {
  size_t pos = 0;
  uint64_t dups = 0, dedup = 0, writes = 0, keys = 0;
  if (!get_u64(in, pos, dups) || !get_u64(in, pos, dedup) || !get_u64(in, pos, writes) ||
      !get_u64(in, pos, keys)) {
    return false;
  }
  std::map<uint64_t, KvValue> data;
  for (uint64_t k = 0; k < keys; ++k) {
    uint64_t key = 0, bytes = 0, n = 0;
    if (!get_u64(in, pos, key) || !get_u64(in, pos, bytes) || !get_u64(in, pos, n)) return false;
    if (n == 0 || n > (in.size() - pos) / 8) return false;
    KvValue v;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t x = 0;
      if (!get_u64(in, pos, x)) return false;
      // The total size goes with the first element (only the total is kept).
      v.append(static_cast<int64_t>(x), i == 0 ? static_cast<uint32_t>(bytes) : 0);
    }
    data.emplace(key, std::move(v));
  }
  uint64_t records = 0;
  if (!get_u64(in, pos, records) || records > (in.size() - pos) / 32) return false;
  std::deque<std::pair<SimTime, uint64_t>> expiry;
  std::unordered_map<uint64_t, Remembered> applied;
  for (uint64_t r = 0; r < records; ++r) {
    uint64_t expires = 0, ikey = 0, live = 0, status = 0;
    if (!get_u64(in, pos, expires) || !get_u64(in, pos, ikey) || !get_u64(in, pos, live) ||
        !get_u64(in, pos, status) || status > static_cast<uint64_t>(KvStatus::kIndeterminate)) {
      return false;
    }
    const SimTime at = SimTime::from_ns(static_cast<int64_t>(expires));
    expiry.emplace_back(at, ikey);
    if (live) applied[ikey] = Remembered{static_cast<KvStatus>(status), at};
  }
  if (pos != in.size()) return false;
  data_ = std::move(data);
  expiry_ = std::move(expiry);
  applied_ = std::move(applied);
  duplicates_ = dups;
  deduplicated_ = dedup;
  applied_writes_ = writes;
  return true;
}

uint64_t KvStateMachine::digest() const {
  uint64_t h = mix64(data_.size());
  for (const auto& [key, v] : data_) {
    h = mix64(h ^ key);
    for (int64_t x : v.elements())
      h = mix64(h ^ static_cast<uint64_t>(x));
  }
  return h;
}

}  // namespace dsim::kv
