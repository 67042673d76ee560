// The txn history family and its serializability checker, on histories written by hand:
// serial histories pass; a lost update, write skew, a read of an aborted write and a
// long cycle are each found with the transactions involved; a transaction of unknown
// outcome that was read counts as committed; a chain of 10^5 transactions is checked
// without recursion.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "models/txn/check.h"
#include "models/txn/history.h"

using namespace dsim;
using namespace dsim::txn;

namespace {

constexpr HistoryOutcome kOk = HistoryOutcome::kOk;
constexpr HistoryOutcome kFail = HistoryOutcome::kFail;
constexpr HistoryOutcome kUnknown = HistoryOutcome::kUnknown;

TxnOp r(uint64_t key) {
  return {key, 0, false};
}
TxnOp w(uint64_t key, int64_t value) {
  return {key, value, true};
}

// Appends transaction `id` of client `client`, invoked at id ms and completed 1 ms later.
void add(TxnHistory& h, uint64_t id, HistoryOutcome outcome, std::vector<TxnOp> ops,
         std::vector<int64_t> reads = {}, NodeId client = 0) {
  TxnHistoryOp t;
  t.txn = id;
  t.client = client;
  t.invoke = SimTime::zero() + ms(static_cast<int64_t>(id));
  t.complete = t.invoke + ms(1);
  t.outcome = outcome;
  t.attempts = 1;
  t.served = outcome == kOk;
  h.add(t, ops, reads);
}

// The checkers' output over `h`; nodes 0 and 1 are group "clients", node 2 "others".
struct Checked {
  AnalysisOutput out;
  double get(const std::string& group, const std::string& metric) const {
    for (const auto& row : out.rows)
      if (row.group == group && row.metric == metric && row.op.empty()) return row.value;
    FAIL("no row " << group << "." << metric);
    return 0;
  }
  double run(const std::string& metric) const { return get("run", metric); }
  std::string file(const std::string& name) const {
    for (const auto& [n, content] : out.files)
      if (n == name) return content;
    FAIL("no file " << name);
    return {};
  }
};

const std::vector<uint32_t> kNodeGroup = {0, 0, 1};
const std::vector<std::string> kGroupNames = {"clients", "others"};

Checked check(const TxnHistory& h, bool truncated = false) {
  HistoryCheckInput in;
  in.log = &h;
  in.truncated = truncated;
  in.node_group = kNodeGroup;
  in.group_names = kGroupNames;
  in.node_name = [](NodeId n) { return (n < 2 ? "clients." : "others.") + std::to_string(n); };
  in.file_header = "# test\n";
  Checked c;
  for (const auto& checker : txn_history_family().checkers) {
    AnalysisOutput o = checker.run(in);
    c.out.rows.insert(c.out.rows.end(), o.rows.begin(), o.rows.end());
    c.out.files.insert(c.out.files.end(), o.files.begin(), o.files.end());
    c.out.text += o.text;
  }
  return c;
}

}  // namespace

TEST_CASE("txn history: recording keeps operations and a committed transaction's reads") {
  TxnHistory h;
  const std::vector<TxnOp> ops = {r(1), w(2, 7)};
  const uint32_t a = h.invoke(SimTime::zero() + ms(1), 0, TxnInvocation{5, ops});
  const uint32_t b = h.invoke(SimTime::zero() + ms(2), 1, TxnInvocation{6, ops});
  const uint64_t before = h.bytes();
  const std::vector<int64_t> reads = {0, 3};
  h.complete(a, SimTime::zero() + ms(3), kOk, reads, 2);
  h.complete(a, SimTime::zero() + ms(4), kFail, {}, 1);  // the first completion stays
  h.complete(b, SimTime::zero() + ms(5), kFail, reads, 1);
  REQUIRE(h.size() == 2);
  CHECK(h.txns()[0].txn == 5);
  CHECK(h.txns()[0].outcome == kOk);
  CHECK(h.txns()[0].attempts == 2);
  CHECK(h.txns()[0].complete == SimTime::zero() + ms(3));
  CHECK(h.ops_of(h.txns()[0]).size() == 2);
  CHECK(h.ops_of(h.txns()[0])[1] == w(2, 7));
  CHECK(std::vector<int64_t>(h.reads_of(h.txns()[0]).begin(), h.reads_of(h.txns()[0]).end()) ==
        reads);
  CHECK(h.reads_of(h.txns()[1]).empty());  // aborted: no reads kept
  CHECK(h.bytes() == before + 2 * sizeof(int64_t));
  CHECK(h.span(1).client == 1);
  CHECK(txn_ops_text(ops) == "r1 w2=7");
}

TEST_CASE("txn serializability: a serial history is serializable") {
  TxnHistory h;
  add(h, 1, kOk, {w(1, 10)}, {0});
  add(h, 2, kOk, {r(1), w(1, 20), w(2, 21)}, {10, 10, 0});
  add(h, 3, kOk, {r(1), r(2)}, {20, 21});
  add(h, 4, kFail, {w(1, 40)});  // aborted, read by no one
  const Checked c = check(h);
  CHECK(c.run("serializable") == 1);
  CHECK(c.run("txns_checked") == 3);
  CHECK(c.run("serializability_cycles") == 0);
  CHECK(c.run("txns_in_cycles") == 0);
  CHECK(c.run("aborted_reads") == 0);
  CHECK(c.run("garbage_reads") == 0);
  CHECK(c.get("clients", "serializable") == 1);
  CHECK(c.get("clients", "txns_checked") == 3);
  CHECK(c.out.text.find("serializability: serializable (3 transactions checked") !=
        std::string::npos);
  const std::string csv = c.file("txn_history.csv");
  CHECK(csv.find("index,client,txn,ops,reads,outcome,invoke_ns,complete_ns,attempts\n") !=
        std::string::npos);
  CHECK(csv.find("\n1,clients.0,2,r1 w1=20 w2=21,10 10 0,ok,2000000,3000000,1\n") !=
        std::string::npos);
  CHECK(csv.find("\n3,clients.0,4,w1=40,,fail,4000000,5000000,1\n") != std::string::npos);
  CHECK(c.file("txn_anomalies.csv").find("kind,txns,keys,component_size,value,detail\n") !=
        std::string::npos);
}

TEST_CASE("txn serializability: a lost update is a cycle of two") {
  TxnHistory h;
  add(h, 1, kOk, {w(1, 10)}, {0});
  add(h, 2, kOk, {r(1), w(1, 20)}, {10, 10});
  add(h, 3, kOk, {r(1), w(1, 30)}, {10, 10});
  const Checked c = check(h);
  CHECK(c.run("serializable") == 0);
  CHECK(c.run("serializability_cycles") == 1);
  CHECK(c.run("txns_in_cycles") == 2);
  CHECK(c.run("txns_checked") == 3);
  const SerializabilityResult r = check_serializability(h);
  REQUIRE(r.anomalies.size() == 1);
  const TxnAnomaly& a = r.anomalies[0];
  CHECK(a.kind == TxnAnomaly::Kind::kCycle);
  CHECK(a.txns == std::vector<uint32_t>{1, 2});
  CHECK(a.edges == std::vector<DependencyKind>{DependencyKind::kRw, DependencyKind::kRw});
  CHECK(a.keys == std::vector<uint64_t>{1, 1});
  CHECK(r.txns[0].cycle == SerializabilityResult::kNoCycle);
  CHECK(r.txns[1].cycle == r.txns[2].cycle);
  CHECK(c.file("txn_anomalies.csv").find("\ncycle,2 3,1 1,2,,2 -rw(k1)-> 3 -rw(k1)-> 2\n") !=
        std::string::npos);
  CHECK(c.out.text.find("cycle: 2 -rw(k1)-> 3 -rw(k1)-> 2") != std::string::npos);
}

TEST_CASE("txn serializability: write skew is a cycle of anti-dependencies") {
  TxnHistory h;
  add(h, 1, kOk, {r(1), r(2), w(1, 11)}, {0, 0, 0});
  add(h, 2, kOk, {r(1), r(2), w(2, 21)}, {0, 0, 0});
  add(h, 3, kOk, {r(1), r(2)}, {11, 21});
  const Checked c = check(h);
  CHECK(c.run("serializable") == 0);
  CHECK(c.run("serializability_cycles") == 1);
  CHECK(c.run("txns_in_cycles") == 2);
  CHECK(c.run("aborted_reads") == 0);
  const SerializabilityResult r = check_serializability(h);
  REQUIRE(r.anomalies.size() == 1);
  CHECK(r.anomalies[0].txns == std::vector<uint32_t>{0, 1});
  CHECK(r.anomalies[0].edges ==
        std::vector<DependencyKind>{DependencyKind::kRw, DependencyKind::kRw});
  CHECK(r.anomalies[0].keys == std::vector<uint64_t>{1, 2});  // 1 -> 0 on key 1, 0 -> 1 on 2
}

TEST_CASE("txn serializability: a read of an aborted write is counted in its group") {
  TxnHistory h;
  add(h, 1, kFail, {w(1, 10)}, {}, 0);
  add(h, 2, kOk, {r(1)}, {10}, 2);
  add(h, 3, kOk, {w(2, 30)}, {0}, 1);
  const Checked c = check(h);
  CHECK(c.run("serializable") == 0);
  CHECK(c.run("aborted_reads") == 1);
  CHECK(c.run("garbage_reads") == 0);
  CHECK(c.run("serializability_cycles") == 0);
  CHECK(c.run("txns_checked") == 2);
  CHECK(c.get("others", "aborted_reads") == 1);
  CHECK(c.get("others", "serializable") == 0);
  CHECK(c.get("clients", "aborted_reads") == 0);
  CHECK(c.get("clients", "serializable") == 1);
  CHECK(c.get("clients", "txns_checked") == 1);
  CHECK(c.file("txn_anomalies.csv")
            .find("\naborted_read,2 1,1,,10,2 read k1=10 written by "
                  "aborted 1\n") != std::string::npos);
}

TEST_CASE("txn serializability: a read of a value no one wrote is a garbage read") {
  TxnHistory h;
  add(h, 1, kOk, {w(1, 10)}, {0});
  add(h, 2, kOk, {r(1), r(2)}, {10, 10});  // 10 was written to key 1, not 2
  const Checked c = check(h);
  CHECK(c.run("serializable") == 0);
  CHECK(c.run("garbage_reads") == 1);
  CHECK(c.run("aborted_reads") == 0);
}

TEST_CASE("txn serializability: a transaction of unknown outcome that was read committed") {
  TxnHistory h;
  add(h, 1, kUnknown, {w(1, 10)});
  add(h, 2, kOk, {r(1), w(1, 20)}, {10, 10});
  add(h, 3, kUnknown, {w(2, 30)});  // read by no one: left out
  add(h, 4, kOk, {r(2)}, {0});
  const Checked c = check(h);
  CHECK(c.run("serializable") == 1);
  CHECK(c.run("aborted_reads") == 0);
  CHECK(c.run("garbage_reads") == 0);
  CHECK(c.run("txns_checked") == 3);
  const SerializabilityResult r = check_serializability(h);
  CHECK(r.unknown_committed == 1);
  CHECK(r.txns[0].checked);
  CHECK_FALSE(r.txns[2].checked);
  CHECK(r.edges == 1);  // ww 1 -> 2 on key 1; none into 3, which is left out
}

TEST_CASE("txn serializability: a truncated history is serializable only if it shows a flaw") {
  TxnHistory h;
  add(h, 1, kOk, {w(1, 10)}, {0});
  CHECK(std::isnan(check(h, true).run("serializable")));
  CHECK(check(h, true).out.text.find("unknown (history truncated") != std::string::npos);
  add(h, 2, kOk, {r(1)}, {99});
  CHECK(check(h, true).run("serializable") == 0);
}

TEST_CASE("txn serializability: a chain of 10^5 transactions is checked without recursion") {
  constexpr int64_t kTxns = 100'000;
  TxnHistory h;
  // Transaction i replaces key 0's value i - 1 with i, so each depends on the one before.
  for (int64_t i = 1; i <= kTxns; ++i)
    add(h, static_cast<uint64_t>(i), kOk, {r(0), w(0, i)}, {i - 1, i - 1});
  const Checked c = check(h);
  CHECK(c.run("serializable") == 1);
  CHECK(c.run("txns_checked") == kTxns);
  CHECK(c.run("serializability_cycles") == 0);

  // The first also read key 1, written last by the last one: a cycle through all of them.
  TxnHistory loop;
  add(loop, 1, kOk, {r(0), w(0, 1), r(1)}, {0, 0, -7});
  for (int64_t i = 2; i < kTxns; ++i)
    add(loop, static_cast<uint64_t>(i), kOk, {r(0), w(0, i)}, {i - 1, i - 1});
  add(loop, kTxns, kOk, {r(0), w(0, kTxns), w(1, -7)}, {kTxns - 1, kTxns - 1, 0});
  const SerializabilityResult r = check_serializability(loop);
  CHECK(r.cycles == 1);
  CHECK(r.txns_in_cycles == kTxns);
  REQUIRE(r.anomalies.size() == 1);
  CHECK(r.anomalies[0].txns.size() == kTxns);
  CHECK(r.anomalies[0].component_size == kTxns);
  CHECK(r.anomalies[0].edges[0] == DependencyKind::kWr);  // into the first, on key 1
  CHECK(r.anomalies[0].keys[0] == 1);
}
