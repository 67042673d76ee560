// Concurrency limits: each algorithm's rule on a scripted sequence of samples (the expected
// limits worked out by hand from the rules in concurrency_limit.h), and the door that
// sheds requests past the limit.
#include <catch2/catch.hpp>

#include "models/kit/concurrency_limit.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::kit;
using dsim::testing::RecordingContext;
using Kind = ConcurrencyLimitSpec::Kind;
using Sample = ConcurrencyLimit::Sample;

namespace {

// The limit after each sample of `samples`, in turn.
std::vector<int64_t> limits(const ConcurrencyLimitSpec& spec, const std::vector<Sample>& samples) {
  ConcurrencyLimit algo(spec);
  std::vector<int64_t> out;
  for (const Sample& s : samples) {
    algo.on_sample(s);
    out.push_back(algo.limit());
  }
  return out;
}

ConcurrencyLimitSpec aimd() {
  ConcurrencyLimitSpec s;
  s.kind = Kind::kAimd;
  s.initial = 10;
  s.min = 2;
  s.max = 12;
  s.backoff_ratio = 0.5;
  s.timeout = ms(50);
  return s;
}

}  // namespace

TEST_CASE("concurrency limit: aimd grows by one while used, backs off on drops and slow samples") {
  const std::vector<Sample> samples = {
      {ms(10), 5, false},   // 5 x 2 >= 10: used, 10 -> 11
      {ms(10), 5, false},   // 5 x 2 < 11: not used, stays
      {ms(10), 6, false},   // 12 >= 11: 12
      {ms(10), 12, false},  // at max: 12
      {ms(60), 12, false},  // over the timeout: floor(12 x 0.5) = 6
      {ms(1), 1, true},     // dropped: floor(6 x 0.5) = 3
      {ms(1), 1, true},     // floor(1.5) = 1, held at min 2
      {ms(50), 1, false},   // at the timeout is not over it; 1 x 2 >= 2: 3
  };
  CHECK(limits(aimd(), samples) == std::vector<int64_t>{11, 11, 12, 12, 6, 3, 2, 3});
}

TEST_CASE("concurrency limit: with a window, samples count together") {
  ConcurrencyLimitSpec spec = aimd();
  spec.window = 2;
  // The first window: mean RTT 35 ms (not over 50), most on the node 5: 10 -> 11. The
  // second: one drop in it backs off, floor(11 x 0.5) = 5.
  const std::vector<Sample> samples = {
      {ms(10), 5, false}, {ms(60), 1, false}, {ms(1), 1, true}, {ms(1), 1, false}};
  CHECK(limits(spec, samples) == std::vector<int64_t>{10, 11, 11, 5});
}

TEST_CASE("concurrency limit: fixed never moves") {
  ConcurrencyLimitSpec spec;
  spec.kind = Kind::kFixed;
  spec.initial = 7;
  CHECK(limits(spec, {{ms(900), 7, true}, {ms(1), 7, false}}) == std::vector<int64_t>{7, 7});
}

TEST_CASE("concurrency limit: gradient follows the long-term RTT against the short-term one") {
  ConcurrencyLimitSpec spec;
  spec.kind = Kind::kGradient;  // tolerance 1.5, smoothing 0.2, queue_size 4
  spec.initial = 20;
  spec.min = 5;
  spec.max = 100;
  ConcurrencyLimit algo(spec);
  // long = 10 (the first sample's); gradient min(1, 1.5 x 10/10) = 1; target 20 + 4 = 24;
  // L = 20 x 0.8 + 24 x 0.2 = 20.8.
  algo.on_sample({ms(10), 10, false});
  CHECK(algo.limit() == 20);
  // long = mean(10, 40) = 25; gradient 1.5 x 25/40 = 0.9375; target 20.8 x 0.9375 + 4 = 23.5;
  // L = 20.8 x 0.8 + 23.5 x 0.2 = 21.34.
  algo.on_sample({ms(40), 11, false});
  CHECK(algo.limit() == 21);
  // long = mean(10, 40, 100) = 50; gradient 0.75; target 21.34 x 0.75 + 4 = 20.005;
  // L = 21.34 x 0.8 + 20.005 x 0.2 = 21.073.
  algo.on_sample({ms(100), 20, false});
  CHECK(algo.limit() == 21);
  // long = 50 + (1000 - 50)/4 = 287.5; gradient 1.5 x 287.5/1000 = 0.43 -> 0.5 (at most
  // half at once); target 21.073 x 0.5 + 4 = 14.5365; L = 21.073 x 0.8 + 14.5365 x 0.2 = 19.77.
  algo.on_sample({ms(1000), 20, false});
  CHECK(algo.limit() == 19);
  // Few on the node (2 < 19.77 / 2): L stays. long = 287.5 + (1 - 287.5)/5 = 230.2, over
  // twice the short RTT, so it decays by 5%: 218.69.
  algo.on_sample({ms(1), 2, true});
  CHECK(algo.limit() == 19);
  CHECK(algo.long_rtt() == Approx(218.69e6).epsilon(1e-9));
}

TEST_CASE("concurrency limit: gradient is held within min and max, sqrt queue") {
  ConcurrencyLimitSpec spec;
  spec.kind = Kind::kGradient;
  spec.initial = 9;
  spec.min = 8;
  spec.max = 10;
  spec.smoothing = 1;       // L is the new estimate
  spec.queue_size.reset();  // sqrt(L)
  ConcurrencyLimit algo(spec);
  algo.on_sample({ms(10), 9, false});  // gradient 1: 9 + sqrt(9) = 12, held at 10
  CHECK(algo.limit() == 10);
  // long = mean(10, 1000) = 505; gradient 1.5 x 505/1000 = 0.7575; 10 x 0.7575 + floor(sqrt(10))
  // = 10.575, held at 10.
  algo.on_sample({ms(1000), 9, false});
  CHECK(algo.limit() == 10);
  // long = (10 + 1000 + 10000)/3 = 3670; gradient 0.5505; 10 x 0.5505 + 3 = 8.505: 8.
  algo.on_sample({ms(10000), 9, false});
  CHECK(algo.limit() == 8);
  // long = 3670 + (1000000 - 3670)/4 = 252752.5; gradient 0.38 -> 0.5; 8.505 x 0.5 +
  // floor(sqrt(8)) = 6.25, held at min 8.
  algo.on_sample({ms(1000000), 9, false});
  CHECK(algo.limit() == 8);
}

TEST_CASE("admission: past the limit a request is shed at once, a place freed lets one in") {
  ConcurrencyLimitSpec spec;
  spec.kind = Kind::kFixed;
  spec.initial = 2;
  RecordingContext ctx(0);
  Admission door(spec);
  door.start(ctx);
  const auto a = door.enter(ctx);
  ctx.advance(ms(3));
  const auto b = door.enter(ctx);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->inflight == 1);
  CHECK(b->inflight == 2);
  CHECK_FALSE(door.enter(ctx));
  CHECK(ctx.counter("shed") == 1);
  CHECK(ctx.recorder().levels[ctx.intern("concurrency_limit").id] == 2);
  door.leave(ctx, *a, false);
  CHECK(door.inflight() == 1);
  CHECK(door.enter(ctx));
  CHECK(ctx.counter("shed") == 1);
}

TEST_CASE("admission: without a limit every request is let in and nothing is recorded") {
  ConcurrencyLimitSpec spec;
  RecordingContext ctx(0);
  Admission door(spec);
  door.start(ctx);
  for (int i = 0; i < 1000; ++i)
    REQUIRE(door.enter(ctx));
  CHECK(door.inflight() == 1000);
  CHECK(ctx.counter("shed") == 0);
  CHECK(ctx.recorder().levels.count(ctx.intern("concurrency_limit").id) == 0);
}

TEST_CASE("admission: aimd's limit falls as answers come back dropped, and is reported") {
  ConcurrencyLimitSpec spec = aimd();
  RecordingContext ctx(0);
  Admission door(spec);
  door.start(ctx);
  const auto t = door.enter(ctx);
  REQUIRE(t);
  ctx.advance(ms(70));  // longer than the 50 ms timeout
  door.leave(ctx, *t, false);
  CHECK(door.limit() == 5);
  CHECK(ctx.recorder().levels[ctx.intern("concurrency_limit").id] == 5);
}
