// Named timers: tags carry a kind and a value; a kit component's space nests its own
// sub-kinds; Timeout is one timer per concern, with backoff.
#include <catch2/catch.hpp>

#include "models/kit/timer.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::kit;
using dsim::testing::RecordingContext;

namespace {

enum class Kind : uint8_t { kA, kB, kLast = 255 };

// A model whose only concern is one Timeout, to drive it through a recording context.
struct OneTimeout final : Model {
  Timeout t{timer_tag(Kind::kB, 7), ms(10)};
  int fired = 0;
  void on_start(Context&) override {}
  void on_message(Context&, const Envelope&) override {}
  void on_timer(Context&, TimerId id, TimerTag) override { fired += t.fired(id) ? 1 : 0; }
};

}  // namespace

TEST_CASE("timer: a tag carries its kind and value, a space nests sub-kinds") {
  const TimerTag t = timer_tag(Kind::kLast, kMaxTimerValue);
  CHECK(timer_of<Kind>(t).kind == Kind::kLast);
  CHECK(timer_of<Kind>(t).value == kMaxTimerValue);
  CHECK(timer_of<Kind>(timer_tag(Kind::kA)).value == 0);
  CHECK_THROWS_AS(timer_tag(Kind::kA, kMaxTimerValue + 1), InvariantBroken);

  const TimerSpace space(Kind::kB);
  const TimerTag s = space.tag(3, 12345);
  CHECK(timer_of<Kind>(s).kind == Kind::kB);
  CHECK(TimerSpace::sub_of(timer_of<Kind>(s).value) == 3);
  CHECK(TimerSpace::value_of(timer_of<Kind>(s).value) == 12345);
  CHECK_THROWS_AS(space.tag(16, 0), InvariantBroken);
}

TEST_CASE("timer: a Timeout fires once, restarts cancel the old timer, stale ones are ignored") {
  RecordingContext ctx(0);
  OneTimeout m;
  m.t.start(ctx);
  CHECK(m.t.running());
  ctx.advance(ms(4));
  m.t.start(ctx);  // restarted: due at 14 ms, the first timer is cancelled
  REQUIRE(ctx.pending().size() == 1);
  CHECK(ctx.pending()[0]->at == SimTime::zero() + ms(14));
  REQUIRE(ctx.fire_next(m));
  CHECK(m.fired == 1);
  CHECK_FALSE(m.t.running());
  // A timer fired after a stop is not this timeout's.
  m.t.start(ctx);
  const TimerId old = ctx.timers.back().id;
  m.t.stop(ctx);
  CHECK_FALSE(m.t.fired(old));
  CHECK(ctx.pending().empty());
}

TEST_CASE("timer: backoff doubles from `after` up to the cap, with jitter around it") {
  RecordingContext ctx(0);
  OneTimeout m;
  std::vector<Duration> delays;
  for (int i = 0; i < 6; ++i) {
    m.t.backoff(ctx, ms(100));
    delays.push_back(ctx.timers.back().at - ctx.now());
  }
  CHECK(delays == std::vector<Duration>{ms(10), ms(20), ms(40), ms(80), ms(100), ms(100)});
  CHECK(m.t.attempts() == 6);
  m.t.reset_backoff();
  for (int i = 0; i < 200; ++i) {
    m.t.reset_backoff();
    m.t.backoff(ctx, ms(100), 0.5);
    const Duration d = ctx.timers.back().at - ctx.now();
    CHECK(d >= ms(5));
    CHECK(d <= ms(15));
  }
}
