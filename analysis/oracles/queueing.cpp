#include "analysis/oracles/queueing.h"

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

double MMcK::mean_in_system() const {
  const auto w = mmck_weights(lambda, mu, c, K);
  double m = 0;
  for (size_t n = 0; n < w.size(); ++n)
    m += static_cast<double>(n) * w[n];
  return m;
}

}  // namespace dsim::oracle
