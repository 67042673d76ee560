// The workload base: arrivals (open and closed loop, rates that change over time), key
// distributions, operation mixes and sessions. Statistical checks allow five standard
// deviations of their sample sizes.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "models/kit/workload.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::kit;
using dsim::testing::RecordingContext;

namespace {

// A model that only counts the operations its Arrivals start, and when.
struct Starter final : Model {
  enum class Timer : uint8_t { kArrivals };
  explicit Starter(const ArrivalSpec& s) : arrivals(s, TimerSpace(Timer::kArrivals)) {}
  void on_start(Context& ctx) override { arrivals.start(ctx); }
  void on_message(Context&, const Envelope&) override {}
  void on_timer(Context& ctx, TimerId, TimerTag tag) override {
    arrivals.on_timer(ctx, timer_of<Timer>(tag).value,
                      [&](uint64_t user) { starts.emplace_back(ctx.now(), user); });
  }
  Arrivals arrivals;
  std::vector<std::pair<SimTime, uint64_t>> starts;
};

// Runs until `end` (or no timers are left); returns the start times.
std::vector<SimTime> run(Starter& m, RecordingContext& ctx, Duration end) {
  m.on_start(ctx);
  while (!ctx.pending().empty() && ctx.pending()[0]->at <= SimTime::zero() + end)
    ctx.fire_next(m);
  std::vector<SimTime> out;
  for (const auto& [t, u] : m.starts)
    out.push_back(t);
  return out;
}

Distribution const_time(Duration d) {
  return Distribution::constant(static_cast<double>(d.ns())).with_dim(Distribution::Dim::kTime);
}

}  // namespace

TEST_CASE("workload: fixed arrivals, the first at start or one gap after it, until stop") {
  ArrivalSpec s;
  s.process = ArrivalSpec::Process::kFixed;
  s.rate.base = 100;
  s.start = ms(50);
  s.stop = ms(100);
  {
    Starter m(s);
    RecordingContext ctx(0);
    const auto t = run(m, ctx, seconds(1));
    REQUIRE(t.size() == 4);  // 60, 70, 80, 90: the one due at 100 ms is stopped
    CHECK(t.front() == SimTime::zero() + ms(60));
    CHECK(t.back() == SimTime::zero() + ms(90));
    CHECK(m.arrivals.stopped());
  }
  s.first_at_start = true;
  Starter m(s);
  RecordingContext ctx(0);
  const auto t = run(m, ctx, seconds(1));
  REQUIRE(t.size() == 5);
  CHECK(t.front() == SimTime::zero() + ms(50));
}

TEST_CASE("workload: Poisson arrivals come at their rate") {
  ArrivalSpec s;
  s.rate.base = 1000;
  Starter m(s);
  RecordingContext ctx(0);
  const auto t = run(m, ctx, seconds(10));
  // A Poisson count over 10 s at 1000/s: mean 10000, sd 100.
  CHECK(static_cast<double>(t.size()) == Approx(10000).margin(500));
}

TEST_CASE("workload: closed loop, each user starts again a think time after its end") {
  ArrivalSpec s;
  s.load = ArrivalSpec::Load::kClosed;
  s.users = 3;
  s.think_time = const_time(ms(5));
  Starter m(s);
  RecordingContext ctx(0);
  m.on_start(ctx);
  for (int i = 0; i < 3; ++i)
    REQUIRE(ctx.fire_next(m));
  REQUIRE(m.starts.size() == 3);
  CHECK(m.starts[2].second == 2);
  CHECK(ctx.pending().empty());  // nothing more until a user's operation ends
  ctx.advance(ms(20));
  m.arrivals.done(ctx, 1);
  REQUIRE(ctx.fire_next(m));
  CHECK(m.starts.back() == std::make_pair(SimTime::zero() + ms(25), uint64_t{1}));
  m.arrivals.stop(ctx);
  m.arrivals.done(ctx, 1);  // stopped: no more starts
  CHECK(ctx.pending().empty());
}

TEST_CASE("workload: a rate schedule of steps and ramps, exactly for fixed arrivals") {
  RateProfile r;
  r.base = 10;
  r.schedule = {{seconds(1), 100, Duration::zero()},
                {seconds(2), 0, Duration::zero()},
                {seconds(3), 200, seconds(2)}};
  CHECK(r.at(ms(500)) == 10);
  CHECK(r.at(seconds(1)) == 100);
  CHECK(r.at(ms(2500)) == 0);
  CHECK(r.at(seconds(3)) == 0);
  CHECK(r.at(seconds(4)) == Approx(100));  // half way up the ramp from 0 to 200
  CHECK(r.at(seconds(9)) == 200);
  CHECK(r.max() == 200);
  CHECK(r.next_positive(ms(2500)) == seconds(3) + Duration::from_ns(1));

  ArrivalSpec s;
  s.process = ArrivalSpec::Process::kFixed;
  s.rate = r;
  s.rate.schedule.pop_back();
  Starter m(s);
  RecordingContext ctx(0);
  const auto t = run(m, ctx, seconds(3));
  // 10/s for the first second (100 ms apart), 100/s for the next (10 ms apart), then none.
  int first = 0, second = 0, after = 0;
  for (SimTime x : t) {
    const Duration d = x - SimTime::zero();
    (d <= seconds(1) ? first : d <= seconds(2) ? second : after)++;
  }
  CHECK(first == 10);
  CHECK(second == Approx(100).margin(1));
  CHECK(after == 0);
}

TEST_CASE("workload: Poisson arrivals follow a changing rate, drawn by thinning") {
  ArrivalSpec s;
  s.rate.base = 200;
  s.rate.schedule = {{seconds(5), 1000, Duration::zero()}};
  Starter m(s);
  RecordingContext ctx(0);
  const auto t = run(m, ctx, seconds(10));
  int low = 0, high = 0;
  for (SimTime x : t)
    (x - SimTime::zero() < seconds(5) ? low : high)++;
  // Poisson counts: 1000 (sd 32) and 5000 (sd 71).
  CHECK(low == Approx(1000).margin(5 * 32));
  CHECK(high == Approx(5000).margin(5 * 71));
}

TEST_CASE("workload: a daily sine peaks at peak_at and bottoms half a period later") {
  RateProfile r;
  r.base = 100;
  r.amplitude = 0.5;
  r.period = hours(24);
  r.peak_at = hours(14);
  CHECK(r.at(hours(14)) == Approx(150));
  CHECK(r.at(hours(2)) == Approx(50));
  CHECK(r.at(hours(8)) == Approx(100).margin(1e-9));
  CHECK(r.max() == Approx(150));
}

TEST_CASE("workload: bursty arrivals switch between the rate and the burst rate") {
  ArrivalSpec s;
  s.process = ArrivalSpec::Process::kBursty;
  s.rate.base = 0;  // silent between bursts
  s.burst_rate = 1000;
  s.burst_length = const_time(ms(100));
  s.calm_length = const_time(ms(900));
  Starter m(s);
  RecordingContext ctx(0);
  const auto t = run(m, ctx, seconds(10));
  for (SimTime x : t) {
    const int64_t in_cycle = (x - SimTime::zero()).ns() % seconds(1).ns();
    CHECK(in_cycle >= ms(900).ns());  // only during the bursts (900 ms .. 1 s of each cycle)
  }
  // 10 bursts of 100 ms at 1000/s: a Poisson count of mean 1000.
  CHECK(static_cast<double>(t.size()) == Approx(1000).margin(5 * 32));
}

TEST_CASE("workload: key distribution syntax") {
  std::string err;
  auto z = parse_key_spec("zipf(500, s=1.2)", &err);
  REQUIRE(z);
  CHECK(z->kind == KeySpec::Kind::kZipf);
  CHECK(z->n == 500);
  CHECK(z->s == 1.2);
  CHECK(parse_key_spec(z->describe(), &err)->s == 1.2);
  CHECK(parse_key_spec("hotspot(10, keys=20%, traffic=80%)", &err)->hot_traffic == Approx(0.8));
  CHECK_FALSE(parse_key_spec("gaussian(10)", &err));
  CHECK(err.find("expected uniform(n)") != std::string::npos);
  CHECK_FALSE(parse_key_spec("uniform(0)", &err));
  CHECK_FALSE(parse_key_spec("zipf(10, s=-1)", &err));
  CHECK_FALSE(parse_key_spec("uniform(10, s=1)", &err));
  CHECK_FALSE(parse_key_spec("hotspot(10, keys=200%)", &err));
}

TEST_CASE("workload: keys start at first, sequential keys cycle") {
  KeySpec seq;
  seq.kind = KeySpec::Kind::kSequential;
  seq.n = 3;
  KeyChooser c(seq, 100);
  Rng rng(1, 1);
  std::vector<uint64_t> got;
  for (int i = 0; i < 5; ++i)
    got.push_back(c.next(rng));
  CHECK(got == std::vector<uint64_t>{100, 101, 102, 100, 101});
  KeySpec uni;
  uni.n = 10;
  KeyChooser u(uni, 50);
  for (int i = 0; i < 200; ++i) {
    const uint64_t k = u.next(rng);
    CHECK(k >= 50);
    CHECK(k < 60);
  }
}

TEST_CASE("workload: a mix draws by weight, and draws nothing for a single option") {
  const WeightedChoice one({{"only", 1}});
  Rng a(1, 1), b(1, 1);
  CHECK(one.pick(a) == 0);
  CHECK(a.next_u64() == b.next_u64());  // no draw was made
  const WeightedChoice mix({{"r", 0.8}, {"w", 0.2}});
  int w = 0;
  const int n = 10000;
  for (int i = 0; i < n; ++i)
    w += mix.pick(a) == 1;
  CHECK(static_cast<double>(w) / n == Approx(0.2).margin(5 * std::sqrt(0.16 / n)));
  Sessions open(false, 3), closed(true, 3);
  CHECK(open.next(9) == 0);
  CHECK(open.next(9) == 1);
  CHECK(open.next(9) == 2);
  CHECK(open.next(9) == 0);
  CHECK(closed.next(7) == 7);
}

TEST_CASE("workload: a growing catalog draws the n newest objects, the newest the hottest") {
  std::string err;
  const auto spec = parse_key_spec("zipf(100, s=1.0, new=10/s)", &err);
  INFO(err);
  REQUIRE(spec);
  CHECK(spec->new_per_second == 10);
  CHECK(parse_key_spec(spec->describe(), &err)->new_per_second == 10);
  CHECK_FALSE(parse_key_spec("zipf(100, new=fast)", &err));
  // The same draws give the same ranks: at t the key is floor(10 t) + 100 - rank + first.
  KeyChooser fixed(*parse_key_spec("zipf(100, s=1.0)", &err), 1000);
  KeyChooser growing(*spec, 1000);
  for (const double t : {0.0, 0.05, 3.0, 42.5}) {
    Rng a(7, 1), b(7, 1);
    const SimTime now = SimTime::zero() + Duration::from_ns(static_cast<int64_t>(t * 1e9));
    for (int i = 0; i < 200; ++i) {
      const uint64_t rank = fixed.next(a) - 1000 + 1;
      const uint64_t key = growing.next(b, now);
      CHECK(key == 1000 + static_cast<uint64_t>(10 * t) + 100 - rank);
    }
  }
}
