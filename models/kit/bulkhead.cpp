#include "models/kit/bulkhead.h"

#include <algorithm>

#include "sim/core/assert.h"

namespace dsim::kit {

void read_bulkhead(ParamReader& r, BulkheadSpec& s) {
  ParamReader m = r.map("bulkhead",
                        "a cap on this node's calls out on the edge at once (default: none): "
                        "{max_calls: 10, max_wait: 0ms}");
  s.max_calls = static_cast<uint32_t>(
      m.integer("max_calls", 10, "calls out at once from one node", 1, 1'000'000));
  s.max_wait = m.duration("max_wait", s.max_wait,
                          "how long a call past the cap waits for a place before it fails "
                          "(0: it fails at once)");
  m.finish();
  if (!r.has("bulkhead")) s.max_calls = 0;
  r.adopt_if_given("bulkhead", m);
}

Bulkhead::Admit Bulkhead::acquire(uint64_t call, SimTime now, bool may_wait) {
  if (!enabled()) return Admit::kGo;
  if (holders_.size() < spec_->max_calls) {
    const bool added = holders_.insert(call).second;
    DSIM_ASSERT(added, "call ", call, " took a second place in a bulkhead");
    return Admit::kGo;
  }
  if (!may_wait || spec_->max_wait <= Duration::zero()) return Admit::kFull;
  waiting_.emplace_back(call, now + spec_->max_wait);
  return Admit::kWait;
}

std::optional<uint64_t> Bulkhead::release(uint64_t call) {
  if (!enabled() || holders_.erase(call) == 0) return std::nullopt;
  if (waiting_.empty()) return std::nullopt;
  const uint64_t next = waiting_.front().first;
  waiting_.pop_front();
  holders_.insert(next);
  return next;
}

bool Bulkhead::forget(uint64_t call) {
  const auto it = std::find_if(waiting_.begin(), waiting_.end(),
                               [call](const auto& w) { return w.first == call; });
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

std::vector<uint64_t> Bulkhead::expired(SimTime now) {
  std::vector<uint64_t> out;
  while (!waiting_.empty() && waiting_.front().second <= now) {
    out.push_back(waiting_.front().first);
    waiting_.pop_front();
  }
  return out;
}

std::optional<SimTime> Bulkhead::next_expiry() const {
  if (waiting_.empty()) return std::nullopt;
  return waiting_.front().second;
}

}  // namespace dsim::kit
