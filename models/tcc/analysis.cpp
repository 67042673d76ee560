// wallet_shard's analysis after a run: is money conserved, did any transfer apply on one
// side only, and how long was money held in flight.
//
// From the shards' marks (shard.h), each made when its change was durable:
//   money_created      the sum over the accounts touched of (final balance - initial
//                      balance), plus the amounts reserved by tries and neither refunded
//                      nor credited yet (money in flight): 0 when no money was made or
//                      lost. The final balance is the last `tcc_balance` mark of the
//                      account, the balance the shard actually wrote, so a confirm applied
//                      twice shows here.
//   negative_balances  balances written below zero.
//   half_applied       transfers confirmed on one side and cancelled on the other, or
//                      credited, reserved or refunded more than once, or both credited and
//                      refunded.
//   in_flight_at_end   sides tried and neither confirmed nor cancelled when the run ended.
//   out_of_order_cancels  cancels that came before their try.
//   in_flight_ms_*     per transfer, from its reservation to its credit or refund.
// Figures are per shard group (the marks of its nodes).
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "models/kit/samples.h"
#include "models/tcc/shard.h"

namespace dsim::tcc {

namespace {

using kit::nearest_rank;
using kit::three_decimals;

struct Transfer {
  int reserves = 0, refunds = 0, credits = 0;
  int64_t reserved = 0;
  SimTime reserved_at;
  uint8_t tried = 0;      // bit per side
  uint8_t confirmed = 0;  // bit per side
  uint8_t cancelled = 0;  // bit per side
};

struct GroupTally {
  std::map<uint64_t, Transfer> transfers;
  std::map<int64_t, int64_t> balances;  // account -> last balance written
  int64_t negative = 0;
  int64_t out_of_order = 0;
  std::vector<double> flight_ms;
};

void add_mark(GroupTally& g, std::string_view kind, const TimelineMark& m) {
  if (kind == "tcc_balance") {
    g.balances[m.a] = m.b;
    if (m.b < 0) ++g.negative;
    return;
  }
  if (kind == "tcc_out_of_order") {
    ++g.out_of_order;
    return;
  }
  Transfer& t = g.transfers[static_cast<uint64_t>(m.a)];
  if (kind == "tcc_tried") {
    t.tried |= static_cast<uint8_t>(1u << (m.b & 1));
  } else if (kind == "tcc_phase2") {
    const auto side = static_cast<uint8_t>(1u << ((m.b >> 1) & 1));
    if (m.b & 1) {
      t.confirmed |= side;
    } else {
      t.cancelled |= side;
    }
  } else if (kind == "tcc_reserve") {
    ++t.reserves;
    t.reserved = m.b;
    t.reserved_at = m.at;
  } else if (kind == "tcc_refund" || kind == "tcc_credit") {
    ++(kind == "tcc_refund" ? t.refunds : t.credits);
    if (t.reserves > 0 && t.refunds + t.credits == 1) {
      g.flight_ms.push_back(static_cast<double>((m.at - t.reserved_at).ns()) / 1e6);
    }
  }
}

}  // namespace

AnalysisOutput WalletShard::analyze(const AnalysisInput& in) {
  constexpr uint32_t kNone = 0xffffffffu;
  std::vector<uint32_t> group_of(in.node_count, kNone);
  for (uint32_t g = 0; g < in.groups.size(); ++g)
    for (NodeId n : in.groups[g].nodes)
      group_of[n] = g;
  std::vector<GroupTally> tally(in.groups.size());
  for (const TimelineMark& m : in.marks) {
    const uint32_t g = m.node < group_of.size() ? group_of[m.node] : kNone;
    if (g == kNone) continue;
    const std::string_view kind = in.symbol_name(m.kind);
    if (kind.substr(0, 4) != "tcc_") continue;
    add_mark(tally[g], kind, m);
  }
  AnalysisOutput out;
  for (uint32_t g = 0; g < in.groups.size(); ++g) {
    const auto* config = static_cast<const Config*>(in.groups[g].config);
    const int64_t initial = config ? config->initial_balance : 0;
    const GroupTally& t = tally[g];
    int64_t created = 0, half = 0, in_flight = 0, tried = 0;
    for (const auto& [account, value] : t.balances)
      created += value - initial;
    for (const auto& [id, tr] : t.transfers) {
      tried += tr.tried != 0 ? 1 : 0;
      if (tr.reserves == 1 && tr.refunds == 0 && tr.credits == 0) created += tr.reserved;
      const bool both_ways =
          (tr.confirmed != 0 && tr.cancelled != 0) || (tr.credits > 0 && tr.refunds > 0);
      if (both_ways || tr.credits > 1 || tr.refunds > 1 || tr.reserves > 1) ++half;
      for (uint8_t side = 1; side <= 2; side <<= 1)
        if ((tr.tried & side) && !(tr.confirmed & side) && !(tr.cancelled & side)) ++in_flight;
    }
    const std::string& name = in.groups[g].name;
    out.rows.push_back({name, "", "money_created", static_cast<double>(created)});
    out.rows.push_back({name, "", "negative_balances", static_cast<double>(t.negative)});
    out.rows.push_back({name, "", "half_applied", static_cast<double>(half)});
    out.rows.push_back({name, "", "in_flight_at_end", static_cast<double>(in_flight)});
    out.rows.push_back({name, "", "out_of_order_cancels", static_cast<double>(t.out_of_order)});
    out.rows.push_back({name, "", "transfers_tried", static_cast<double>(tried)});
    out.rows.push_back({name, "", "in_flight_ms_p50", nearest_rank(t.flight_ms, 0.5)});
    out.rows.push_back({name, "", "in_flight_ms_p99", nearest_rank(t.flight_ms, 0.99)});
    out.rows.push_back({name, "", "in_flight_ms_max", nearest_rank(t.flight_ms, 1.0)});
    out.text += name + " money: " +
                (created == 0 ? std::string("conserved")
                              : std::to_string(created) + " created (negative: lost)") +
                "; " + std::to_string(half) + " transfers half applied, " +
                std::to_string(in_flight) + " sides in flight at the end, " +
                std::to_string(t.out_of_order) + " out-of-order cancels; in flight p99 " +
                three_decimals(nearest_rank(t.flight_ms, 0.99)) + " ms" +
                (in.marks_truncated ? " (marks truncated: figures incomplete)" : "") + '\n';
  }
  return out;
}

}  // namespace dsim::tcc
