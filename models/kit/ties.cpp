#include "models/kit/ties.h"

namespace dsim::kit {

void CancelledTies::add(NodeId caller, uint64_t tie, SimTime now) {
  expire(now);
  if (!by_key_.insert({caller, tie}).second) return;
  by_age_.push_back({now, {caller, tie}});
  if (by_age_.size() > kMax) {
    by_key_.erase(by_age_.front().second);
    by_age_.pop_front();
  }
}

bool CancelledTies::take(NodeId caller, uint64_t tie, SimTime now) {
  expire(now);
  return by_key_.erase({caller, tie}) > 0;  // its entry in by_age_ expires in time
}

void CancelledTies::expire(SimTime now) {
  while (!by_age_.empty() && now - by_age_.front().first >= kKeep) {
    by_key_.erase(by_age_.front().second);
    by_age_.pop_front();
  }
}

}  // namespace dsim::kit
