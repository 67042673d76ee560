// The staleness checker on hand-written histories, each figure against its definition
// (sim/check/staleness.h): k-staleness, t-visibility, session guarantees, lost and
// duplicated writes, invalid reads, and which reads count.
#include <catch2/catch.hpp>

#include "models/kv/check/staleness.h"
#include "support/history_builder.h"

using namespace dsim;
using namespace dsim::kv::check;
using dsim::testing::HistoryBuilder;
using O = HistoryOutcome;

namespace {

const std::vector<uint32_t> kGroups = {0, 0, 1, 1};  // nodes 0, 1 in group 0; 2, 3 in group 1

StalenessResult run(const HistoryBuilder& b, StalenessConfig c = {}) {
  return check_staleness(b.build(), kGroups, c);
}

}  // namespace

TEST_CASE("staleness: k counts the acknowledged writes after the one read") {
  HistoryBuilder b;
  b.put(1, 10, 0, 1);
  b.put(1, 20, 2, 3);
  b.put(1, 30, 4, 5);
  b.get(1, {30}, 10, 11);  // fresh
  b.get(1, {20}, 12, 13);  // 1 behind
  b.get(1, {10}, 14, 15);  // 2 behind
  b.get(1, {}, 16, 17);    // 3 behind
  const StalenessStats s = run(b).total;
  CHECK(s.reads == 4);
  CHECK(s.stale_reads == 3);
  CHECK(s.k_counts == std::vector<uint64_t>{1, 1, 1, 1});
  CHECK(s.k_max == 3);
  CHECK(s.k_sum == 6);
}

TEST_CASE("staleness: concurrent writes are not ordered, so reading either is fresh") {
  HistoryBuilder b;
  b.put(1, 10, 0, 10);
  b.put(1, 20, 5, 8);      // concurrent with the first
  b.get(1, {10}, 20, 21);  // 10 completed later, but 20 was not after 10 in real time
  b.get(1, {20}, 22, 23);
  b.put(1, 30, 30, 31);    // after both
  b.get(1, {20}, 40, 41);  // now stale, by one
  const StalenessStats s = run(b).total;
  CHECK(s.reads == 3);
  CHECK(s.stale_reads == 1);
  CHECK(s.k_max == 1);
}

TEST_CASE("staleness: a write still in progress or of unknown outcome makes nothing stale") {
  HistoryBuilder b;
  b.put(1, 10, 0, 1);
  b.put(1, 20, 2, 100);             // in progress during the read
  b.put(1, 30, 3, 4, O::kUnknown);  // timed out
  b.get(1, {10}, 10, 11);
  b.get(1, {30}, 12, 13);  // the timed-out write was applied after all: not stale either
  const StalenessStats s = run(b).total;
  CHECK(s.reads == 2);
  CHECK(s.stale_reads == 0);
}

TEST_CASE("staleness: lists count the acknowledged appends missing from a read") {
  HistoryBuilder b;
  b.append(1, 1, 0, 1);
  b.append(1, 2, 2, 3);
  b.append(1, 3, 4, 5);
  b.get(1, {1, 2, 3}, 10, 11);
  b.get(1, {1, 3}, 12, 13);  // missing 2
  b.get(1, {}, 14, 15);      // missing all three
  const StalenessStats s = run(b).total;
  CHECK(s.reads == 3);
  CHECK(s.stale_reads == 2);
  CHECK(s.k_counts == std::vector<uint64_t>{1, 1, 0, 1});
}

TEST_CASE("staleness: a put resets a list, appends before it are not missing") {
  HistoryBuilder b;
  b.append(1, 1, 0, 1);
  b.put(1, 5, 2, 3);
  b.append(1, 2, 4, 5);
  b.get(1, {5, 2}, 10, 11);  // fresh
  b.get(1, {5}, 12, 13);     // misses append 2 (after the put): 1 behind
  b.get(1, {1}, 14, 15);     // from before the put: the put and append 2 missing
  const StalenessStats s = run(b).total;
  CHECK(s.reads == 3);
  CHECK(s.stale_reads == 2);
  CHECK(s.k_counts == std::vector<uint64_t>{1, 1, 1});
}

TEST_CASE("staleness: invalid reads are counted apart") {
  HistoryBuilder b;
  b.put(1, 10, 0, 1);
  b.put(1, 20, 2, 3, O::kFail);
  b.get(1, {99}, 10, 11);      // nobody wrote 99
  b.get(1, {20}, 12, 13);      // only a failed write wrote 20
  b.get(1, {10, 10}, 14, 15);  // a register holding two values
  b.get(1, {10}, 16, 17);
  const StalenessStats s = run(b).total;
  CHECK(s.invalid_reads == 3);
  CHECK(s.reads == 1);
  CHECK(s.stale_reads == 0);
}

TEST_CASE("staleness: t-visibility buckets reads by the time since the last write completed") {
  HistoryBuilder b;
  b.put(1, 10, 0, 1'000'000);            // completes at 1 ms
  b.put(1, 20, 2'000'000, 3'000'000);    // completes at 3 ms
  b.get(1, {10}, 3'500'000, 3'600'000);  // t = 0.5 ms, misses 20
  b.get(1, {20}, 3'700'000, 3'800'000);  // t = 0.7 ms, sees it
  b.get(1, {20}, 5'500'000, 5'600'000);  // t = 2.5 ms, sees it
  b.get(1, {10}, 9'000'000, 9'100'000);  // t = 6 ms: beyond tvis_max, misses it
  StalenessConfig c;
  c.tvis_step = ms(1);
  c.tvis_max = ms(5);
  const StalenessStats s = run(b, c).total;
  REQUIRE(s.tvis.size() == 6);
  CHECK(s.tvis[0].reads == 2);
  CHECK(s.tvis[0].visible == 1);
  CHECK(s.tvis[2].reads == 1);
  CHECK(s.tvis[2].visible == 1);
  CHECK(s.tvis[5].reads == 1);
  CHECK(s.tvis[5].visible == 0);
  CHECK(s.tvis[5].hi_ns == INT64_MAX);
  CHECK(s.stale_lag_max_ns == 6'000'000);
}

TEST_CASE("staleness: visibility probes count per probe time, and in nothing else") {
  HistoryBuilder b;
  b.put(1, 10, 0, 1'000'000);                                        // acknowledged at 1 ms
  b.probe(1, 10, 0, {}, 1'000'000, 1'100'000);                       // t = 0: misses it
  b.probe(1, 10, 0, {10}, 1'000'000, 1'200'000);                     // t = 0: sees it
  b.put(1, 20, 1'500'000, 2'000'000);                                // a newer write
  b.probe(1, 10, 2'000'000, {20}, 3'000'000, 3'100'000);             // t = 2 ms: sees a newer one
  b.probe(1, 10, 2'000'000, {}, 3'000'000, 4'000'000, O::kUnknown);  // timed out: failed
  b.probe(1, 10, 2'000'000, {}, 3'000'000, -1);              // in flight at the end: counts nowhere
  b.probe(1, 20, 0, {10}, 2'000'000, 2'100'000, O::kOk, 2);  // group 1, t = 0: misses 20
  b.probe(1, 20, 0, {20}, 2'000'000, 2'200'000, O::kFail, 2);
  const StalenessResult r = run(b);
  const StalenessStats& s = r.total;
  CHECK(s.reads == 0);  // probes are not the workload's reads
  CHECK(s.stale_reads == 0);
  CHECK(s.tvis.empty());
  CHECK(s.ryw_reads == 0);
  CHECK(s.mr_reads == 0);
  REQUIRE(s.probes.size() == 2);
  CHECK(s.probes.at(0).pairs == 3);
  CHECK(s.probes.at(0).visible == 1);
  CHECK(s.probes.at(0).failed == 1);
  CHECK(s.probes.at(2'000'000).pairs == 1);
  CHECK(s.probes.at(2'000'000).visible == 1);
  CHECK(s.probes.at(2'000'000).failed == 1);
  CHECK(r.groups.at(1).probes.at(0).pairs == 1);
  CHECK(r.groups.at(1).probes.at(0).visible == 0);
  // Before the warmup's end, probes are not measured.
  StalenessConfig late;
  late.measured_from = SimTime::from_ns(2'000'000);
  CHECK(run(b, late).total.probes.at(0).pairs == 1);
}

TEST_CASE("staleness: read-your-writes and monotonic reads, per session and key") {
  HistoryBuilder b;
  // Session (node 0, 0) writes 10, then reads an older value: a read-your-writes violation.
  b.put(1, 5, 0, 1, O::kOk, 2);
  b.put(1, 10, 2, 3, O::kOk, 0, 0);
  b.get(1, {5}, 4, 5, O::kOk, 0, 0);
  // Another session of the same node did not write: its stale read breaks no guarantee of
  // its own, but a later even older read breaks monotonic reads.
  b.get(1, {10}, 6, 7, O::kOk, 0, 1);
  b.get(1, {5}, 8, 9, O::kOk, 0, 1);
  // Session (node 1, 0) reads the new value, then the new one again: fine.
  b.get(1, {10}, 6, 7, O::kOk, 1, 0);
  b.get(1, {10}, 8, 9, O::kOk, 1, 0);
  const StalenessResult r = run(b);
  CHECK(r.total.ryw_reads == 1);
  CHECK(r.total.ryw_violations == 1);
  CHECK(r.total.mr_reads == 2);
  CHECK(r.total.mr_violations == 1);
  // Overlapping reads of one session do not constrain each other.
  HistoryBuilder c;
  c.put(1, 5, 0, 1);
  c.put(1, 10, 2, 30);
  c.get(1, {10}, 3, 10);
  c.get(1, {5}, 4, 12);  // started before the first read completed
  CHECK(run(c).total.mr_reads == 0);
}

TEST_CASE("staleness: session guarantees on lists") {
  HistoryBuilder b;
  b.append(1, 1, 0, 1, O::kOk, 0, 0);
  b.append(1, 2, 0, 1, O::kOk, 1, 0);
  b.get(1, {2}, 2, 3, O::kOk, 0, 0);     // misses its own append 1: RYW violation
  b.get(1, {1, 2}, 2, 3, O::kOk, 1, 0);  // fine
  b.get(1, {1}, 4, 5, O::kOk, 1, 0);     // lost 2, seen before: monotonic-read violation
  const StalenessStats s = run(b).total;
  CHECK(s.ryw_reads == 3);
  CHECK(s.ryw_violations == 2);  // the first read, and the last one misses session 1's 2
  CHECK(s.mr_reads == 1);
  CHECK(s.mr_violations == 1);
}

TEST_CASE("staleness: lost writes against the final read-back") {
  SECTION("register: the final read reflects the last write") {
    HistoryBuilder b;
    b.put(1, 10, 0, 1);
    b.put(1, 20, 2, 3);
    b.final_read(b.get(1, {20}, 10, 11));
    const StalenessStats s = run(b).total;
    CHECK(s.acked_writes == 2);
    CHECK(s.lost_writes == 0);
    CHECK(s.unverified_writes == 0);
  }
  SECTION("register: an acknowledged write the final read does not reflect is lost") {
    HistoryBuilder b;
    b.put(1, 10, 0, 1);
    b.put(1, 20, 2, 3);
    b.put(1, 30, 4, 5);
    b.final_read(b.get(1, {10}, 10, 11));
    CHECK(run(b).total.lost_writes == 2);
  }
  SECTION("list: every acknowledged append must be in the final list") {
    HistoryBuilder b;
    b.append(1, 1, 0, 1);
    b.append(1, 2, 0, 1, O::kOk, 2);
    b.append(1, 3, 0, 1, O::kUnknown);  // not acknowledged: not lost
    b.final_read(b.get(1, {1}, 10, 11));
    const StalenessResult r = run(b);
    CHECK(r.total.lost_writes == 1);
    CHECK(r.groups.at(1).lost_writes == 1);  // attributed to the writer's group
    CHECK(r.groups.at(0).lost_writes == 0);
  }
  SECTION("a final read overlapping a write does not verify the key") {
    HistoryBuilder b;
    b.put(1, 10, 0, 20);
    b.final_read(b.get(1, {10}, 10, 11));
    const StalenessResult r = run(b);
    CHECK(r.has_final_reads);
    CHECK(r.total.unverified_writes == 1);
  }
  SECTION("no read-back at all leaves every write unverified") {
    HistoryBuilder b;
    b.put(1, 10, 0, 1);
    b.get(1, {10}, 2, 3);
    const StalenessResult r = run(b);
    CHECK_FALSE(r.has_final_reads);
    CHECK(r.total.unverified_writes == 1);
  }
  SECTION("final reads do not count as workload reads") {
    HistoryBuilder b;
    b.put(1, 10, 0, 1);
    b.final_read(b.get(1, {}, 10, 11));
    const StalenessStats s = run(b).total;
    CHECK(s.reads == 0);
    CHECK(s.lost_writes == 1);
  }
}

TEST_CASE("staleness: duplicate appends") {
  HistoryBuilder b;
  b.append(1, 1, 0, 10);
  b.append(1, 2, 0, 10);
  b.get(1, {1, 2, 1}, 11, 12);
  b.get(1, {1, 2, 1, 2, 1}, 13, 14);
  CHECK(run(b).total.duplicate_appends == 2);
}

TEST_CASE("staleness: reads invoked during the warmup are not counted") {
  HistoryBuilder b;
  b.put(1, 10, 0, 1);
  b.put(1, 20, 2, 3);
  b.get(1, {10}, 4, 5);  // stale, in the warmup
  b.get(1, {10}, 20, 21);
  StalenessConfig c;
  c.measured_from = SimTime::from_ns(10);
  const StalenessStats s = run(b, c).total;
  CHECK(s.reads == 1);
  CHECK(s.stale_reads == 1);
}

TEST_CASE("staleness: figures per client group") {
  HistoryBuilder b;
  b.put(1, 10, 0, 1, O::kOk, 0);
  b.put(1, 20, 2, 3, O::kOk, 0);
  b.get(1, {10}, 4, 5, O::kOk, 2);  // group 1, stale
  b.get(1, {20}, 4, 5, O::kOk, 1);  // group 0, fresh
  const StalenessResult r = run(b);
  CHECK(r.groups.at(1).stale_reads == 1);
  CHECK(r.groups.at(0).stale_reads == 0);
  CHECK(r.groups.at(0).acked_writes == 2);
  CHECK(r.total.reads == 2);
}
