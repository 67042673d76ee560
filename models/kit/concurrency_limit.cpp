#include "models/kit/concurrency_limit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "sim/core/assert.h"
#include "sim/core/units.h"

namespace dsim::kit {

namespace {

using Kind = ConcurrencyLimitSpec::Kind;
constexpr int64_t kMaxLimit = 1'000'000;
constexpr int64_t kLongWarmup = 10;   // the long RTT is a plain mean of its first samples
constexpr double kLongDecay = 0.95;   // its decay when it is over twice the short RTT
constexpr double kMinGradient = 0.5;  // L shrinks by at most half an estimate at once

void read_gradient(ParamReader& m, ConcurrencyLimitSpec& s) {
  s.tolerance = m.number("tolerance", s.tolerance,
                         "gradient: how many times the long-term RTT the short-term one may be "
                         "before L shrinks",
                         1, 1e6);
  s.smoothing =
      m.number("smoothing", s.smoothing,
               "gradient: the weight of a new estimate of L (1: L is the estimate)", 0, 1);
  s.long_window =
      m.integer("long_window", s.long_window,
                "gradient: the samples the long-term RTT is averaged over", 1, 1'000'000'000);
  const std::string q = m.text("queue_size", "4",
                               "gradient: what L may grow by at each update: an integer >= 0, or "
                               "'sqrt' (the square root of L)");
  if (q == "sqrt") {
    s.queue_size.reset();
    return;
  }
  std::string err;
  const auto n = parse_integer(q, &err);
  if (!n || *n < 0 || *n > kMaxLimit) {
    m.error("queue_size", "expected 'sqrt' or an integer from 0 to 1000000, got '" + q + "'");
  } else {
    s.queue_size = *n;
  }
}

void read_adaptive(ParamReader& m, ConcurrencyLimitSpec& s) {
  s.initial = m.integer("initial", s.initial, "L at the start", 1, kMaxLimit);
  s.min = m.integer("min", s.min, "the lowest L", 1, kMaxLimit);
  s.max = m.integer("max", s.max, "the highest L", 1, kMaxLimit);
  s.window = m.integer("window", s.window,
                       "samples per update: their mean RTT, largest in-flight count and any drop",
                       1, kMaxLimit);
  if (s.kind == Kind::kAimd || m.doc_mode()) {
    s.backoff_ratio =
        m.number("backoff_ratio", s.backoff_ratio,
                 "aimd: L's factor after a drop or a sample over `timeout`, in (0, 1)");
    s.timeout = m.duration("timeout", s.timeout, "aimd: a sample longer than this is a drop");
  }
  if (s.kind == Kind::kGradient || m.doc_mode()) read_gradient(m, s);
}

void check(ParamReader& m, const ConcurrencyLimitSpec& s) {
  if (s.kind == Kind::kFixed) return;
  if (s.min > s.max) {
    m.error("min", "must be <= max (" + std::to_string(s.max) + "), got " + std::to_string(s.min));
  } else if (s.initial < s.min || s.initial > s.max) {
    m.error("initial", "must be from min (" + std::to_string(s.min) + ") to max (" +
                           std::to_string(s.max) + "), got " + std::to_string(s.initial));
  }
  if (s.kind == Kind::kAimd && !(s.backoff_ratio > 0 && s.backoff_ratio < 1))
    m.error("backoff_ratio", "must be > 0 and < 1");
  if (s.kind == Kind::kAimd && s.timeout <= Duration::zero()) m.error("timeout", "must be > 0");
}

}  // namespace

void read_concurrency_limit(ParamReader& r, ConcurrencyLimitSpec& s) {
  ParamReader m = r.map("concurrency_limit",
                        "adaptive load shedding at the door (default: none): {kind: aimd, "
                        "initial: 20, min: 1, max: 200}; a request finding L on the node is "
                        "refused at once (`shed`)");
  s.kind = m.choice("kind", Kind::kAimd,
                    {{"fixed", Kind::kFixed}, {"aimd", Kind::kAimd}, {"gradient", Kind::kGradient}},
                    "how L adapts: not at all, by additive increase and multiplicative decrease "
                    "on drops and slow samples, or by the gradient of the RTT (Netflix's "
                    "AIMDLimit, Gradient2Limit)");
  if (s.kind == Kind::kFixed || m.doc_mode())
    s.initial = m.integer("limit", s.initial, "fixed: L", 1, kMaxLimit);
  if (s.kind != Kind::kFixed || m.doc_mode()) read_adaptive(m, s);
  m.finish();
  check(m, s);
  if (!r.has("concurrency_limit")) s.kind = Kind::kNone;
  r.adopt_if_given("concurrency_limit", m);
}

ConcurrencyLimit::ConcurrencyLimit(const ConcurrencyLimitSpec& spec)
    : spec_(&spec), limit_(spec.initial), estimate_(static_cast<double>(spec.initial)) {}

void ConcurrencyLimit::on_sample(const Sample& s) {
  if (spec_->kind == Kind::kNone || spec_->kind == Kind::kFixed) return;
  ++in_window_;
  window_rtt_sum_ += static_cast<double>(s.rtt.ns());
  window_inflight_ = std::max(window_inflight_, s.inflight);
  window_dropped_ = window_dropped_ || s.dropped;
  if (in_window_ < spec_->window) return;
  update(window_rtt_sum_ / static_cast<double>(in_window_), window_inflight_, window_dropped_);
  in_window_ = 0;
  window_rtt_sum_ = 0;
  window_inflight_ = 0;
  window_dropped_ = false;
}

void ConcurrencyLimit::update(double rtt_ns, int64_t inflight, bool dropped) {
  if (spec_->kind == Kind::kAimd) {
    update_aimd(rtt_ns, inflight, dropped);
  } else {
    update_gradient(rtt_ns, inflight);
  }
  DSIM_ASSERT(limit_ >= spec_->min && limit_ <= spec_->max, "concurrency limit ", limit_,
              " outside [", spec_->min, ", ", spec_->max, "]");
}

// AIMDLimit: back off on a drop or a sample over the timeout; grow by one while the limit
// is being used (at least half of it was on the node).
void ConcurrencyLimit::update_aimd(double rtt_ns, int64_t inflight, bool dropped) {
  if (dropped || rtt_ns > static_cast<double>(spec_->timeout.ns())) {
    const auto backed =
        static_cast<int64_t>(std::floor(static_cast<double>(limit_) * spec_->backoff_ratio));
    limit_ = std::max(spec_->min, backed);
  } else if (inflight * 2 >= limit_) {
    limit_ = std::min(spec_->max, limit_ + 1);
  }
}

// Gradient2Limit: the long-term RTT average against the short-term RTT.
void ConcurrencyLimit::update_gradient(double rtt_ns, int64_t inflight) {
  const double short_rtt = std::max(rtt_ns, 1.0);  // a zero-time sample is a 1 ns one
  if (long_count_ < kLongWarmup) {                 // the mean of the samples so far
    ++long_count_;
    long_sum_ += short_rtt;
    long_rtt_ = long_sum_ / static_cast<double>(long_count_);
  } else {
    const double factor = 2.0 / (static_cast<double>(spec_->long_window) + 1);
    long_rtt_ = long_rtt_ * (1 - factor) + short_rtt * factor;
  }
  const double long_rtt = long_rtt_;  // the gradient uses it before any decay
  if (long_rtt_ / short_rtt > 2) long_rtt_ *= kLongDecay;
  if (static_cast<double>(inflight) < estimate_ / 2) return;  // the limit is not being used
  const double gradient = std::clamp(spec_->tolerance * long_rtt / short_rtt, kMinGradient, 1.0);
  const double queue = spec_->queue_size ? static_cast<double>(*spec_->queue_size)
                                         : std::floor(std::sqrt(std::floor(estimate_)));
  const double target = estimate_ * gradient + queue;
  estimate_ = estimate_ * (1 - spec_->smoothing) + target * spec_->smoothing;
  estimate_ =
      std::clamp(estimate_, static_cast<double>(spec_->min), static_cast<double>(spec_->max));
  limit_ = static_cast<int64_t>(estimate_);
}

void Admission::start(Context& ctx) {
  inflight_ = 0;
  m_shed_ = ctx.intern("shed");
  m_limit_ = ctx.intern("concurrency_limit");
  report(ctx);
}

void Admission::report(Context& ctx) const {
  if (enabled()) ctx.record().level(m_limit_, static_cast<double>(algo_.limit()));
}

void Admission::declare(MetricDecls& d) {
  d.counter("shed");
  d.level("concurrency_limit");
}

std::optional<Admission::Ticket> Admission::enter(Context& ctx) {
  if (enabled() && inflight_ >= algo_.limit()) {
    ctx.record().count(m_shed_);
    return std::nullopt;
  }
  ++inflight_;
  return Ticket{ctx.now(), inflight_};
}

void Admission::leave(Context& ctx, const Ticket& t, bool dropped) {
  DSIM_ASSERT(inflight_ > 0, "a request left a node with none admitted");
  --inflight_;
  if (!enabled()) return;
  const int64_t before = algo_.limit();
  algo_.on_sample({ctx.now() - t.arrived, t.inflight, dropped});
  if (algo_.limit() != before) report(ctx);
}

}  // namespace dsim::kit
