// Failure detectors: how a node comes to suspect a peer it cannot see fail. Each takes
// what the node observes (a peer was heard from, a request to it timed out) with times of
// the node's own clock, and answers suspected(peer, now); peers are small integers the
// model chooses (a node id, an index in a group). Like real detectors they are wrong in
// both directions: a slow or partitioned peer is suspected though alive (a false
// positive), and a dead one is suspected only after the detector's delay.
//
// - HeartbeatDetector: a peer not heard from for longer than a timeout is suspected (the
//   primary-backup monitors: "heartbeats with timeouts").
// - SuspicionList: a peer that failed to answer is suspected for a while, until it is
//   heard from again (Dynamo's local failure detection, DeCandia et al. 2007, 4.8.3).
// - PhiAccrualDetector: suspicion as a level, phi = -log10 P(a heartbeat this late),
//   from the observed heartbeat intervals (Hayashibara et al. 2004; Cassandra and Akka),
//   with Akka's acceptable heartbeat pause.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "sim/core/time.h"

namespace dsim::kit {

class HeartbeatDetector {
 public:
  explicit HeartbeatDetector(Duration timeout) : timeout_(timeout) {}

  /// Watches peers 0 .. n-1, each treated as heard at `now` (a grace period at start).
  void watch(size_t n, SimTime now) { last_.assign(n, now); }
  void heard(uint32_t peer, SimTime now) {
    if (peer < last_.size() && now > last_[peer]) last_[peer] = now;
  }
  /// Not heard from for longer than the timeout.
  bool suspected(uint32_t peer, SimTime now) const {
    return peer < last_.size() && now - last_[peer] > timeout_;
  }
  SimTime last_heard(uint32_t peer) const { return peer < last_.size() ? last_[peer] : SimTime(); }
  Duration timeout() const { return timeout_; }

 private:
  Duration timeout_;
  std::vector<SimTime> last_;
};

class SuspicionList {
 public:
  explicit SuspicionList(Duration suspect_for) : suspect_for_(suspect_for) {}

  /// `peer` failed to answer: suspected until now + suspect_for (or until heard from).
  /// True when it was not suspected already.
  bool suspect(uint32_t peer, SimTime now) {
    const bool fresh = !suspected(peer, now);
    until_[peer] = now + suspect_for_;
    return fresh;
  }
  void heard(uint32_t peer) { until_.erase(peer); }
  bool suspected(uint32_t peer, SimTime now) const {
    auto it = until_.find(peer);
    return it != until_.end() && it->second > now;
  }

 private:
  Duration suspect_for_;
  std::map<uint32_t, SimTime> until_;
};

class PhiAccrualDetector {
 public:
  /// How heartbeat intervals are assumed to be distributed: normal (Akka, Hayashibara et
  /// al.) or exponential (Cassandra).
  enum class Model : uint8_t { kNormal, kExponential };
  struct Config {
    Model model = Model::kNormal;
    uint32_t window = 1000;  ///< intervals kept per peer
    double threshold = 8;    ///< phi above this: suspected
    /// Floor of the standard deviation (normal), so a perfectly regular peer is not
    /// suspected the instant a heartbeat is a little late.
    Duration min_std_dev = ms(100);
    /// Assumed before the second heartbeat (one interval gives no spread).
    Duration first_interval = seconds(1);
    /// Added to the mean interval before phi is computed, in both models (Akka's
    /// acceptable-heartbeat-pause): a pause this much longer than the usual interval is
    /// not yet suspicious, whatever the spread the window has seen.
    Duration acceptable_pause = Duration::zero();
  };

  explicit PhiAccrualDetector(Config config) : config_(config) {}

  void heard(uint32_t peer, SimTime now);
  /// Drops what was heard of the peer (it left): its next heartbeat starts a new window.
  void forget(uint32_t peer) { peers_.erase(peer); }
  /// -log10 of the probability that the next heartbeat comes later than `now`, the mean
  /// interval taken `acceptable_pause` longer; 0 for a peer never heard from. Finite however
  /// late (normal_phi).
  double phi(uint32_t peer, SimTime now) const;
  bool suspected(uint32_t peer, SimTime now) const { return phi(peer, now) > config_.threshold; }

 private:
  struct Peer {
    SimTime last;
    std::deque<double> intervals;  // seconds
    double sum = 0;
    double sum_sq = 0;
  };
  Config config_;
  std::map<uint32_t, Peer> peers_;
};

/// -log10 Q(z), Q the upper tail of the standard normal distribution: finite for every
/// finite z, growing as z^2 / (2 ln 10) far in the tail.
double normal_phi(double z);

}  // namespace dsim::kit
