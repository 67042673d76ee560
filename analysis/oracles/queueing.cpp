#include "analysis/oracles/queueing.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace dsim::oracle {

double MM1::sojourn_quantile(double p) const {
  return -std::log1p(-p) / (mu - lambda);
}
double MM1::sojourn_cdf(double t) const {
  return t <= 0 ? 0 : -std::expm1(-(mu - lambda) * t);
}

double MMc::erlang_b() const {
  // B(0) = 1; B(k) = A B(k-1) / (k + A B(k-1)): stable for large c.
  const double a = offered_load();
  double b = 1.0;
  for (int k = 1; k <= c; ++k)
    b = a * b / (k + a * b);
  return b;
}

double MMc::p_wait() const {
  const double a = offered_load();
  const double b = erlang_b();
  return c * b / (c - a * (1 - b));
}

double MMc::mean_wait() const {
  return p_wait() / (c * mu - lambda);
}

double MMc::wait_cdf(double t) const {
  if (t < 0) return 0;
  return 1.0 - p_wait() * std::exp(-(c * mu - lambda) * t);
}

double invert_cdf(double p, double (*cdf)(const void*, double), const void* ctx) {
  double lo = 0, hi = 1e-9;
  while (cdf(ctx, hi) < p && hi < 1e300)
    hi *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = lo + (hi - lo) / 2;
    if (mid == lo || mid == hi) break;
    (cdf(ctx, mid) < p ? lo : hi) = mid;
  }
  return hi;
}

double MMc::wait_quantile(double p) const {
  const double pw = p_wait();
  if (p <= 1 - pw) return 0;
  // 1 - pw e^{-theta t} = p
  return std::log(pw / (1 - p)) / (c * mu - lambda);
}

double MMc::sojourn_cdf(double t) const {
  if (t <= 0) return 0;
  const double pw = p_wait();
  const double theta = c * mu - lambda;
  // P(E_theta + E_mu > t), the hypoexponential tail.
  double both;
  if (std::abs(theta - mu) < 1e-12 * mu) {
    both = (1 + mu * t) * std::exp(-mu * t);
  } else {
    both = (theta * std::exp(-mu * t) - mu * std::exp(-theta * t)) / (theta - mu);
  }
  return 1 - ((1 - pw) * std::exp(-mu * t) + pw * both);
}

double MMc::sojourn_quantile(double p) const {
  return invert_cdf(
      p, [](const void* self, double t) { return static_cast<const MMc*>(self)->sojourn_cdf(t); },
      this);
}

namespace {

// Unnormalised stationary probabilities of M/M/c/K, scaled to avoid overflow.
std::vector<double> mmck_weights(double lambda, double mu, int c, int k) {
  const double a = lambda / mu;
  std::vector<double> w(static_cast<size_t>(k) + 1);
  w[0] = 1.0;
  for (int n = 1; n <= k; ++n)
    w[n] = w[n - 1] * a / std::min(n, c);
  double total = 0;
  for (double x : w)
    total += x;
  for (double& x : w)
    x /= total;
  return w;
}

}  // namespace

double MMcK::blocking() const {
  return mmck_weights(lambda, mu, c, K)[static_cast<size_t>(K)];
}

double MMcK::mean_sojourn() const {
  return mean_in_system() / (lambda * (1 - blocking()));
}

double MMcK::utilization() const {
  const auto w = mmck_weights(lambda, mu, c, K);
  double busy = 0;
  for (size_t n = 0; n < w.size(); ++n)
    busy += static_cast<double>(std::min(static_cast<int>(n), c)) * w[n];
  return busy / c;
}

double MMcK::mean_in_system() const {
  const auto w = mmck_weights(lambda, mu, c, K);
  double m = 0;
  for (size_t n = 0; n < w.size(); ++n)
    m += static_cast<double>(n) * w[n];
  return m;
}

}  // namespace dsim::oracle
