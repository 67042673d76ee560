#include "analysis/oracles/availability.h"

#include <cmath>
#include <stdexcept>

namespace dsim::oracle {

Eigen::VectorXd ctmc_stationary(const Eigen::MatrixXd& Q) {
  // pi Q = 0  <=>  Q^T pi^T = 0; one equation is redundant: replace it by sum(pi) = 1.
  const Eigen::Index n = Q.rows();
  Eigen::MatrixXd A = Q.transpose();
  A.row(n - 1).setOnes();
  Eigen::VectorXd b = Eigen::VectorXd::Zero(n);
  b(n - 1) = 1;
  return A.fullPivLu().solve(b);
}

namespace {

// The generator of the birth-death chain on the number of failed nodes.
Eigen::MatrixXd kofn_generator(const KofN& s) {
  if (s.n < 1 || s.k < 1 || s.k > s.n || s.mttf <= 0 || s.mttr <= 0 || s.crews < 0) {
    throw std::invalid_argument("k-of-n: need 1 <= k <= n, mttf > 0, mttr > 0, crews >= 0");
  }
  Eigen::MatrixXd Q = Eigen::MatrixXd::Zero(s.n + 1, s.n + 1);
  for (int j = 0; j <= s.n; ++j) {
    if (j < s.n) Q(j, j + 1) = (s.n - j) / s.mttf;  // one of the n - j up nodes fails
    const int repairing = s.crews == 0 ? j : std::min(j, s.crews);
    if (j > 0) Q(j, j - 1) = repairing / s.mttr;
    Q(j, j) = -Q.row(j).sum();
  }
  return Q;
}

}  // namespace

Eigen::VectorXd KofN::stationary() const {
  return ctmc_stationary(kofn_generator(*this));
}

double KofN::availability() const {
  const Eigen::VectorXd pi = stationary();
  return pi.head(n - k + 1).sum();  // at most n - k down
}

double KofN::mean_time_to_failure() const {
  // Expected time to absorption from state 0 over the transient states 0..n-k:
  // -Q_TT m = 1.
  const Eigen::MatrixXd Q = kofn_generator(*this);
  const int t = n - k + 1;
  const Eigen::MatrixXd QTT = Q.topLeftCorner(t, t);
  const Eigen::VectorXd m = (-QTT).fullPivLu().solve(Eigen::VectorXd::Ones(t));
  return m(0);
}

double KofN::mean_outage() const {
  // Failure frequency: flow from the last up state (n - k down) into the first down one.
  const Eigen::VectorXd pi = stationary();
  const int j = n - k;
  const double frequency = pi(j) * (n - j) / mttf;
  return (1 - availability()) / frequency;
}

double k_of_n_availability(int k, const std::vector<NodeReliability>& nodes) {
  const int n = static_cast<int>(nodes.size());
  if (n < 1 || n > 12 || k < 1 || k > n) {
    throw std::invalid_argument("k-of-n over distinct nodes: need 1 <= k <= n <= 12");
  }
  const int states = 1 << n;  // bit i set: node i is down
  Eigen::MatrixXd Q = Eigen::MatrixXd::Zero(states, states);
  for (int s = 0; s < states; ++s) {
    for (int i = 0; i < n; ++i) {
      const int bit = 1 << i;
      Q(s, s ^ bit) = (s & bit) ? 1 / nodes[i].mttr : 1 / nodes[i].mttf;
    }
    Q(s, s) = -Q.row(s).sum();
  }
  const Eigen::VectorXd pi = ctmc_stationary(Q);
  double a = 0;
  for (int s = 0; s < states; ++s) {
    if (n - __builtin_popcount(static_cast<unsigned>(s)) >= k) a += pi(s);
  }
  return a;
}

double k_of_n_independent(int k, const std::vector<double>& availabilities) {
  // p[j] = P(exactly j of the blocks seen so far are up).
  std::vector<double> p{1.0};
  for (double a : availabilities) {
    std::vector<double> next(p.size() + 1, 0.0);
    for (size_t j = 0; j < p.size(); ++j) {
      next[j] += p[j] * (1 - a);
      next[j + 1] += p[j] * a;
    }
    p = std::move(next);
  }
  double up = 0;
  for (size_t j = static_cast<size_t>(std::max(k, 0)); j < p.size(); ++j)
    up += p[j];
  return up;
}

Block Block::unit(double availability) {
  Block b;
  b.availability_ = availability;
  return b;
}

Block Block::series(std::vector<Block> parts) {
  Block b;
  b.kind_ = Kind::kSeries;
  b.parts_ = std::move(parts);
  return b;
}

Block Block::parallel(std::vector<Block> parts) {
  Block b;
  b.kind_ = Kind::kParallel;
  b.parts_ = std::move(parts);
  return b;
}

Block Block::k_of_n(int k, std::vector<Block> parts) {
  Block b;
  b.kind_ = Kind::kKofN;
  b.k_ = k;
  b.parts_ = std::move(parts);
  return b;
}

double Block::availability() const {
  std::vector<double> a;
  for (const auto& p : parts_)
    a.push_back(p.availability());
  switch (kind_) {
    case Kind::kUnit:
      return availability_;
    case Kind::kSeries:
      return k_of_n_independent(static_cast<int>(a.size()), a);
    case Kind::kParallel:
      return k_of_n_independent(1, a);
    case Kind::kKofN:
      return k_of_n_independent(k_, a);
  }
  return 0;
}

double nines(double availability) {
  return -std::log10(1 - availability);
}

}  // namespace dsim::oracle
