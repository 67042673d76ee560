#include "models/kit/circuit_breaker.h"

namespace dsim::kit {

void read_circuit_breaker(ParamReader& r, CircuitBreakerSpec& s) {
  using K = CircuitBreakerSpec::Kind;
  ParamReader m = r.map("breaker",
                        "a circuit breaker on the calls (default: none): {kind: consecutive, "
                        "failures: 5, open_for: 60s, successes: 1}");
  s.kind = m.choice("kind", K::kConsecutive,
                    {{"consecutive", K::kConsecutive},
                     {"cumulative", K::kCumulative},
                     {"rate", K::kRate},
                     {"slow_rate", K::kSlowRate}},
                    "what opens it: failures in a row, failures since it closed, or the share "
                    "of failed (or slow) calls among the last `window`");
  const bool counted = s.kind == K::kConsecutive || s.kind == K::kCumulative;
  if (counted || m.doc_mode()) {
    s.failures = static_cast<uint32_t>(m.integer(
        "failures", s.failures, "consecutive, cumulative: failures that open it", 1, 1'000'000));
  }
  s.open_for = m.duration("open_for", s.open_for, "time open before trial calls go through");
  s.half_open_calls = static_cast<uint32_t>(
      m.integer("half_open_calls", s.half_open_calls,
                "trial calls let through at once when half-open", 1, 1'000'000));
  s.successes = static_cast<uint32_t>(
      m.integer("successes", s.successes, "trial successes that close it", 1, 1'000'000));
  if (!counted || m.doc_mode()) {
    s.window = static_cast<uint32_t>(
        m.integer("window", s.window, "rate, slow_rate: the last calls counted", 1, 1'000'000));
    s.min_calls = static_cast<uint32_t>(
        m.integer("min_calls", s.min_calls, "rate, slow_rate: calls needed before it may open", 1,
                  1'000'000));
    s.failure_rate = m.probability("failure_rate", s.failure_rate,
                                   "rate, slow_rate: the share of the window that opens it");
  }
  if (s.kind == K::kSlowRate || m.doc_mode()) {
    s.slow_call =
        m.duration("slow_call", s.slow_call, "slow_rate: a call at least this long is slow");
  }
  m.finish();
  if (s.open_for <= Duration::zero()) m.error("open_for", "must be > 0");
  if (!counted && s.min_calls > s.window) m.error("min_calls", "cannot exceed window");
  if (!counted && s.failure_rate <= 0) m.error("failure_rate", "must be > 0");
  if (!r.has("breaker")) s.kind = K::kNone;
  r.adopt_if_given("breaker", m);
}

std::string_view breaker_state_name(CircuitBreaker::State s) {
  switch (s) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half_open";
  }
  return "?";
}

bool CircuitBreaker::allow(SimTime now) {
  if (!enabled() || state_ == State::kClosed) return true;
  if (state_ == State::kOpen) {
    if (now - opened_at_ < spec_->open_for) return false;
    state_ = State::kHalfOpen;
    trials_ = 0;
    successes_ = 0;
  }
  if (trials_ >= spec_->half_open_calls) return false;
  ++trials_;
  return true;
}

void CircuitBreaker::record(SimTime now, bool ok, Duration latency) {
  if (!enabled()) return;
  const bool failed =
      !ok || (spec_->kind == CircuitBreakerSpec::Kind::kSlowRate && latency >= spec_->slow_call);
  if (state_ == State::kHalfOpen) {
    if (trials_ > 0) --trials_;
    if (failed) {
      open(now);
    } else if (++successes_ >= spec_->successes) {
      close();
    }
    return;
  }
  if (state_ == State::kOpen) return;  // a call begun before it opened
  if (tripped(failed)) open(now);
}

// Counts a call's outcome while closed: true when the breaker must open.
bool CircuitBreaker::tripped(bool failed) {
  using K = CircuitBreakerSpec::Kind;
  switch (spec_->kind) {
    case K::kNone:
      return false;
    case K::kConsecutive:
      failures_ = failed ? failures_ + 1 : 0;
      return failures_ >= spec_->failures;
    case K::kCumulative:
      failures_ += failed ? 1 : 0;
      return failures_ >= spec_->failures;
    case K::kRate:
    case K::kSlowRate:
      break;
  }
  if (outcomes_.size() < spec_->window) {
    outcomes_.push_back(failed ? 1 : 0);
  } else {
    failed_in_window_ -= outcomes_[next_];
    outcomes_[next_] = failed ? 1 : 0;
    next_ = (next_ + 1) % outcomes_.size();
  }
  failed_in_window_ += failed ? 1 : 0;
  return outcomes_.size() >= spec_->min_calls &&
         static_cast<double>(failed_in_window_) >=
             spec_->failure_rate * static_cast<double>(outcomes_.size());
}

void CircuitBreaker::open(SimTime now) {
  state_ = State::kOpen;
  opened_at_ = now;
  ++opened_;
  trials_ = 0;
}

void CircuitBreaker::close() {
  state_ = State::kClosed;
  failures_ = 0;
  outcomes_.clear();
  next_ = 0;
  failed_in_window_ = 0;
}

}  // namespace dsim::kit
