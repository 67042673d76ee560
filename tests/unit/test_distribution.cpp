// Distributions: moments, quantiles and goodness of fit of every kind against closed forms.
//
// How the tolerances are derived (n is the number of draws, fixed seeds throughout):
//   - sample mean: its standard error is sd/sqrt(n); we allow 5 standard errors, which a
//     correct sampler exceeds with probability below 1e-6 (normal approximation).
//   - sample variance s^2: Var(s^2) = (mu4 - sd^4)/n + O(1/n^2), so its standard error is
//     var * sqrt((kurtosis - 1)/n) with kurtosis = mu4/var^2 taken from the closed form;
//     again 5 standard errors.
//   - empirical CDF at a point x with true F(x) = q: the count of draws <= x is
//     Binomial(n, q), so the fraction has standard error sqrt(q(1-q)/n); 5 of them.
//   - discrete goodness of fit: Pearson's chi-square against the exact probabilities,
//     below the 0.999 critical value for its degrees of freedom (standard tables).
//   - deterministic functions (cdf, quantile, mean): tight numeric tolerances.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/distribution.h"
#include "sim/core/rng.h"

using namespace dsim;
using Dim = Distribution::Dim;
using Kind = Distribution::Kind;

namespace {

constexpr int kN = 200'000;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Standard normal quantiles (standard tables), checked against erfc below.
struct ZValue {
  double q, z;
};
constexpr ZValue kZ[] = {
    {0.001, -3.090232306167813}, {0.01, -2.3263478740408408},
    {0.1, -1.2815515655446004},  {0.5, 0.0},
    {0.9, 1.2815515655446004},   {0.99, 2.3263478740408408},
    {0.999, 3.090232306167813},
};
constexpr double kProbabilities[] = {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999};

double phi_cdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}
double phi_pdf(double z) {
  return std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
}

std::vector<double> draw(const Distribution& d, uint64_t seed, int n = kN) {
  Rng rng(seed, stream_id("test-distribution", seed));
  std::vector<double> xs(static_cast<size_t>(n));
  for (double& x : xs)
    x = d.sample(rng);
  return xs;
}

double fraction_at_most(const std::vector<double>& xs, double x) {
  const auto c = std::count_if(xs.begin(), xs.end(), [x](double v) { return v <= x; });
  return static_cast<double>(c) / static_cast<double>(xs.size());
}

// Checks the sample mean and variance against the true mean, variance and kurtosis
// (mu4/var^2), within 5 standard errors each (see the top of the file).
void check_moments(const std::vector<double>& xs, double mean, double var, double kurtosis) {
  const double n = static_cast<double>(xs.size());
  double m = 0;
  for (double x : xs)
    m += x;
  m /= n;
  double v = 0;
  for (double x : xs)
    v += (x - m) * (x - m);
  v /= n - 1;
  const double se_mean = std::sqrt(var / n);
  const double se_var = var * std::sqrt((kurtosis - 1) / n);
  INFO("sample mean " << m << " vs " << mean << " (5 SE = " << 5 * se_mean << ")");
  CHECK(std::abs(m - mean) <= 5 * se_mean);
  INFO("sample variance " << v << " vs " << var << " (5 SE = " << 5 * se_var << ")");
  CHECK(std::abs(v - var) <= 5 * se_var);
}

// Checks that the fraction of draws <= x_q is within 5 standard errors of q, for each
// (q, x_q) with x_q the true q-quantile.
void check_ecdf(const std::vector<double>& xs, const std::vector<std::pair<double, double>>& qx) {
  const double n = static_cast<double>(xs.size());
  for (const auto& [q, x] : qx) {
    const double f = fraction_at_most(xs, x);
    INFO("q = " << q << ", x_q = " << x << ", empirical CDF " << f);
    CHECK(std::abs(f - q) <= 5 * std::sqrt(q * (1 - q) / n));
  }
}

// Checks quantile() against the closed-form quantile function and cdf() against q, and
// the round trip quantile(cdf(x)) = x.
template <class Q>
void check_quantile_function(const Distribution& d, Q true_quantile) {
  for (double q : kProbabilities) {
    const double x = true_quantile(q);
    INFO("q = " << q << ", true quantile " << x << ", quantile() " << d.quantile(q));
    CHECK(d.quantile(q) == Approx(x).epsilon(1e-9).margin(1e-12));
    CHECK(d.cdf(x) == Approx(q).margin(1e-9));
    CHECK(d.quantile(d.cdf(x)) == Approx(x).epsilon(1e-9).margin(1e-12));
  }
}

// Pearson's chi-square of observed counts against expected probabilities.
double chi_square(const std::vector<uint64_t>& counts, const std::vector<double>& probs,
                  uint64_t total) {
  double chi2 = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double e = probs[i] * static_cast<double>(total);
    const double d = static_cast<double>(counts[i]) - e;
    chi2 += d * d / e;
  }
  return chi2;
}
// 0.999 critical values of chi-square (standard tables) by degrees of freedom.
constexpr double kChi2Crit999Df6 = 22.458;
constexpr double kChi2Crit999Df9 = 27.877;
constexpr double kChi2Crit999Df14 = 36.123;

// Raw moments E[X^k], k = 1..4, of the common building blocks, for mixtures.
struct Raw {
  double m1, m2, m3, m4;
};
Raw normal_raw(double mu, double s) {
  return {mu, mu * mu + s * s, mu * mu * mu + 3 * mu * s * s,
          mu * mu * mu * mu + 6 * mu * mu * s * s + 3 * s * s * s * s};
}
Raw exponential_raw(double theta) {  // E[X^k] = k! theta^k
  return {theta, 2 * theta * theta, 6 * theta * theta * theta, 24 * theta * theta * theta * theta};
}
Raw uniform_raw(double a, double b) {  // E[X^k] = (b^(k+1) - a^(k+1)) / ((k+1)(b-a))
  auto m = [&](int k) {
    if (a == b) return std::pow(a, k);
    return (std::pow(b, k + 1) - std::pow(a, k + 1)) / ((k + 1) * (b - a));
  };
  return {m(1), m(2), m(3), m(4)};
}
struct Central {
  double mean, var, kurtosis;
};
Central central(const Raw& r) {
  const double mu = r.m1;
  const double var = r.m2 - mu * mu;
  const double mu4 = r.m4 - 4 * mu * r.m3 + 6 * mu * mu * r.m2 - 3 * mu * mu * mu * mu;
  return {mu, var, mu4 / (var * var)};
}
Raw weighted(const std::vector<std::pair<double, Raw>>& parts) {
  Raw out{0, 0, 0, 0};
  for (const auto& [w, r] : parts) {
    out.m1 += w * r.m1;
    out.m2 += w * r.m2;
    out.m3 += w * r.m3;
    out.m4 += w * r.m4;
  }
  return out;
}

// sum_{k=lo..hi} k^-e: exact below 1000, then Euler-Maclaurin with two correction terms,
// whose remainder is of order f^(5)(1000)/30240, below 1e-20 here.
double power_sum(uint64_t lo, uint64_t hi, double e) {
  double s = 0;
  uint64_t k = lo;
  for (; k <= hi && k < 1000; ++k)
    s += std::pow(static_cast<double>(k), -e);
  if (k > hi) return s;
  const double a = static_cast<double>(k), b = static_cast<double>(hi);
  auto f = [e](double x) { return std::pow(x, -e); };
  auto f1 = [e](double x) { return -e * std::pow(x, -e - 1); };
  auto f3 = [e](double x) { return -e * (e + 1) * (e + 2) * std::pow(x, -e - 3); };
  const double integral =
      std::abs(1 - e) < 1e-12
          ? std::log(b / a)
          : std::pow(a, 1 - e) * std::expm1((1 - e) * std::log(b / a)) / (1 - e);
  return s + integral + 0.5 * (f(a) + f(b)) + (f1(b) - f1(a)) / 12 - (f3(b) - f3(a)) / 720;
}

}  // namespace

TEST_CASE("distribution: the normal quantile constants of this file", "[distribution]") {
  for (const auto& z : kZ)
    CHECK(phi_cdf(z.z) == Approx(z.q).margin(1e-15));
}

TEST_CASE("distribution: constant", "[distribution]") {
  const auto d = Distribution::constant(4.5);
  CHECK(d.kind() == Kind::kConstant);
  const auto cs = draw(d, 1, 1000);
  CHECK(std::all_of(cs.begin(), cs.end(), [](double x) { return x == 4.5; }));
  CHECK(d.mean() == 4.5);
  CHECK(d.cdf(4.4) == 0);
  CHECK(d.cdf(4.5) == 1);
  CHECK(d.quantile(0.3) == 4.5);
  CHECK(d.min_value() == 4.5);
  CHECK_FALSE(d.can_be_negative());
  CHECK(Distribution::constant(-1).can_be_negative());
  const Distribution def;
  CHECK(def.kind() == Kind::kConstant);
  CHECK(def.mean() == 0);
  CHECK(def.dim() == Dim::kNumber);
}

TEST_CASE("distribution: uniform", "[distribution]") {
  const double a = 2, b = 10;
  const auto d = Distribution::uniform(a, b);
  CHECK(d.kind() == Kind::kUniform);
  const auto xs = draw(d, 2);
  CHECK(std::all_of(xs.begin(), xs.end(), [&](double x) { return x >= a && x < b; }));
  const Central c = central(uniform_raw(a, b));
  CHECK(c.var == Approx((b - a) * (b - a) / 12));  // the helper against the textbook form
  CHECK(c.kurtosis == Approx(1.8));
  CHECK(d.mean() == Approx(6));
  check_moments(xs, 6, (b - a) * (b - a) / 12, 1.8);
  auto q = [&](double p) { return a + p * (b - a); };
  check_quantile_function(d, q);
  check_ecdf(xs, {{0.01, q(0.01)}, {0.25, q(0.25)}, {0.5, q(0.5)}, {0.9, q(0.9)}});
  CHECK(d.cdf(a - 1) == 0);
  CHECK(d.cdf(b + 1) == 1);
  CHECK(d.min_value() == a);
  Rng rng(1, 1);
  CHECK(Distribution::uniform(3, 3).sample(rng) == 3);
}

TEST_CASE("distribution: exponential", "[distribution]") {
  const double mean = 5;
  const auto d = Distribution::exponential(mean);
  CHECK(d.kind() == Kind::kExponential);
  const auto xs = draw(d, 3);
  CHECK(std::all_of(xs.begin(), xs.end(), [](double x) { return x > 0; }));
  CHECK(d.mean() == mean);
  check_moments(xs, mean, mean * mean, 9);
  auto q = [&](double p) { return -mean * std::log(1 - p); };
  check_quantile_function(d, q);
  check_ecdf(xs, {{0.01, q(0.01)}, {0.5, q(0.5)}, {0.9, q(0.9)}, {0.99, q(0.99)}});
  CHECK(d.cdf(-1) == 0);
  CHECK(d.min_value() == 0);
}

TEST_CASE("distribution: normal", "[distribution]") {
  const double mu = 10, s = 2;
  const auto d = Distribution::normal(mu, s);
  CHECK(d.kind() == Kind::kNormal);
  const auto xs = draw(d, 4);
  CHECK(d.mean() == mu);
  check_moments(xs, mu, s * s, 3);
  std::vector<std::pair<double, double>> qx;
  for (const auto& z : kZ) {
    qx.emplace_back(z.q, mu + s * z.z);
    CHECK(d.quantile(z.q) == Approx(mu + s * z.z).epsilon(1e-9));
    CHECK(d.cdf(mu + s * z.z) == Approx(z.q).margin(1e-12));
  }
  check_ecdf(xs, qx);
  CHECK(d.can_be_negative());
  CHECK(d.min_value() == -kInf);
  // A degenerate normal is a constant.
  const auto c = Distribution::normal(3, 0);
  CHECK(c.cdf(2.999) == 0);
  CHECK(c.cdf(3) == 1);
  CHECK(c.quantile(0.5) == Approx(3));
  CHECK(c.min_value() == 3);
}

TEST_CASE("distribution: lognormal by mu and sigma", "[distribution]") {
  const double mu = 0.5, s = 0.5;
  const auto d = Distribution::lognormal(mu, s);
  CHECK(d.kind() == Kind::kLognormal);
  const auto xs = draw(d, 5);
  CHECK(std::all_of(xs.begin(), xs.end(), [](double x) { return x > 0; }));
  const double w = std::exp(s * s);
  const double mean = std::exp(mu + s * s / 2);
  const double var = (w - 1) * std::exp(2 * mu + s * s);
  const double kurtosis = w * w * w * w + 2 * w * w * w + 3 * w * w - 3;
  CHECK(d.mean() == Approx(mean).epsilon(1e-12));
  check_moments(xs, mean, var, kurtosis);
  std::vector<std::pair<double, double>> qx;
  for (const auto& z : kZ) {
    const double x = std::exp(mu + s * z.z);
    qx.emplace_back(z.q, x);
    CHECK(d.quantile(z.q) == Approx(x).epsilon(1e-9));
    CHECK(d.cdf(x) == Approx(z.q).margin(1e-12));
  }
  check_ecdf(xs, qx);
  CHECK(d.cdf(0) == 0);
  CHECK(d.cdf(-1) == 0);
  CHECK_FALSE(d.can_be_negative());
}

TEST_CASE("distribution: lognormal by median and p99", "[distribution]") {
  const double median = 2e6, p99 = 2e7;
  const auto d = Distribution::lognormal_median_p99(median, p99);
  CHECK(d.kind() == Kind::kLognormal);
  // The inputs come back exactly, up to bisection and erfc rounding.
  CHECK(d.quantile(0.5) == Approx(median).epsilon(1e-12));
  CHECK(d.quantile(0.99) == Approx(p99).epsilon(1e-12));
  CHECK(d.cdf(median) == Approx(0.5).margin(1e-14));
  CHECK(d.cdf(p99) == Approx(0.99).margin(1e-14));
  // Its parameters: mu = ln(median), sigma = ln(p99/median)/z_0.99.
  const double mu = std::log(median), s = std::log(p99 / median) / 2.3263478740408408;
  CHECK(d.mean() == Approx(std::exp(mu + s * s / 2)).epsilon(1e-12));
  const auto xs = draw(d, 6);
  check_ecdf(xs, {{0.1, std::exp(mu + s * kZ[2].z)}, {0.5, median}, {0.99, p99}});
  // Non-round and small values too.
  const auto e = Distribution::lognormal_median_p99(0.37, 1.9);
  CHECK(e.quantile(0.5) == Approx(0.37).epsilon(1e-12));
  CHECK(e.quantile(0.99) == Approx(1.9).epsilon(1e-12));
}

TEST_CASE("distribution: pareto", "[distribution]") {
  {
    // alpha = 3: finite mean alpha*xm/(alpha-1) and variance; kurtosis infinite, so only
    // the mean is checked (its standard error needs only the variance).
    const double xm = 2, alpha = 3;
    const auto d = Distribution::pareto(xm, alpha);
    CHECK(d.kind() == Kind::kPareto);
    const auto xs = draw(d, 7);
    CHECK(std::all_of(xs.begin(), xs.end(), [&](double x) { return x >= xm; }));
    const double mean = alpha * xm / (alpha - 1);
    const double var = xm * xm * alpha / ((alpha - 1) * (alpha - 1) * (alpha - 2));
    CHECK(d.mean() == Approx(mean));
    double m = 0;
    for (double x : xs)
      m += x;
    m /= static_cast<double>(xs.size());
    CHECK(std::abs(m - mean) <= 5 * std::sqrt(var / static_cast<double>(xs.size())));
    auto q = [&](double p) { return xm * std::pow(1 - p, -1 / alpha); };
    check_quantile_function(d, q);
    check_ecdf(xs, {{0.1, q(0.1)}, {0.5, q(0.5)}, {0.99, q(0.99)}, {0.999, q(0.999)}});
    CHECK(d.min_value() == xm);
    CHECK(d.cdf(xm) == 0);
    CHECK(d.cdf(xm / 2) == 0);
  }
  {
    // alpha = 6: the fourth moment exists; excess kurtosis 6(a^3+a^2-6a-2)/(a(a-3)(a-4)).
    const double xm = 1, a = 6;
    const auto d = Distribution::pareto(xm, a);
    const double mean = a * xm / (a - 1);
    const double var = xm * xm * a / ((a - 1) * (a - 1) * (a - 2));
    const double kurtosis = 3 + 6 * (a * a * a + a * a - 6 * a - 2) / (a * (a - 3) * (a - 4));
    check_moments(draw(d, 8), mean, var, kurtosis);
  }
  // The mean does not exist for alpha <= 1.
  CHECK(Distribution::pareto(1, 1).mean() == kInf);
  CHECK(Distribution::pareto(1, 0.5).mean() == kInf);
  CHECK(std::isfinite(Distribution::pareto(1, 1.01).mean()));
  CHECK(Distribution::pareto(2, 1.5).mean() == Approx(6));
}

TEST_CASE("distribution: weibull", "[distribution]") {
  const double lambda = 3, k = 1.5;
  const auto d = Distribution::weibull(lambda, k);
  CHECK(d.kind() == Kind::kWeibull);
  const auto xs = draw(d, 9);
  CHECK(std::all_of(xs.begin(), xs.end(), [](double x) { return x > 0; }));
  // Moments from g_i = Gamma(1 + i/k).
  const double g1 = std::tgamma(1 + 1 / k), g2 = std::tgamma(1 + 2 / k);
  const double g3 = std::tgamma(1 + 3 / k), g4 = std::tgamma(1 + 4 / k);
  const double mean = lambda * g1;
  const double var = lambda * lambda * (g2 - g1 * g1);
  const double mu4 =
      std::pow(lambda, 4) * (g4 - 4 * g3 * g1 + 6 * g2 * g1 * g1 - 3 * std::pow(g1, 4));
  CHECK(d.mean() == Approx(mean).epsilon(1e-12));
  check_moments(xs, mean, var, mu4 / (var * var));
  auto q = [&](double p) { return lambda * std::pow(-std::log(1 - p), 1 / k); };
  check_quantile_function(d, q);
  check_ecdf(xs, {{0.01, q(0.01)}, {0.5, q(0.5)}, {0.9, q(0.9)}, {0.99, q(0.99)}});
  // shape 1 is the exponential.
  const auto e = Distribution::weibull(4, 1);
  CHECK(e.mean() == Approx(4));
  CHECK(e.cdf(4) == Approx(1 - std::exp(-1.0)));
}

TEST_CASE("distribution: zipf fits the exact pmf (chi-square)", "[distribution][zipf]") {
  for (double s : {0.99, 2.0}) {
    INFO("s = " << s);
    constexpr uint64_t n = 10;
    const auto d = Distribution::zipf(n, s);
    CHECK(d.kind() == Kind::kZipf);
    double h = 0;
    for (uint64_t k = 1; k <= n; ++k)
      h += std::pow(static_cast<double>(k), -s);
    std::vector<double> pmf;
    double mean = 0;
    for (uint64_t k = 1; k <= n; ++k) {
      pmf.push_back(std::pow(static_cast<double>(k), -s) / h);
      mean += static_cast<double>(k) * pmf.back();
    }
    CHECK(d.mean() == Approx(mean).epsilon(1e-12));
    constexpr uint64_t draws = 100'000;
    std::vector<uint64_t> counts(n, 0);
    Rng rng(10, stream_id("test-zipf", 0));
    uint64_t not_a_rank = 0;
    for (uint64_t i = 0; i < draws; ++i) {
      const double x = d.sample(rng);
      if (x == std::floor(x) && x >= 1 && x <= static_cast<double>(n)) {
        ++counts[static_cast<size_t>(x) - 1];
      } else {
        ++not_a_rank;
      }
    }
    CHECK(not_a_rank == 0);
    CHECK(chi_square(counts, pmf, draws) < kChi2Crit999Df9);
    // cdf and quantile against the cumulative pmf.
    double cum = 0;
    for (uint64_t k = 1; k <= n; ++k) {
      cum += pmf[k - 1];
      CHECK(d.cdf(static_cast<double>(k)) == Approx(cum).epsilon(1e-12));
      CHECK(d.cdf(static_cast<double>(k) + 0.5) == Approx(cum).epsilon(1e-12));
      // The smallest rank whose cdf reaches p.
      CHECK(d.quantile(cum - 1e-9) == static_cast<double>(k));
      if (k < n) CHECK(d.quantile(cum + 1e-9) == static_cast<double>(k + 1));
    }
    CHECK(d.cdf(0.5) == 0);
    CHECK(d.min_value() == 1);
  }
}

TEST_CASE("distribution: zipf over 1000 ranks fits in bins", "[distribution][zipf]") {
  // Ranks 1..9 one by one, then 6 bins of the tail: 15 bins, 14 degrees of freedom.
  constexpr uint64_t n = 1000;
  const double s = 0.99;
  const auto d = Distribution::zipf(n, s);
  const std::vector<uint64_t> edges = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 50, 100, 200, 500, 1001};
  const double h = power_sum(1, n, s);
  std::vector<double> probs;
  for (size_t i = 0; i + 1 < edges.size(); ++i)
    probs.push_back(power_sum(edges[i], edges[i + 1] - 1, s) / h);
  constexpr uint64_t draws = 200'000;
  std::vector<uint64_t> counts(probs.size(), 0);
  Rng rng(11, stream_id("test-zipf", 1));
  uint64_t not_a_rank = 0;
  for (uint64_t i = 0; i < draws; ++i) {
    const double x = d.sample(rng);
    if (!(x >= 1 && x <= static_cast<double>(n))) {
      ++not_a_rank;
      continue;
    }
    const auto k = static_cast<uint64_t>(x);
    const auto bin = std::upper_bound(edges.begin(), edges.end(), k) - edges.begin() - 1;
    ++counts[static_cast<size_t>(bin)];
  }
  CHECK(not_a_rank == 0);
  CHECK(chi_square(counts, probs, draws) < kChi2Crit999Df14);
  CHECK(d.mean() == Approx(power_sum(1, n, s - 1) / h).epsilon(1e-12));
}

TEST_CASE("distribution: zipf mean for large n", "[distribution][zipf]") {
  // Beyond 2^22 ranks the implementation sums part of the series by an integral; the
  // reference here is an independent Euler-Maclaurin sum (error far below 1e-12).
  struct Case {
    uint64_t n;
    double s;
  };
  for (const Case c : {Case{uint64_t{1} << 30, 0.99}, Case{uint64_t{1} << 40, 1.0},
                       Case{5'000'000, 1.5}, Case{(uint64_t{1} << 22) + 1, 0.5}}) {
    INFO("n = " << c.n << ", s = " << c.s);
    const auto d = Distribution::zipf(c.n, c.s);
    const double expected = power_sum(1, c.n, c.s - 1) / power_sum(1, c.n, c.s);
    CHECK(d.mean() == Approx(expected).epsilon(1e-9));
    const auto ks = draw(d, 12, 1000);
    CHECK(std::all_of(ks.begin(), ks.end(),
                      [&](double k) { return k >= 1 && k <= static_cast<double>(c.n); }));
  }
  CHECK(Distribution::zipf(1, 1.0).mean() == 1);
  Rng rng(1, 2);
  CHECK(Distribution::zipf(1, 1.0).sample(rng) == 1);
}

TEST_CASE("distribution: mixture", "[distribution]") {
  // 0.7 * normal(0, 1) + 0.3 * exponential(mean=4): moments from the raw moments.
  const auto d = Distribution::mixture(
      {{0.7, Distribution::normal(0, 1)}, {0.3, Distribution::exponential(4)}});
  CHECK(d.kind() == Kind::kMixture);
  const Central c = central(weighted({{0.7, normal_raw(0, 1)}, {0.3, exponential_raw(4)}}));
  CHECK(d.mean() == Approx(c.mean).epsilon(1e-12));
  const auto xs = draw(d, 13);
  check_moments(xs, c.mean, c.var, c.kurtosis);
  auto cdf = [](double x) {
    return 0.7 * phi_cdf(x) + 0.3 * (x <= 0 ? 0.0 : 1 - std::exp(-x / 4));
  };
  std::vector<std::pair<double, double>> qx;
  for (double q : kProbabilities) {
    const double x = d.quantile(q);
    CHECK(cdf(x) == Approx(q).margin(1e-9));
    CHECK(d.cdf(x) == Approx(q).margin(1e-9));
    qx.emplace_back(q, x);
  }
  check_ecdf(xs, qx);
  CHECK(d.min_value() == -kInf);

  // Weights are normalised: 2:6 is 0.25:0.75.
  const auto a =
      Distribution::mixture({{2, Distribution::constant(1)}, {6, Distribution::uniform(10, 20)}});
  const auto b = Distribution::mixture(
      {{0.25, Distribution::constant(1)}, {0.75, Distribution::uniform(10, 20)}});
  CHECK(a.mean() == Approx(0.25 * 1 + 0.75 * 15));
  CHECK(a.mean() == Approx(b.mean()));
  for (double x : {0.0, 1.0, 12.0, 20.0})
    CHECK(a.cdf(x) == Approx(b.cdf(x)));
  const auto ys = draw(a, 14);
  check_ecdf(ys, {{0.25, 1.0}, {0.25 + 0.75 * 0.5, 15.0}});
  CHECK(a.min_value() == 1);
  // A mixture takes the dimension of its first component.
  const auto t = Distribution::mixture(
      {{1, Distribution::exponential(1e6).with_dim(Dim::kTime)}, {1, Distribution::constant(5)}});
  CHECK(t.dim() == Dim::kTime);
}

TEST_CASE("distribution: empirical CDF (piecewise linear)", "[distribution][empirical]") {
  // An atom of 0.1 at 1, then uniform pieces: 0.4 on [1,2], 0.4 on [2,4], 0.1 on [4,10].
  const auto d = Distribution::empirical_cdf({{1, 0.1}, {2, 0.5}, {4, 0.9}, {10, 1.0}});
  CHECK(d.kind() == Kind::kEmpirical);
  const Raw raw = weighted({{0.1, uniform_raw(1, 1)},
                            {0.4, uniform_raw(1, 2)},
                            {0.4, uniform_raw(2, 4)},
                            {0.1, uniform_raw(4, 10)}});
  const Central c = central(raw);
  CHECK(d.mean() == Approx(c.mean).epsilon(1e-12));
  const auto xs = draw(d, 15);
  CHECK(std::all_of(xs.begin(), xs.end(), [](double x) { return x >= 1 && x <= 10; }));
  check_moments(xs, c.mean, c.var, c.kurtosis);
  // Quantiles by inverting the pieces by hand.
  const std::vector<std::pair<double, double>> qx = {{0.1, 1.0}, {0.3, 1.5},  {0.5, 2.0},
                                                     {0.7, 3.0}, {0.95, 7.0}, {0.99, 9.4}};
  check_ecdf(xs, qx);
  for (const auto& [q, x] : qx) {
    CHECK(d.cdf(x) == Approx(q).margin(1e-12));
    CHECK(d.quantile(q) == Approx(x).epsilon(1e-9));
  }
  CHECK(d.quantile(0.05) == Approx(1));  // inside the atom
  CHECK(d.cdf(0.999) == 0);
  CHECK(d.cdf(10) == 1);
  CHECK(d.cdf(11) == 1);
  CHECK(d.min_value() == 1);
  // The atom: about 10% of draws are exactly 1.
  const double at_one = static_cast<double>(std::count(xs.begin(), xs.end(), 1.0)) / kN;
  CHECK(std::abs(at_one - 0.1) <= 5 * std::sqrt(0.1 * 0.9 / kN));

  // A vertical step (two points at one value) is an atom in the middle.
  const auto step = Distribution::empirical_cdf({{0, 0}, {1, 0.2}, {1, 0.6}, {2, 1}});
  CHECK(step.cdf(1) == Approx(0.6));
  CHECK(step.cdf(0.5) == Approx(0.1));
  CHECK(step.quantile(0.4) == Approx(1));
  CHECK(step.mean() == Approx(0.2 * 0.5 + 0.4 * 1 + 0.4 * 1.5));
  const auto ys = draw(step, 16);
  const double at_step = static_cast<double>(std::count(ys.begin(), ys.end(), 1.0)) / kN;
  CHECK(std::abs(at_step - 0.4) <= 5 * std::sqrt(0.4 * 0.6 / kN));
}

TEST_CASE("distribution: empirical samples (each equally likely)", "[distribution][empirical]") {
  const std::vector<double> values = {3, 1, 4, 1, 5, 9, 2, 6};
  const auto d = Distribution::empirical_samples(values);
  CHECK(d.kind() == Kind::kEmpirical);
  // Moments of the discrete uniform over the values.
  Raw raw{0, 0, 0, 0};
  for (double v : values) {
    raw.m1 += v / 8;
    raw.m2 += v * v / 8;
    raw.m3 += v * v * v / 8;
    raw.m4 += v * v * v * v / 8;
  }
  const Central c = central(raw);
  CHECK(d.mean() == Approx(31.0 / 8));
  const auto xs = draw(d, 17);
  check_moments(xs, c.mean, c.var, c.kurtosis);
  // Chi-square over the 7 distinct values (1 has probability 2/8): 6 degrees of freedom.
  const std::vector<double> distinct = {1, 2, 3, 4, 5, 6, 9};
  std::vector<double> probs;
  std::vector<uint64_t> counts(distinct.size(), 0);
  for (double v : distinct)
    probs.push_back(static_cast<double>(std::count(values.begin(), values.end(), v)) / 8);
  int unknown = 0;
  for (double x : xs) {
    const auto it = std::find(distinct.begin(), distinct.end(), x);
    if (it == distinct.end()) {
      ++unknown;
    } else {
      ++counts[static_cast<size_t>(it - distinct.begin())];
    }
  }
  CHECK(unknown == 0);
  CHECK(chi_square(counts, probs, kN) < kChi2Crit999Df6);
  // The step CDF and its inverse: the smallest sample whose cdf reaches p.
  CHECK(d.cdf(0.5) == 0);
  CHECK(d.cdf(1) == Approx(2.0 / 8));
  CHECK(d.cdf(4.5) == Approx(5.0 / 8));
  CHECK(d.cdf(9) == 1);
  CHECK(d.quantile(0) == 1);
  CHECK(d.quantile(0.25) == 1);
  CHECK(d.quantile(0.26) == 2);
  CHECK(d.quantile(0.5) == 3);
  CHECK(d.quantile(0.51) == 4);
  CHECK(d.quantile(1) == 9);
  CHECK(d.min_value() == 1);
  for (double v : distinct)
    CHECK(d.quantile(d.cdf(v)) == v);
}

TEST_CASE("distribution: cdf and quantile round-trip", "[distribution]") {
  const std::vector<Distribution> continuous = {
      Distribution::uniform(-3, 7),
      Distribution::exponential(2e6),
      Distribution::normal(-5, 3),
      Distribution::lognormal(1, 0.8),
      Distribution::lognormal_median_p99(1e6, 5e7),
      Distribution::pareto(0.5, 2.5),
      Distribution::weibull(10, 0.7),
      Distribution::mixture(
          {{0.9, Distribution::exponential(1e6)}, {0.1, Distribution::pareto(5e6, 2)}}),
      Distribution::empirical_cdf({{0, 0}, {1, 0.3}, {5, 0.9}, {6, 1}}),
  };
  for (const auto& d : continuous) {
    INFO(d.describe());
    double prev = -kInf;
    for (int i = 1; i < 1000; ++i) {
      const double p = i / 1000.0;
      const double x = d.quantile(p);
      CHECK(d.cdf(x) == Approx(p).margin(1e-9));
      CHECK(x >= prev);  // quantile is non-decreasing
      prev = x;
    }
  }
}

TEST_CASE("distribution: sample_duration truncates a normal at 0", "[distribution]") {
  // normal(1ms, 1ms) truncated to [0, inf): with a = (0 - mu)/sd = -1 and
  // lambda = phi(a)/(1 - Phi(a)), the mean is mu + sd*lambda and the variance
  // sd^2 (1 + a*lambda - lambda^2). Rounding to whole nanoseconds moves the mean by at most
  // 0.5ns, added to the 5 standard errors.
  const double mu = 1e6, sd = 1e6;
  const auto d = Distribution::normal(mu, sd).with_dim(Dim::kTime);
  const double a = -mu / sd;
  const double lambda = phi_pdf(a) / (1 - phi_cdf(a));
  const double mean = mu + sd * lambda;
  const double var = sd * sd * (1 + a * lambda - lambda * lambda);
  Rng rng(18, 0);
  double sum = 0;
  int negative = 0;
  for (int i = 0; i < kN; ++i) {
    const Duration x = d.sample_duration(rng);
    negative += x < Duration::zero() ? 1 : 0;
    sum += static_cast<double>(x.ns());
  }
  CHECK(negative == 0);
  CHECK(std::abs(sum / kN - mean) <= 5 * std::sqrt(var / kN) + 0.5);
  // The untruncated mean is far outside that band: the test can tell the difference.
  CHECK(std::abs(mu - mean) > 50 * std::sqrt(var / kN));
}

TEST_CASE("distribution: sample_duration and sample_count round", "[distribution]") {
  Rng rng(19, 0);
  CHECK(Distribution::constant(2.6).sample_duration(rng) == nanoseconds(3));
  CHECK(Distribution::constant(2.4).sample_duration(rng) == nanoseconds(2));
  CHECK(Distribution::constant(5e6).sample_duration(rng) == ms(5));
  CHECK(Distribution::constant(2.6).sample_count(rng) == 3);
  // Heavy tails never wrap to negative durations.
  const auto heavy = Distribution::pareto(1e18, 0.05);
  int below_xm = 0;
  for (int i = 0; i < 1000; ++i)
    below_xm += heavy.sample_duration(rng) < nanoseconds(1'000'000'000'000'000'000) ? 1 : 0;
  CHECK(below_xm == 0);
  // Zipf counts are ranks.
  const auto z = Distribution::zipf(10, 1);
  int not_a_rank = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t k = z.sample_count(rng);
    not_a_rank += k >= 1 && k <= 10 ? 0 : 1;
  }
  CHECK(not_a_rank == 0);
  // A count of uniform(0, 1) rounds to 1 with probability 1/2.
  constexpr int n = 100'000;
  int ones = 0, above_one = 0;
  const auto u = Distribution::uniform(0, 1);
  for (int i = 0; i < n; ++i) {
    const uint64_t k = u.sample_count(rng);
    above_one += k > 1 ? 1 : 0;
    ones += k == 1 ? 1 : 0;
  }
  CHECK(above_one == 0);
  CHECK(std::abs(static_cast<double>(ones) / n - 0.5) <= 5 * std::sqrt(0.25 / n));
  // Counts of a normal are truncated at 0 too.
  const auto nn = Distribution::normal(1, 3);
  int huge = 0;  // a negative draw cast to uint64_t would be huge
  for (int i = 0; i < 1000; ++i)
    huge += nn.sample_count(rng) < 100 ? 0 : 1;
  CHECK(huge == 0);
}

TEST_CASE("distribution: sampling is deterministic", "[distribution]") {
  const auto d = Distribution::mixture(
      {{0.5, Distribution::lognormal(0, 1)}, {0.5, Distribution::zipf(100, 1.1)}});
  CHECK(draw(d, 20, 1000) == draw(d, 20, 1000));
  CHECK(draw(d, 20, 1000) != draw(d, 21, 1000));
}

TEST_CASE("distribution: describe gives the canonical syntax", "[distribution][describe]") {
  const Dim t = Dim::kTime;
  CHECK(Distribution::exponential(5e6).with_dim(t).describe() == "exponential(mean=5ms)");
  CHECK(Distribution::constant(5e6).with_dim(t).describe() == "5ms");
  CHECK(Distribution::uniform(1e6, 3e6).with_dim(t).describe() == "uniform(1ms, 3ms)");
  CHECK(Distribution::normal(1e7, 2e6).with_dim(t).describe() == "normal(mean=10ms, stddev=2ms)");
  CHECK(Distribution::lognormal_median_p99(2e6, 2e7).with_dim(t).describe() ==
        "lognormal(median=2ms, p99=20ms)");
  CHECK(Distribution::pareto(2e5, 3).with_dim(t).describe() == "pareto(xm=200us, alpha=3)");
  CHECK(Distribution::weibull(1e7, 1.5).with_dim(t).describe() == "weibull(scale=10ms, shape=1.5)");
  CHECK(Distribution::zipf(1000, 0.99).describe() == "zipf(n=1000, s=0.99)");
  CHECK(Distribution::mixture({{0.9, Distribution::exponential(1e6).with_dim(t)},
                               {0.1, Distribution::pareto(5e6, 2).with_dim(t)}})
            .describe() == "mixture(0.9*exponential(mean=1ms), 0.1*pareto(xm=5ms, alpha=2))");
  // Plain numbers and sizes.
  CHECK(Distribution::exponential(2.5).describe() == "exponential(mean=2.5)");
  CHECK(Distribution::uniform(1, 3).describe() == "uniform(1, 3)");
  CHECK(Distribution::constant(65536).with_dim(Dim::kBytes).describe() == "64KiB");
  CHECK(Distribution::uniform(1024, 1500).with_dim(Dim::kBytes).describe() ==
        "uniform(1KiB, 1500B)");
  CHECK(Distribution::lognormal_median_p99(2.5, 20).describe() == "lognormal(median=2.5, p99=20)");
  CHECK(Distribution::lognormal_median_p99(0.5, 4).describe() == "lognormal(median=0.5, p99=4)");
  CHECK(Distribution::lognormal(1.5, 0.25).describe() == "lognormal(mu=1.5, sigma=0.25)");
  // For times, mu is the mean of ln(value in seconds) (see distribution_parse.h).
  CHECK(Distribution::lognormal(std::log(1e9), 0.5).with_dim(t).describe() ==
        "lognormal(mu=0, sigma=0.5)");
}

TEST_CASE("distribution: with_dim keeps the values", "[distribution]") {
  const auto d = Distribution::exponential(5e6);
  const auto t = d.with_dim(Dim::kTime);
  CHECK(d.dim() == Dim::kNumber);
  CHECK(t.dim() == Dim::kTime);
  CHECK(t.mean() == d.mean());
  CHECK(draw(t, 22, 100) == draw(d, 22, 100));
}

TEST_CASE("distribution: invalid parameters throw", "[distribution]") {
  using D = Distribution;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(D::constant(kInf), std::invalid_argument);
  CHECK_THROWS_AS(D::constant(nan), std::invalid_argument);
  CHECK_THROWS_AS(D::uniform(2, 1), std::invalid_argument);
  CHECK_THROWS_AS(D::uniform(0, kInf), std::invalid_argument);
  CHECK_THROWS_AS(D::exponential(0), std::invalid_argument);
  CHECK_THROWS_AS(D::exponential(-1), std::invalid_argument);
  CHECK_THROWS_AS(D::exponential(nan), std::invalid_argument);
  CHECK_THROWS_AS(D::normal(0, -1), std::invalid_argument);
  CHECK_THROWS_AS(D::normal(nan, 1), std::invalid_argument);
  CHECK_THROWS_AS(D::lognormal(0, -0.1), std::invalid_argument);
  CHECK_THROWS_AS(D::lognormal(kInf, 1), std::invalid_argument);
  CHECK_THROWS_AS(D::lognormal_median_p99(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(D::lognormal_median_p99(2, 1), std::invalid_argument);
  CHECK_THROWS_AS(D::lognormal_median_p99(2, 2), std::invalid_argument);
  CHECK_THROWS_AS(D::lognormal_median_p99(1, kInf), std::invalid_argument);
  CHECK_THROWS_AS(D::pareto(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(D::pareto(1, 0), std::invalid_argument);
  CHECK_THROWS_AS(D::pareto(-1, 2), std::invalid_argument);
  CHECK_THROWS_AS(D::weibull(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(D::weibull(1, 0), std::invalid_argument);
  CHECK_THROWS_AS(D::zipf(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(D::zipf(10, 0), std::invalid_argument);
  CHECK_THROWS_AS(D::zipf(10, -1), std::invalid_argument);
  CHECK_THROWS_AS(D::zipf((uint64_t{1} << 40) + 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(D::mixture({}), std::invalid_argument);
  CHECK_THROWS_AS(D::mixture({{0, D::constant(1)}}), std::invalid_argument);
  CHECK_THROWS_AS(D::mixture({{1, D::constant(1)}, {-1, D::constant(2)}}), std::invalid_argument);
  CHECK_THROWS_AS(D::empirical_cdf({}), std::invalid_argument);
  CHECK_THROWS_AS(D::empirical_cdf({{2, 0.5}, {1, 1}}), std::invalid_argument);
  CHECK_THROWS_AS(D::empirical_cdf({{1, 0.6}, {2, 0.5}, {3, 1}}), std::invalid_argument);
  CHECK_THROWS_AS(D::empirical_cdf({{1, 0.5}, {2, 0.9}}), std::invalid_argument);
  CHECK_THROWS_AS(D::empirical_cdf({{1, -0.1}, {2, 1}}), std::invalid_argument);
  CHECK_THROWS_AS(D::empirical_cdf({{1, 0.5}, {2, 1.5}}), std::invalid_argument);
  CHECK_THROWS_AS(D::empirical_cdf({{nan, 0.5}, {2, 1}}), std::invalid_argument);
  CHECK_THROWS_AS(D::empirical_samples({}), std::invalid_argument);
  CHECK_THROWS_AS(D::empirical_samples({1, nan}), std::invalid_argument);
  CHECK_NOTHROW(D::empirical_cdf({{7, 1}}));
  CHECK_NOTHROW(D::uniform(1, 1));
}
