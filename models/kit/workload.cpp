#include "models/kit/workload.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "sim/core/units.h"

namespace dsim::kit {

// --- the rate over time ------------------------------------------------------------------

double RateProfile::at(Duration t) const {
  double r = base;
  for (const auto& p : schedule) {
    if (t < p.at) break;
    if (p.ramp > Duration::zero() && t < p.at + p.ramp) {
      const double f = static_cast<double>((t - p.at).ns()) / static_cast<double>(p.ramp.ns());
      r += (p.rate - r) * f;
      break;
    }
    r = p.rate;
  }
  if (amplitude > 0) {
    const double phase = 2 * std::numbers::pi * static_cast<double>((t - peak_at).ns()) /
                         static_cast<double>(period.ns());
    r *= 1 + amplitude * std::cos(phase);
  }
  return std::max(0.0, r);
}

double RateProfile::max() const {
  double m = base;
  for (const auto& p : schedule)
    m = std::max(m, p.rate);
  return m * (1 + amplitude);
}

std::optional<Duration> RateProfile::next_positive(Duration t) const {
  if (at(t) > 0) return t;
  for (const auto& p : schedule) {
    for (Duration c : {p.at, p.at + Duration::from_ns(1)}) {
      if (c > t && at(c) > 0) return c;
    }
  }
  return std::nullopt;
}

// --- reading a workload from a scenario ---------------------------------------------------

namespace {

std::vector<RatePoint> read_schedule(ParamReader& r, double base) {
  std::vector<RatePoint> out;
  const ParamNode* list = r.raw("rate_schedule", "list of {at, rate, ramp}",
                                "the rate over time, from the node's start: steps "
                                "[{at: 60s, rate: 500/s}] and linear ramps "
                                "[{at: 60s, rate: 500/s, ramp: 30s}] (poisson and fixed arrivals)",
                                "none");
  if (!list) return out;
  if (list->kind != ParamNode::Kind::kList) {
    r.error("rate_schedule", "expected a list of {at: <duration>, rate: <rate>, ramp: <duration>}");
    return out;
  }
  Duration free_from = Duration::zero();  // where the previous point's ramp ends
  double previous = base;
  for (size_t i = 0; i < list->items.size(); ++i) {
    ParamReader item(&list->items[i], &r.env(),
                     r.path() + ".rate_schedule[" + std::to_string(i) + "]", list->items[i].loc);
    RatePoint p;
    p.at = item.duration("at", p.at, "when the point takes effect");
    p.rate = item.rate("rate", previous, "the rate from then on");
    p.ramp = item.duration("ramp", p.ramp, "reach the rate linearly over this long (0: a step)");
    item.finish();
    if (i > 0 && p.at < free_from) {
      item.error("at", "must be at or after the previous point and its ramp (" +
                           format_duration(free_from) + ")");
    }
    free_from = p.at + p.ramp;
    previous = p.rate;
    out.push_back(p);
  }
  return out;
}

void read_sine(ParamReader& r, RateProfile& profile) {
  ParamReader m = r.map("rate_sine",
                        "a periodic swing of the rate, e.g. a day's: "
                        "{amplitude: 50%, period: 24h, peak_at: 14h}");
  profile.amplitude = m.probability(
      "amplitude", profile.amplitude,
      "the swing: the rate goes from rate * (1 - amplitude) to rate * (1 + amplitude)");
  profile.period = m.duration("period", profile.period, "the length of one cycle");
  profile.peak_at =
      m.duration("peak_at", profile.peak_at,
                 "when the rate peaks, from the node's start (and every period after)");
  m.finish();
  if (profile.period <= Duration::zero()) m.error("period", "must be > 0");
  r.adopt_if_given("rate_sine", m);
}

}  // namespace

void read_load(ParamReader& r, const ArrivalKeys& keys, ArrivalSpec& spec) {
  using Load = ArrivalSpec::Load;
  using Process = ArrivalSpec::Process;
  const std::string one(keys.one);
  const std::string what = one + "s";
  if (keys.closed) {
    spec.load = r.choice("load", spec.load, {{"open", Load::kOpen}, {"closed", Load::kClosed}},
                         "open: " + what +
                             " arrive at a rate; closed: users wait for each answer, "
                             "then think");
  }
  if (keys.bursty) {
    spec.process = r.choice(
        "arrival", spec.process,
        {{"poisson", Process::kPoisson}, {"fixed", Process::kFixed}, {"bursty", Process::kBursty}},
        "open loop: Poisson arrivals, evenly spaced ones, or Poisson "
        "switching between rate and burst_rate");
  } else if (keys.closed) {
    spec.process = r.choice("arrival", spec.process,
                            {{"poisson", Process::kPoisson}, {"fixed", Process::kFixed}},
                            "open loop: Poisson arrivals or evenly spaced ones");
  }
  spec.rate.base = r.rate("rate", spec.rate.base,
                          "open loop: " + what + " per second started by each client node");
  spec.rate.schedule = read_schedule(r, spec.rate.base);
  read_sine(r, spec.rate);
  if (keys.bursty) {
    spec.burst_rate = r.rate("burst_rate", spec.burst_rate, "bursty: the rate during a burst");
    spec.burst_length =
        r.distribution("burst_length", spec.burst_length, "bursty: how long a burst lasts");
    spec.calm_length =
        r.distribution("calm_length", spec.calm_length, "bursty: time between bursts");
  }
  if (keys.closed) {
    spec.users = r.integer("users", spec.users, "closed loop: concurrent users per client node", 1,
                           10'000'000);
    spec.think_time = r.distribution("think_time", spec.think_time,
                                     "closed loop: pause between an answer and the next " + one);
  }
  if (spec.load != Load::kOpen) return;
  if (spec.process == Process::kBursty && spec.rate.varies()) {
    r.error("arrival", "rate_schedule and rate_sine apply to poisson and fixed arrivals");
  }
  const bool bursts = spec.process == Process::kBursty && spec.burst_rate > 0;
  if (spec.rate.max() <= 0 && !bursts) {
    r.error("rate", keys.closed ? "an open-loop client needs a rate > 0" : "must be > 0");
  }
}

void read_key_spec(ParamReader& r, KeySpec& keys) {
  const std::string text = r.text("keys", keys.describe(),
                                  "key distribution: uniform(n), zipf(n, s=0.99), "
                                  "hotspot(n, keys=10%, traffic=90%) or sequential(n)");
  std::string err;
  if (auto k = parse_key_spec(text, &err)) {
    keys = *k;
  } else {
    r.error("keys", err);
  }
}

void read_start_stop(ParamReader& r, const ArrivalKeys& keys, bool with_stop, ArrivalSpec& spec) {
  const std::string one(keys.one);
  spec.start = r.duration("start", spec.start, "when this client starts its first " + one);
  if (!with_stop) return;
  spec.stop =
      r.optional_duration("stop", "when this client stops starting " + one + "s (default: never)");
  if (spec.stop && *spec.stop <= spec.start) r.error("stop", "must be later than start");
}

// --- arrivals ------------------------------------------------------------------------------

void Arrivals::start(Context& ctx) {
  origin_ = ctx.monotonic();
  stopped_ = false;
  if (spec_->stop) ctx.set_timer(*spec_->stop, timers_.tag(static_cast<uint8_t>(Sub::kStop), 0));
  if (spec_->load == ArrivalSpec::Load::kClosed) {
    for (int64_t u = 0; u < spec_->users; ++u) {
      ctx.set_timer(spec_->start,
                    timers_.tag(static_cast<uint8_t>(Sub::kUser), static_cast<uint64_t>(u)));
    }
    return;
  }
  if (spec_->process == ArrivalSpec::Process::kBursty) {
    ctx.set_timer(spec_->start + spec_->calm_length.sample_duration(ctx.rng()),
                  timers_.tag(static_cast<uint8_t>(Sub::kPhase), 0));
  }
  if (spec_->first_at_start) {
    arrival_timer_ =
        ctx.set_timer(spec_->start, timers_.tag(static_cast<uint8_t>(Sub::kArrival), 0));
    return;
  }
  schedule_next(ctx, spec_->start);
}

double Arrivals::current_rate(Duration t) const {
  if (spec_->process == ArrivalSpec::Process::kBursty) {
    return in_burst_ ? spec_->burst_rate : spec_->rate.base;
  }
  return spec_->rate.varies() ? spec_->rate.at(t) : spec_->rate.base;
}

void Arrivals::schedule_next(Context& ctx, Duration not_before) {
  const bool fixed = spec_->process == ArrivalSpec::Process::kFixed;
  const Duration t = since_start(ctx) + not_before;
  double rate = current_rate(t);
  if (spec_->rate.varies() && !fixed) rate = spec_->rate.max();  // thinning's candidates
  Duration gap;
  if (rate > 0) {
    gap = fixed
              ? Duration::from_ns(std::llround(1e9 / rate))
              : Duration::from_ns(std::llround(-std::log(ctx.rng().uniform_open01()) * 1e9 / rate));
  } else if (fixed && spec_->rate.varies()) {
    // No traffic now: wake when the schedule brings some.
    const auto next = spec_->rate.next_positive(t);
    if (!next) return;
    gap = *next - t;
  } else {
    return;  // a calm phase without traffic: the next phase change schedules again
  }
  arrival_timer_ =
      ctx.set_timer(not_before + gap, timers_.tag(static_cast<uint8_t>(Sub::kArrival), 0));
}

bool Arrivals::admit(Context& ctx) {
  if (!spec_->rate.varies() || spec_->process == ArrivalSpec::Process::kBursty) return true;
  const double rate = spec_->rate.at(since_start(ctx));
  const bool keep =
      spec_->process == ArrivalSpec::Process::kFixed
          ? rate > 0
          : rate >= spec_->rate.max() || ctx.rng().uniform01() * spec_->rate.max() < rate;
  if (!keep) schedule_next(ctx, Duration::zero());
  return keep;
}

void Arrivals::switch_phase(Context& ctx) {
  in_burst_ = !in_burst_;
  const Distribution& len = in_burst_ ? spec_->burst_length : spec_->calm_length;
  ctx.set_timer(len.sample_duration(ctx.rng()), timers_.tag(static_cast<uint8_t>(Sub::kPhase), 0));
  // Memorylessness: redraw the next arrival at the new rate from now.
  ctx.cancel_timer(arrival_timer_);
  schedule_next(ctx, Duration::zero());
}

void Arrivals::done(Context& ctx, uint64_t user) {
  if (stopped_ || spec_->load != ArrivalSpec::Load::kClosed) return;
  ctx.set_timer(spec_->think_time.sample_duration(ctx.rng()),
                timers_.tag(static_cast<uint8_t>(Sub::kUser), user));
}

void Arrivals::stop(Context& ctx) {
  stopped_ = true;
  ctx.cancel_timer(arrival_timer_);
}

// --- keys ------------------------------------------------------------------------------------

namespace {

std::string trim(std::string s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

std::vector<std::string> split_args(const std::string& inner) {
  std::vector<std::string> args;
  size_t start = 0;
  for (;;) {
    const size_t comma = inner.find(',', start);
    args.push_back(trim(inner.substr(start, comma == std::string::npos ? comma : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return args;
}

// One `name=value` argument of a key spec after the count; false and *error on bad input.
bool read_key_arg(KeySpec& k, const std::string& name, const std::string& arg,
                  const std::string& usage, std::string* error) {
  const size_t eq = arg.find_first_of("=:");
  const std::string key = eq == std::string::npos ? "" : trim(arg.substr(0, eq));
  const std::string val = eq == std::string::npos ? arg : trim(arg.substr(eq + 1));
  std::string err;
  if (k.kind == KeySpec::Kind::kZipf && key == "new") {
    auto v = parse_rate(val, &err);
    if (!v || !(*v >= 0) || !std::isfinite(*v)) {
      *error = "zipf: new must be a rate of new objects such as 10/s, got '" + val + "'";
      return false;
    }
    k.new_per_second = *v;
    return true;
  }
  if (k.kind == KeySpec::Kind::kZipf && key == "s") {
    auto v = parse_number(val, &err);
    if (!v || !(*v > 0) || !std::isfinite(*v)) {
      *error = "zipf: s must be a number > 0, got '" + val + "'";
      return false;
    }
    k.s = *v;
    return true;
  }
  if (k.kind == KeySpec::Kind::kHotspot && (key == "keys" || key == "traffic")) {
    auto v = parse_probability(val, &err);
    if (!v || *v <= 0 || *v > 1) {
      *error = "hotspot: " + key + " must be a share in (0, 100%], got '" + val + "'";
      return false;
    }
    (key == "keys" ? k.hot_keys : k.hot_traffic) = *v;
    return true;
  }
  *error = name + ": unexpected argument '" + arg + "' (" + usage + ")";
  return false;
}

}  // namespace

std::string KeySpec::describe() const {
  const std::string count = std::to_string(n);
  switch (kind) {
    case Kind::kUniform:
      return "uniform(" + count + ")";
    case Kind::kZipf:
      return "zipf(" + count + ", s=" + format_number(s) +
             (new_per_second > 0 ? ", new=" + format_rate(new_per_second) : "") + ")";
    case Kind::kHotspot:
      return "hotspot(" + count + ", keys=" + format_number(hot_keys * 100) +
             "%, traffic=" + format_number(hot_traffic * 100) + "%)";
    case Kind::kSequential:
      return "sequential(" + count + ")";
  }
  return "?";
}

std::optional<KeySpec> parse_key_spec(const std::string& text, std::string* error) {
  const std::string t = trim(text);
  const size_t open = t.find('(');
  const std::string usage =
      "expected uniform(n), zipf(n, s=0.99, new=0/s), hotspot(n, keys=10%, traffic=90%) or "
      "sequential(n), got '" +
      t + "'";
  if (open == std::string::npos || t.back() != ')') {
    *error = usage;
    return std::nullopt;
  }
  KeySpec k;
  const std::string name = trim(t.substr(0, open));
  if (name == "uniform") {
    k.kind = KeySpec::Kind::kUniform;
  } else if (name == "zipf") {
    k.kind = KeySpec::Kind::kZipf;
  } else if (name == "hotspot") {
    k.kind = KeySpec::Kind::kHotspot;
  } else if (name == "sequential") {
    k.kind = KeySpec::Kind::kSequential;
  } else {
    *error = usage;
    return std::nullopt;
  }
  const std::vector<std::string> args = split_args(t.substr(open + 1, t.size() - open - 2));
  std::string err;
  auto n = parse_integer(args[0], &err);
  if (!n || *n < 1 || *n > (int64_t{1} << 40)) {
    *error = name + ": the number of keys must be an integer from 1 to 2^40, got '" + args[0] + "'";
    return std::nullopt;
  }
  k.n = static_cast<uint64_t>(*n);
  for (size_t i = 1; i < args.size(); ++i) {
    if (!read_key_arg(k, name, args[i], usage, error)) return std::nullopt;
  }
  if (k.kind == KeySpec::Kind::kZipf)
    k.zipf = std::make_shared<const Distribution>(Distribution::zipf(k.n, k.s));
  return k;
}

KeyChooser::KeyChooser(const KeySpec& spec, uint64_t first) : spec_(spec), first_(first) {
  if (spec_.kind == KeySpec::Kind::kZipf && !spec_.zipf)
    spec_.zipf = std::make_shared<const Distribution>(Distribution::zipf(spec_.n, spec_.s));
}

uint64_t KeyChooser::next(Rng& rng, SimTime now) {
  uint64_t i = 0;
  switch (spec_.kind) {
    case KeySpec::Kind::kUniform:
      i = rng.below64(spec_.n);
      break;
    case KeySpec::Kind::kZipf: {
      const uint64_t rank = spec_.zipf->sample_count(rng);
      if (spec_.new_per_second > 0) {  // the n newest of a growing catalog, newest first
        const auto born = static_cast<uint64_t>(spec_.new_per_second * now.to_seconds());
        i = born + spec_.n - rank;
      } else {
        i = rank - 1;  // rank 1 is the first key, the hottest
      }
      break;
    }
    case KeySpec::Kind::kHotspot: {
      const auto hot = std::clamp<uint64_t>(
          static_cast<uint64_t>(std::llround(spec_.hot_keys * static_cast<double>(spec_.n))), 1,
          spec_.n);
      if (hot == spec_.n || rng.bernoulli(spec_.hot_traffic)) {
        i = rng.below64(hot);
      } else {
        i = hot + rng.below64(spec_.n - hot);
      }
      break;
    }
    case KeySpec::Kind::kSequential:
      i = next_sequential_++ % spec_.n;
      break;
  }
  return first_ + i;
}

// --- operation mixes --------------------------------------------------------------------------

WeightedChoice::WeightedChoice(const std::vector<std::pair<std::string, double>>& weights) {
  double total = 0;
  for (const auto& [name, w] : weights)
    total += w;
  double cum = 0;
  for (const auto& [name, w] : weights) {
    cum += w / total;
    cumulative_.push_back(cum);
  }
  if (!cumulative_.empty()) cumulative_.back() = 1.0;
}

size_t WeightedChoice::pick(Rng& rng) const {
  if (cumulative_.size() <= 1) return 0;
  const double u = rng.uniform01();
  size_t i = 0;
  while (i + 1 < cumulative_.size() && u >= cumulative_[i])
    ++i;
  return i;
}

}  // namespace dsim::kit
