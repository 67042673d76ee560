#include "models/kit/failure_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dsim::kit {

void PhiAccrualDetector::heard(uint32_t peer, SimTime now) {
  auto [it, fresh] = peers_.try_emplace(peer);
  Peer& p = it->second;
  if (!fresh) {
    if (now <= p.last) return;
    const double gap = (now - p.last).to_seconds();
    p.intervals.push_back(gap);
    p.sum += gap;
    p.sum_sq += gap * gap;
    if (p.intervals.size() > config_.window) {
      const double old = p.intervals.front();
      p.intervals.pop_front();
      p.sum -= old;
      p.sum_sq -= old * old;
    }
  }
  p.last = now;
}

double PhiAccrualDetector::phi(uint32_t peer, SimTime now) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return 0;
  const Peer& p = it->second;
  const double late = std::max(0.0, (now - p.last).to_seconds());
  const auto n = static_cast<double>(p.intervals.size());
  const double mean = n > 0 ? p.sum / n : config_.first_interval.to_seconds();
  if (config_.model == Model::kExponential) {
    // P(later than t) = exp(-t / mean): phi = t / mean * log10(e).
    return late / mean * std::log10(std::exp(1.0));
  }
  const double var = n > 1 ? std::max(0.0, p.sum_sq / n - mean * mean) : 0.0;
  const double sd = std::max(std::sqrt(var), config_.min_std_dev.to_seconds());
  // P(later than t) = 1 - Phi((t - mean) / sd), by the complementary error function so
  // that large values of phi keep their precision.
  const double tail = 0.5 * std::erfc((late - mean) / (sd * std::sqrt(2.0)));
  return tail > 0 ? -std::log10(tail) : std::numeric_limits<double>::infinity();
}

}  // namespace dsim::kit
