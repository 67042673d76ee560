// Closed-form results of queueing theory, used as oracles for the simulator.
// Rates are per unit of time; times come out in the same unit.
#pragma once

namespace dsim::oracle {

/// M/M/1 (FCFS): the sojourn time (wait + service) is exponential with rate mu - lambda.
struct MM1 {
  double lambda, mu;
  double utilization() const { return lambda / mu; }
  double mean_sojourn() const { return 1.0 / (mu - lambda); }
  double sojourn_quantile(double p) const;
  double sojourn_cdf(double t) const;
};

/// M/M/c (Erlang C): c servers, one FCFS queue, unbounded.
struct MMc {
  double lambda, mu;
  int c;
  double offered_load() const { return lambda / mu; }  ///< A, in Erlang
  double occupancy() const { return lambda / (c * mu); }
  double erlang_b() const;               ///< blocking probability of M/M/c/c with the same load
  double p_wait() const;                 ///< Erlang C: P(an arrival waits)
  double mean_wait() const;              ///< E[W_q]
  double wait_cdf(double t) const;       ///< P(W_q <= t)
  double wait_quantile(double p) const;  ///< 0 when p <= 1 - P(wait)
  double mean_sojourn() const { return mean_wait() + 1 / mu; }
  /// P(W_q + S <= t): the wait (0, or exponential with rate c mu - lambda) plus an
  /// exponential service time.
  double sojourn_cdf(double t) const;
  double sojourn_quantile(double p) const;
};

/// M/M/c/K: c servers, at most K in the system (K >= c); arrivals finding it full are lost.
struct MMcK {
  double lambda, mu;
  int c, K;
  double blocking() const;  ///< P(an arrival finds K in the system)
  double mean_in_system() const;
  /// Of the admitted requests, by Little's law: L / (lambda (1 - blocking)).
  double mean_sojourn() const;
  double utilization() const;  ///< busy servers / c
};

/// The t with cdf(t) = p, by bisection (cdf non-decreasing, cdf(0) <= p < 1).
double invert_cdf(double p, double (*cdf)(const void*, double), const void* ctx);

}  // namespace dsim::oracle
