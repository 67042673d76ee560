// Steady-state availability of replicated systems, as oracles for fault-injection runs:
// k-of-n systems as continuous-time Markov chains (solved with Eigen), and series /
// parallel / k-of-n composition of independent blocks. Times in any one unit.
#pragma once

#include <vector>

#include <Eigen/Dense>

namespace dsim::oracle {

/// One node: up for an exponential time of mean mttf, then down for an exponential
/// repair time of mean mttr.
struct NodeReliability {
  double mttf, mttr;
  double availability() const { return mttf / (mttf + mttr); }
};

/// n identical nodes; the system is up while at least k are up. Failures are independent;
/// `crews` repair crews work on failed nodes, one node each (0: one crew per node, i.e.
/// independent repair). A birth-death chain on the number of failed nodes.
struct KofN {
  int k, n;
  double mttf, mttr;
  int crews = 0;

  /// P(j nodes down) for j = 0..n.
  Eigen::VectorXd stationary() const;
  double availability() const;  ///< P(at least k up)
  /// Mean time from all nodes up until fewer than k are up (first system failure).
  double mean_time_to_failure() const;
  /// Mean length of a system outage: (1 - A) / (failure frequency).
  double mean_outage() const;
};

/// The stationary distribution of a CTMC with generator Q (rows sum to 0; irreducible):
/// pi Q = 0, sum(pi) = 1.
Eigen::VectorXd ctmc_stationary(const Eigen::MatrixXd& Q);

/// k of n nodes that differ (each its own MTTF and MTTR), independent repair: a CTMC on
/// the 2^n up/down states (n <= 12), solved with Eigen.
double k_of_n_availability(int k, const std::vector<NodeReliability>& nodes);

/// P(at least k of independent blocks are up), from their availabilities (exact
/// enumeration by dynamic programming).
double k_of_n_independent(int k, const std::vector<double>& availabilities);

/// A reliability block diagram of independent blocks: series (all needed), parallel
/// (any one suffices) and k-of-n, nested freely.
class Block {
 public:
  static Block unit(double availability);
  static Block node(const NodeReliability& r) { return unit(r.availability()); }
  static Block series(std::vector<Block> parts);
  static Block parallel(std::vector<Block> parts);
  static Block k_of_n(int k, std::vector<Block> parts);
  double availability() const;

 private:
  enum class Kind { kUnit, kSeries, kParallel, kKofN };
  Kind kind_ = Kind::kUnit;
  double availability_ = 1;
  int k_ = 0;
  std::vector<Block> parts_;
};

/// Availability as "nines": -log10(1 - A).
double nines(double availability);

}  // namespace dsim::oracle
