// Levels: the time-weighted mean over the measured period (after the warmup) and the peak
// of the values held during it, whenever they were set.
#include <catch2/catch.hpp>

#include "sim/core/metrics.h"

using namespace dsim;

TEST_CASE("levels: a value set before the warmup and held counts in the mean and the peak") {
  SymbolTable symbols;
  MetricsRecorder m(&symbols, seconds(2), seconds(1), SimTime::zero() + seconds(10));
  m.add_node(0);
  m.set_current_node(0);
  const Symbol limit = symbols.intern("limit");
  const Symbol queue = symbols.intern("queue");
  m.set_now(SimTime::zero());
  m.level(limit, 40);
  m.level(queue, 9);  // replaced before the warmup ends: not in the measured period
  m.set_now(SimTime::zero() + seconds(1));
  m.level(queue, 3);
  m.set_now(SimTime::zero() + seconds(6));
  m.level(queue, 1);
  m.finish(SimTime::zero() + seconds(10));
  const LevelStats& l = m.levels().at({0, limit});
  CHECK(l.peak == 40);
  CHECK(l.integral == Approx(40 * 8.0));
  const LevelStats& q = m.levels().at({0, queue});
  CHECK(q.peak == 3);
  CHECK(q.integral == Approx(3 * 4.0 + 1 * 4.0));
}
