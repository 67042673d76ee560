#include "models/kit/failure_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

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
  const double observed = n > 0 ? p.sum / n : config_.first_interval.to_seconds();
  const double mean = observed + config_.acceptable_pause.to_seconds();
  if (config_.model == Model::kExponential) {
    // P(later than t) = exp(-t / mean): phi = t / mean * log10(e).
    return late / mean * std::log10(std::exp(1.0));
  }
  const double var = n > 1 ? std::max(0.0, p.sum_sq / n - observed * observed) : 0.0;
  const double sd = std::max(std::sqrt(var), config_.min_std_dev.to_seconds());
  if (sd <= 0) return late > mean ? std::numeric_limits<double>::infinity() : 0.0;
  // P(later than t) = 1 - Phi((t - mean) / sd) = Q((t - mean) / sd).
  return normal_phi((late - mean) / sd);
}

double normal_phi(double z) {
  // Below z = 30 (Q = 4.9e-198), Q from the complementary error function, which keeps its
  // relative precision in the tail. Beyond, erfc would soon underflow (near z = 38, phi
  // 316) and phi saturate to infinity, so -log10 Q comes in log space from the asymptotic
  // series Q(z) = phi(z) / z (1 - 1/z^2 + 3/z^4 - 15/z^6 + ...) (Abramowitz and Stegun
  // 26.2.12), whose first omitted term is 105/z^8 < 2e-10 there. Akka approximates Q by a
  // logistic function instead (Bowling et al., "A logistic approximation to the cumulative
  // normal distribution", 2009), finite everywhere but not the normal tail the validation
  // tests hold phi to.
  constexpr double kSwitch = 30;
  if (z < kSwitch) return -std::log10(0.5 * std::erfc(z / std::sqrt(2.0)));
  const double z2 = z * z;
  const double series = 1 - 1 / z2 + 3 / (z2 * z2) - 15 / (z2 * z2 * z2);
  const double ln_q = -0.5 * z2 - std::log(z * std::sqrt(2 * std::numbers::pi)) + std::log(series);
  return -ln_q / std::log(10.0);
}

}  // namespace dsim::kit
