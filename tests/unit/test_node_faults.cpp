// Clocks (exact drift and step arithmetic, timers on drifting oscillators, sync bounds),
// the durable store (what a crash keeps), and node faults on a real engine: crash and
// restart, pause and resume, leave and join; a group's virtual address.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "sim/core/clock.h"
#include "sim/core/durable_store.h"
#include "sim/core/engine.h"

using namespace dsim;

namespace {

Distribution constant_time(Duration d) {
  return Distribution::constant(static_cast<double>(d.ns())).with_dim(Distribution::Dim::kTime);
}

SimTime at(Duration d) {
  return SimTime::zero() + d;
}

}  // namespace

TEST_CASE("clock: drift and steps are exact integer arithmetic") {
  ClockSpec spec;
  spec.offset = constant_time(ms(5));
  spec.drift_ppm = Distribution::constant(100);  // 100 ppm fast
  NodeClock c(spec, Rng(1, 1), Rng(2, 1));
  CHECK(c.mono(at(seconds(10))) == 10'001'000'000);  // 10 s + 100 ppm = 1 ms more
  CHECK(c.wall(at(seconds(10))) == at(ms(10'006)));  // + the 5 ms offset
  c.step(at(seconds(10)), -seconds(2));
  CHECK(c.wall(at(seconds(10))) == at(ms(8'006)));
  CHECK(c.wall(at(seconds(20))) == at(ms(18'007)));
  // A timer of 1 s local on a clock 25% fast fires after exactly 0.8 s of true time.
  c.set_drift_ppm(at(seconds(20)), 250'000);
  CHECK(c.true_duration(at(seconds(20)), seconds(1)) == ms(800));
  CHECK(c.mono(at(seconds(21))) - c.mono(at(seconds(20))) == 1'250'000'000);
  // The smallest true duration that covers the local one, for an awkward rate.
  c.set_drift_ppm(at(seconds(21)), 123.456);
  const Duration d = c.true_duration(at(seconds(21)), ms(777));
  const int64_t m0 = c.mono(at(seconds(21)));
  CHECK(c.mono(at(seconds(21)) + d) - m0 >= ms(777).ns());
  CHECK(c.mono(at(seconds(21)) + d - nanoseconds(1)) - m0 < ms(777).ns());
  // Slow clocks too.
  c.set_drift_ppm(at(seconds(22)), -500'000);
  CHECK(c.true_duration(at(seconds(22)), seconds(1)) == seconds(2));
}

TEST_CASE("clock: scheduled steps apply at their time, sync keeps the error bounded") {
  ClockSpec spec;
  spec.steps = {{at(seconds(3)), seconds(1)}};
  NodeClock c(spec, Rng(1, 2), Rng(2, 2));
  CHECK(c.wall(at(seconds(2))) == at(seconds(2)));
  CHECK(c.wall(at(seconds(3))) == at(seconds(4)));

  ClockSpec synced;
  synced.offset = constant_time(seconds(1));
  synced.drift_ppm = Distribution::constant(1000);
  synced.sync_period = seconds(10);
  synced.sync_error = ms(2);
  NodeClock s(synced, Rng(1, 3), Rng(2, 3));
  CHECK(s.skew(at(Duration::zero())) == seconds(1));
  // After the first sync (within the first 10 s), the skew is the sync error plus the
  // drift accumulated since: at most 2 ms + 1000 ppm * 10 s = 12 ms.
  for (int t = 10; t <= 100; ++t) {
    const Duration skew = s.skew(at(seconds(t)));
    INFO("t = " << t << " s, skew " << skew.ns());
    CHECK(std::abs(skew.ns()) <= ms(12).ns());
  }
}

TEST_CASE("clock: wobble oscillates within its amplitude") {
  ClockSpec spec;
  spec.wobble_amplitude = ms(3);
  spec.wobble_period = seconds(4);
  NodeClock c(spec, Rng(1, 4), Rng(2, 4));
  int64_t lo = 0, hi = 0;
  for (int t = 0; t < 400; ++t) {
    const int64_t skew = c.skew(at(ms(10 * t))).ns();
    lo = std::min(lo, skew);
    hi = std::max(hi, skew);
  }
  CHECK(hi <= ms(3).ns());
  CHECK(lo >= -ms(3).ns());
  CHECK(hi > ms(2).ns());
  CHECK(lo < -ms(2).ns());
}

namespace {

// Records when its timers fire (true time, via a shared log) and what its disk holds.
struct Log {
  std::vector<std::pair<SimTime, SimTime>> fired;  // (true time, local time)
  std::vector<SimTime> messages;
  std::vector<std::string> starts;  // what the disk held at each start
  std::vector<uint64_t> synced;
  int volatile_seen = -1;
};

struct Note {
  static constexpr std::string_view kName = "note";
  uint64_t seq;
};

class Keeper final : public Model {
 public:
  Keeper(Log* log, const Engine* engine, Duration timer)
      : log_(log), engine_(engine), timer_(timer) {}
  void on_start(Context& ctx) override {
    auto v = ctx.disk().get("x");
    log_->starts.push_back(v ? std::string(*v) : "<none>");
    log_->volatile_seen = counter_;
    if (timer_ > Duration::zero()) ctx.set_timer(timer_, 0);
  }
  void on_message(Context&, const Envelope&) override { log_->messages.push_back(engine_->now()); }
  void on_timer(Context& ctx, TimerId, TimerTag tag) override {
    log_->fired.emplace_back(engine_->now(), ctx.now());
    if (tag == 0) {
      ++counter_;  // volatile
      ctx.disk().write("x", "synced");
      ctx.disk().sync(7);
      ctx.set_timer(seconds(1), 1);
    } else if (tag == 1) {
      ctx.disk().write("x", "not synced");  // a crash comes before any sync
    }
  }
  void on_disk(Context&, DiskOpId op, uint64_t tag) override {
    log_->synced.push_back(op.seq * 100 + tag);
  }

 private:
  Log* log_;
  const Engine* engine_;
  Duration timer_;
  int counter_ = 0;
};

}  // namespace

TEST_CASE("timers follow the node's oscillator, and are rescheduled when its drift changes") {
  EngineConfig cfg;
  cfg.end = at(seconds(10));
  Engine e(cfg);
  Log log;
  const Engine* ep = &e;
  e.add_group("n", 1, [&] { return std::make_unique<Keeper>(&log, ep, seconds(2)); });
  ClockSpec spec;
  spec.drift_ppm = Distribution::constant(250'000);  // 25% fast: 2 s local = 1.6 s true
  e.set_clock(0, spec);
  e.run();
  REQUIRE(log.fired.size() >= 2);
  CHECK(log.fired[0].first == at(ms(1600)));
  CHECK(log.fired[1].first == at(ms(1600) + ms(800)));

  // The drift changes half-way through a timer: the rest runs at the new rate.
  Engine e2(cfg);
  Log log2;
  const Engine* ep2 = &e2;
  e2.add_group("n", 1, [&] { return std::make_unique<Keeper>(&log2, ep2, seconds(2)); });
  e2.at(at(seconds(1)), [](Engine& en) { en.clock_set_drift(0, 500'000); });
  e2.run();
  REQUIRE(!log2.fired.empty());
  // 1 s at rate 1, then the remaining 1 s local at +50%: 2/3 s, rounded up.
  CHECK(log2.fired[0].first == at(ms(1000) + nanoseconds(666'666'667)));
}

TEST_CASE("timer jitter: each timer fires late by its own draw, never early") {
  ClockSpec spec;
  spec.timer_jitter = Distribution::uniform(0, 50e3).with_dim(Distribution::Dim::kTime);
  CHECK_FALSE(spec.is_ideal());
  NodeClock c(spec, Rng(1, 5), Rng(2, 5));
  Duration lo = Duration::max(), hi = Duration::zero();
  for (int i = 0; i < 10'000; ++i) {
    const Duration late = c.timer_wait(ms(150)) - ms(150);
    lo = std::min(lo, late);
    hi = std::max(hi, late);
  }
  CHECK(lo >= Duration::zero());
  CHECK(lo < microseconds(1));  // 10,000 draws reach within 0.01% of each end
  CHECK(hi <= microseconds(50));
  CHECK(hi > microseconds(49));
  NodeClock ideal(ClockSpec{}, Rng(1, 6), Rng(2, 6));
  CHECK(ideal.timer_wait(ms(150)) == ms(150));

  // On an engine: two nodes' 150 ms timers no longer fire at the same instant.
  EngineConfig cfg;
  cfg.end = at(seconds(1));
  Engine e(cfg);
  Log log;
  const Engine* ep = &e;
  e.add_group("n", 2, [&] { return std::make_unique<Keeper>(&log, ep, ms(150)); });
  e.set_clock(0, spec);
  e.run();
  REQUIRE(log.fired.size() >= 2);
  CHECK(log.fired[0].first > at(ms(150)));
  CHECK(log.fired[0].first <= at(ms(150) + microseconds(50)));
  CHECK(log.fired[0].first != log.fired[1].first);
}

namespace {

// Records when the disk says its syncs complete.
struct SyncTimes final : DiskScheduler {
  std::vector<SimTime> at;
  void schedule_disk(NodeId, SimTime t) override { at.push_back(t); }
};

}  // namespace

TEST_CASE("disk: kinds of writes with costs of their own, syncs pay each kind they cover") {
  SimTime now;
  DiskSpec spec;
  spec.write = constant_time(microseconds(10));
  spec.fsync = constant_time(ms(5));
  spec.kinds[static_cast<size_t>(DiskWrite::kMetadata)] =
      DiskSpec::KindCost{constant_time(microseconds(1)), constant_time(microseconds(100))};
  SyncTimes times;
  NodeDisk d(&spec, Rng(1, 1), 0, &times, &now);
  // Metadata alone: a 1 us write, then a 100 us sync.
  d.write("term", "1", 0, DiskWrite::kMetadata);
  d.sync();
  REQUIRE(times.at.size() == 1);
  CHECK(times.at[0] == at(microseconds(101)));
  // Log entries have no costs of their own: they cost data's (10 us and 5 ms). With
  // metadata in the same sync, both are synced: 1 + 10 us of writes, then 5.1 ms.
  now = at(ms(1));
  d.write("term", "2", 0, DiskWrite::kMetadata);
  d.write("log/1", "e", 0, DiskWrite::kLog);
  d.sync();
  CHECK(times.at[1] == at(ms(1) + microseconds(11) + microseconds(5'100)));
  // A sync with nothing written costs data's fsync, as before kinds existed.
  now = at(ms(10));
  d.sync();
  CHECK(times.at[2] == at(ms(15)));
  // Data writes alone: data's costs, once.
  now = at(ms(20));
  d.write("x", "1");
  d.write("y", "1");
  d.sync();
  CHECK(times.at[3] == at(ms(20) + microseconds(20) + ms(5)));
}

TEST_CASE("crash drops volatile state and unsynced writes, restart rebuilds from the disk") {
  EngineConfig cfg;
  cfg.end = at(seconds(10));
  Engine e(cfg);
  Log log;
  const Engine* ep = &e;
  e.add_group("n", 1, [&] { return std::make_unique<Keeper>(&log, ep, seconds(1)); });
  DiskSpec disk;
  disk.write = constant_time(microseconds(10));
  disk.fsync = constant_time(ms(2));
  e.set_disk(0, disk);
  // t=1 s: write "synced" + sync (done 1.00201 s). t=2 s: write "not synced". t=3 s: crash.
  e.at(at(seconds(3)), [](Engine& en) { CHECK(en.crash(0)); });
  e.at(at(seconds(4)), [](Engine& en) { CHECK(en.restart(0)); });
  e.run();
  REQUIRE(log.starts.size() == 2);
  CHECK(log.starts[0] == "<none>");
  CHECK(log.starts[1] == "synced");  // the unsynced write is gone
  CHECK(log.volatile_seen == 0);     // a fresh instance: the counter (1 before) started over
  // Sync 1 (tag 7) of the first incarnation, then sync 2 of the restarted one (its timer
  // at 5 s): sync ids continue across restarts.
  CHECK(log.synced == std::vector<uint64_t>{107, 207});
  CHECK(e.disk(0).counters().lost_writes == 1);
  CHECK(e.node_fault_counters()[0].crashes == 1);
}

TEST_CASE("disk: completed writes survive a crash when lose_unsynced is false, full disks refuse") {
  SimTime now;
  DiskSpec spec;
  spec.write = constant_time(ms(1));
  spec.fsync = constant_time(ms(5));
  spec.lose_unsynced = false;
  spec.capacity_bytes = 20;
  NodeDisk d(&spec, Rng(1, 1), 0, nullptr, &now);
  CHECK(d.write("a", "1234"));                      // 5 bytes, done at 1 ms
  CHECK(d.write("b", "5678"));                      // done at 2 ms
  CHECK_FALSE(d.write("c", std::string(20, 'x')));  // over capacity
  now = at(microseconds(1500));
  d.crash();  // "a" had completed, "b" had not
  CHECK(d.get("a") == std::optional<std::string_view>("1234"));
  CHECK_FALSE(d.get("b"));
  d.set_full_fault(true);
  CHECK_FALSE(d.write("z", "1"));
  CHECK(d.erase("a"));  // erasing works on a full disk
  d.set_full_fault(false);
  CHECK(d.write("z", "1"));
  CHECK(d.used_bytes() == 2);
}

namespace {

// Sends a note to node `to` at each of `times`.
class Sender final : public Model {
 public:
  Sender(NodeId to, std::vector<Duration> times) : to_(to), times_(std::move(times)) {}
  void on_start(Context& ctx) override {
    for (size_t i = 0; i < times_.size(); ++i)
      ctx.set_timer(times_[i], i);
  }
  void on_message(Context&, const Envelope&) override {}
  void on_timer(Context& ctx, TimerId, TimerTag tag) override { ctx.send(to_, Note{tag}); }

 private:
  NodeId to_;
  std::vector<Duration> times_;
};

}  // namespace

TEST_CASE("pause delays timers and messages until resume, and drops nothing") {
  EngineConfig cfg;
  cfg.end = at(seconds(10));
  cfg.network.latency = constant_time(ms(1));
  Engine e(cfg);
  Log log;
  const Engine* ep = &e;
  e.add_group("src", 1, [] {
    return std::make_unique<Sender>(1, std::vector<Duration>{seconds(1), seconds(3), seconds(6)});
  });
  // Node 1's timer is due at 3 s, while it is paused (2 s to 5 s).
  e.add_group("dst", 1, [&] { return std::make_unique<Keeper>(&log, ep, seconds(3)); });
  e.at(at(seconds(2)), [](Engine& en) { CHECK(en.pause(1)); });
  e.at(at(seconds(5)), [](Engine& en) { CHECK(en.resume(1)); });
  e.run();
  CHECK(log.messages ==
        std::vector<SimTime>{at(ms(1001)), at(seconds(5)), at(ms(6001))});  // none lost
  REQUIRE(!log.fired.empty());
  CHECK(log.fired[0].first == at(seconds(5)));
  CHECK(e.network().totals().dropped_total() == 0);
  CHECK(e.node_fault_counters()[1].pauses == 1);
}

TEST_CASE("messages to a crashed node are dropped as node_down, its timers never fire") {
  EngineConfig cfg;
  cfg.end = at(seconds(10));
  cfg.network.latency = constant_time(ms(1));
  Engine e(cfg);
  Log log;
  const Engine* ep = &e;
  e.add_group("src", 1, [] {
    return std::make_unique<Sender>(1, std::vector<Duration>{seconds(1), seconds(3), seconds(6)});
  });
  e.add_group("dst", 1, [&] { return std::make_unique<Keeper>(&log, ep, seconds(4)); });
  e.at(at(seconds(2)), [](Engine& en) { CHECK(en.crash(1)); });
  e.at(at(seconds(5)), [](Engine& en) { CHECK(en.restart(1)); });
  e.run();
  CHECK(log.messages == std::vector<SimTime>{at(ms(1001)), at(ms(6001))});
  CHECK(e.network().totals().dropped[static_cast<size_t>(DropCause::kNodeDown)] == 1);
  // The first incarnation's timer (due at 4 s) died with it; the new one set its own at
  // 5 s + 4 s.
  REQUIRE(!log.fired.empty());
  CHECK(log.fired[0].first == at(seconds(9)));
}

namespace {

// Logs its starts and the notes it receives; leaving, it says so and lingers `linger`.
class Leaver final : public Model {
 public:
  Leaver(std::vector<std::string>* log, Duration linger) : log_(log), linger_(linger) {}
  void on_start(Context& ctx) override {
    log_->push_back("start " + ctx.node_name(ctx.self()) + " joining " +
                    std::to_string(ctx.group_joining(ctx.group_name())));
  }
  void on_message(Context& ctx, const Envelope&) override {
    log_->push_back("note " + ctx.node_name(ctx.self()) + (leaving_ ? " leaving" : ""));
  }
  void on_timer(Context&, TimerId, TimerTag) override {}
  Duration on_leave(Context& ctx) override {
    leaving_ = true;
    log_->push_back("leave " + ctx.node_name(ctx.self()));
    return linger_;
  }

 private:
  std::vector<std::string>* log_;
  Duration linger_;
  bool leaving_ = false;
};

}  // namespace

TEST_CASE("a joining node starts outside its group and a leave lingers then stops it outside") {
  EngineConfig cfg;
  cfg.end = at(seconds(20));
  cfg.network.latency = constant_time(ms(1));
  Engine e(cfg);
  std::vector<std::string> log;
  // Notes to dst.1 at 1 s (outside: dropped), 5 s (lingering: delivered), 7 s (left: dropped).
  e.add_group("src", 1, [] {
    return std::make_unique<Sender>(2, std::vector<Duration>{seconds(1), seconds(5), seconds(7)});
  });
  const uint32_t dst =
      e.add_group("dst", 2, [&] { return std::make_unique<Leaver>(&log, seconds(2)); });
  e.set_joining(dst, 1);
  e.at(at(seconds(2)), [](Engine& en) {
    CHECK(en.outside(2));
    CHECK_FALSE(en.restart(2));  // a restart brings back crashed nodes, not outsiders
    CHECK(en.join(2));
    CHECK_FALSE(en.join(2));  // a member already
  });
  e.at(at(seconds(4)), [](Engine& en) {
    CHECK(en.leave(2));
    CHECK_FALSE(en.leave(2));  // already leaving
  });
  e.at(at(ms(6500)), [](Engine& en) { CHECK(en.outside(2)); });
  // Asked to join while it lingers, it joins again the moment it has left.
  e.at(at(seconds(10)), [](Engine& en) { CHECK(en.leave(1)); });
  e.at(at(seconds(11)), [](Engine& en) { CHECK(en.join(1)); });
  e.run();
  CHECK(log == std::vector<std::string>{"start dst.0 joining 1", "start dst.1 joining 1",
                                        "leave dst.1", "note dst.1 leaving", "leave dst.0",
                                        "start dst.0 joining 1"});
  CHECK(e.network().totals().dropped[static_cast<size_t>(DropCause::kNodeDown)] == 2);
  CHECK(e.node_fault_counters()[2].crashes == 0);  // a leave is no crash
  using C = LifeCause;
  std::vector<std::tuple<int64_t, NodeId, NodeStatus, C>> life;
  for (const NodeLifeEvent& l : e.life_log())
    life.emplace_back(l.at.ns() / 1'000'000, l.node, l.status, l.cause);
  CHECK(life == std::vector<std::tuple<int64_t, NodeId, NodeStatus, C>>{
                    {0, 2, NodeStatus::kDown, C::kAbsent},
                    {2000, 2, NodeStatus::kUp, C::kJoin},
                    {6000, 2, NodeStatus::kDown, C::kLeave},
                    {12000, 1, NodeStatus::kDown, C::kLeave},
                    {12000, 1, NodeStatus::kUp, C::kJoin}});
}

namespace {

// Records the notes it receives; with `claim_at`, claims its group's virtual address then.
class Claimer final : public Model {
 public:
  Claimer(std::vector<std::pair<NodeId, SimTime>>* got, std::optional<Duration> claim_at,
          NodeId* address)
      : got_(got), claim_at_(claim_at), address_(address) {}
  void on_start(Context& ctx) override {
    *address_ = ctx.group_address("dst");
    CHECK(ctx.group_address("src") == kNoNode);
    if (claim_at_) ctx.set_timer(*claim_at_, 0);
  }
  void on_message(Context& ctx, const Envelope&) override {
    got_->emplace_back(ctx.self(), ctx.now());
  }
  void on_timer(Context& ctx, TimerId, TimerTag) override { ctx.claim_address(); }

 private:
  std::vector<std::pair<NodeId, SimTime>>* got_;
  std::optional<Duration> claim_at_;
  NodeId* address_;
};

}  // namespace

TEST_CASE("a group's virtual address goes to the node that claimed it last, up or not") {
  EngineConfig cfg;
  cfg.end = at(seconds(10));
  cfg.network.latency = constant_time(ms(1));
  Engine e(cfg);
  std::vector<std::pair<NodeId, SimTime>> got;
  NodeId address = kNoNode;
  e.add_group("src", 1, [] {
    return std::make_unique<Sender>(Engine::kFirstAddress,
                                    std::vector<Duration>{seconds(1), seconds(3), seconds(6)});
  });
  uint32_t made = 0;
  e.add_group("dst", 2, [&] {
    const bool second = made++ % 2 == 1;  // nodes 1 and 2, in order
    return std::make_unique<Claimer>(
        &got, second ? std::optional<Duration>(seconds(2)) : std::nullopt, &address);
  });
  e.add_address(1);
  e.at(at(seconds(5)), [](Engine& en) { CHECK(en.crash(2)); });
  e.run();
  CHECK(address == Engine::kFirstAddress);
  // At first the group's first node holds it; node 2 claims it at 2 s; at 6 s it still
  // holds it, down: the note is dropped, not rerouted.
  CHECK(got == std::vector<std::pair<NodeId, SimTime>>{{1, at(ms(1001))}, {2, at(ms(3001))}});
  CHECK(e.network().totals().dropped[static_cast<size_t>(DropCause::kNodeDown)] == 1);
  CHECK(e.holder_of(Engine::kFirstAddress) == 2);
}
