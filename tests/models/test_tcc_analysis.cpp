// wallet_shard's analysis on scripted marks: a clean transfer and a cancelled one conserve
// money; a confirm applied twice, a transfer both credited and refunded, and a reservation
// still held at the end are each seen.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "models/tcc/shard.h"

using namespace dsim;
using namespace dsim::tcc;

namespace {

const std::vector<std::string> kKinds = {"tcc_tried",       "tcc_reserve", "tcc_refund",
                                         "tcc_credit",      "tcc_balance", "tcc_phase2",
                                         "tcc_out_of_order"};

Symbol kind(const std::string& name) {
  for (uint32_t i = 0; i < kKinds.size(); ++i)
    if (kKinds[i] == name) return Symbol{i};
  FAIL("no mark kind " << name);
  return Symbol{};
}

struct Marks {
  std::vector<TimelineMark> marks;
  int64_t ms = 0;

  void add(const std::string& k, int64_t a, int64_t b) {
    marks.push_back(TimelineMark{SimTime::zero() + dsim::ms(++ms), 0, kind(k), a, b});
  }
  // Account 1 (shard balance 100) pays 30 to account 2 in transfer `t`: tried both sides.
  void tried(int64_t t, int64_t debit_balance) {
    add("tcc_tried", t, 0);
    add("tcc_reserve", t, 30);
    add("tcc_balance", 1, debit_balance);
    add("tcc_tried", t, 1);
  }
  void confirm_credit(int64_t t, int64_t credit_balance) {
    add("tcc_phase2", t, 1 * 2 + 1);
    add("tcc_credit", t, 30);
    add("tcc_balance", 2, credit_balance);
  }
  void confirm_debit(int64_t t) { add("tcc_phase2", t, 0 * 2 + 1); }

  std::map<std::string, double> analyze() const {
    static const WalletShard::Config config{100};
    AnalysisInput in;
    in.groups.push_back({"shards", {0}, &config, 0});
    in.marks = marks;
    in.node_count = 1;
    in.end = SimTime::zero() + seconds(1);
    in.symbol_name = [](Symbol s) { return std::string_view(kKinds.at(s.id)); };
    std::map<std::string, double> figures;
    for (const auto& row : WalletShard::analyze(in).rows)
      figures[row.metric] = row.value;
    return figures;
  }
};

}  // namespace

TEST_CASE("tcc analysis: confirmed and cancelled transfers conserve money") {
  Marks m;
  m.tried(1, 70);
  m.confirm_debit(1);
  m.confirm_credit(1, 130);
  m.tried(2, 40);
  m.add("tcc_phase2", 2, 0);
  m.add("tcc_refund", 2, 30);
  m.add("tcc_balance", 1, 70);
  m.add("tcc_phase2", 2, 2);
  auto f = m.analyze();
  CHECK(f["money_created"] == 0);
  CHECK(f["half_applied"] == 0);
  CHECK(f["in_flight_at_end"] == 0);
  CHECK(f["transfers_tried"] == 2);
  CHECK(f["in_flight_ms_max"] > 0);
}

TEST_CASE("tcc analysis: a confirm applied twice creates money and is half applied") {
  Marks m;
  m.tried(1, 70);
  m.confirm_debit(1);
  m.confirm_credit(1, 130);
  m.add("tcc_credit", 1, 30);  // a non-idempotent repeat
  m.add("tcc_balance", 2, 160);
  auto f = m.analyze();
  CHECK(f["money_created"] == 30);
  CHECK(f["half_applied"] == 1);
}

TEST_CASE("tcc analysis: confirmed on one side and cancelled on the other is half applied") {
  Marks m;
  m.tried(1, 70);
  m.add("tcc_phase2", 1, 0);  // debit side cancelled: refunded
  m.add("tcc_refund", 1, 30);
  m.add("tcc_balance", 1, 100);
  m.confirm_credit(1, 130);  // credit side confirmed
  auto f = m.analyze();
  CHECK(f["half_applied"] == 1);
  CHECK(f["money_created"] == 30);
}

TEST_CASE("tcc analysis: a reservation held at the end is in flight, not lost") {
  Marks m;
  m.tried(1, 70);
  m.add("tcc_balance", 1, 70);
  auto f = m.analyze();
  CHECK(f["money_created"] == 0);
  CHECK(f["in_flight_at_end"] == 2);
  m.add("tcc_balance", 1, -5);
  CHECK(m.analyze()["negative_balances"] == 1);
}
