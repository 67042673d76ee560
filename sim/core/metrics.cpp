#include "sim/core/metrics.h"

#include <algorithm>

#include "sim/core/assert.h"

namespace dsim {

MetricsRecorder::MetricsRecorder(SymbolTable* symbols, Duration warmup, Duration window,
                                 SimTime end)
    : symbols_(symbols), warmup_(warmup), window_(window), end_(end) {
  DSIM_ASSERT(window_.ns() > 0);
}

void MetricsRecorder::add_node(uint32_t group) {
  node_group_.push_back(group);
}

double MetricsRecorder::measured_seconds() const {
  return std::max<int64_t>(0, (end_.since_start() - warmup_).ns()) / 1e9;
}

OpWindow& MetricsRecorder::window_of(OpStats& s, SimTime t) {
  const size_t i = window_index(t);
  if (i >= s.windows.size()) s.windows.resize(i + 1);
  return s.windows[i];
}

void MetricsRecorder::mark(Symbol kind, int64_t a, int64_t b) {
  if (marks_.size() >= kMaxMarks) {
    ++marks_dropped_;
    return;
  }
  marks_.push_back(TimelineMark{now_, node_, kind, a, b});
}

OpToken MetricsRecorder::begin_op(Symbol op) {
  uint32_t slot;
  if (!free_op_slots_.empty()) {
    slot = free_op_slots_.back();
    free_op_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(op_slots_.size());
    op_slots_.emplace_back();
  }
  OpSlot& s = op_slots_[slot];
  s.begin = now_;
  s.op = op;
  s.group = node_group_[node_];
  s.live = true;
  s.history = {};
  s.in_history = false;
  ++s.generation;
  ++window_of(ops_[{s.group, op}], now_).started;
  return OpToken{(static_cast<uint64_t>(s.generation) << 32) | (slot + 1ULL)};
}

MetricsRecorder::OpSlot* MetricsRecorder::live_slot(OpToken token) {
  if (!token.valid()) return nullptr;
  const auto slot = static_cast<uint32_t>((token.id & 0xffffffffULL) - 1);
  const auto generation = static_cast<uint32_t>(token.id >> 32);
  if (slot >= op_slots_.size()) return nullptr;
  OpSlot& s = op_slots_[slot];
  if (!s.live || s.generation != generation) return nullptr;  // already ended
  return &s;
}

void MetricsRecorder::op_invoke(OpToken token, const HistoryFamily& family,
                                const void* invocation) {
  OpSlot* s = live_slot(token);
  if (!s || s->history.valid() || s->in_history) return;
  s->in_history = true;
  s->history = history_.invoke(family, s->begin, node_, s->op, invocation);
}

void MetricsRecorder::op_result(OpToken token, HistoryOutcome outcome, const void* result,
                                uint32_t attempts) {
  OpSlot* s = live_slot(token);
  if (!s || !s->history.valid()) return;
  history_.complete(s->history, now_, outcome, result, attempts);
}

void MetricsRecorder::end_op(OpToken token, Outcome outcome) {
  OpSlot* live = live_slot(token);
  if (!live) return;
  OpSlot& s = *live;
  const auto slot = static_cast<uint32_t>(&s - op_slots_.data());
  s.live = false;
  free_op_slots_.push_back(slot);
  if (s.history.valid()) {  // no-op when op_result() completed it already
    history_.complete(s.history, now_,
                      outcome == Outcome::kOk        ? HistoryOutcome::kOk
                      : outcome == Outcome::kTimeout ? HistoryOutcome::kUnknown
                                                     : HistoryOutcome::kFail,
                      nullptr, 1);
    history_.set_served(s.history, outcome == Outcome::kOk);
  }
  OpStats& stats = ops_[{s.group, s.op}];
  const auto o = static_cast<size_t>(outcome);
  const Duration latency = now_ - s.begin;
  OpWindow& w = window_of(stats, s.begin);
  ++w.outcomes[o];
  if (outcome == Outcome::kOk) {
    w.latency_ok.record(latency.ns());
    ++window_of(stats, now_).ok_completed;
  }
  if (!measured(s.begin)) return;
  ++stats.completed[o];
  if (outcome == Outcome::kOk) stats.latency_ok.record(latency.ns());
}

void MetricsRecorder::count(Symbol metric, int64_t delta) {
  if (!measured(now_)) return;
  counters_[{node_group_[node_], metric}] += delta;
}

void MetricsRecorder::observe(Symbol metric, Duration value) {
  if (!measured(now_)) return;
  auto key = std::make_pair(node_group_[node_], metric);
  auto it = observations_.find(key);
  if (it == observations_.end())
    it = observations_.emplace(key, Histogram(kSummaryHistogramBits)).first;
  it->second.record(value.ns());
}

void MetricsRecorder::integrate(LevelStats& stats, NodeLevel& node_level, SimTime until) {
  const SimTime from = std::max(node_level.since, SimTime::zero() + warmup_);
  if (until > from) {  // the value held during the measured period: a level set before the
    // warmup ended and unchanged since counts in the peak too
    stats.integral += node_level.value * (until - from).to_seconds();
    stats.peak = std::max(stats.peak, node_level.value);
  }
  node_level.since = until;
}

void MetricsRecorder::level(Symbol metric, double value) {
  const uint32_t group = node_group_[node_];
  LevelStats& stats = levels_[{group, metric}];
  auto [it, inserted] = node_levels_.try_emplace({node_, metric});
  if (inserted) it->second.since = now_;
  integrate(stats, it->second, now_);
  it->second.value = value;
  if (measured(now_)) stats.peak = std::max(stats.peak, value);
}

void MetricsRecorder::finish(SimTime end) {
  end_ = end;
  for (auto& [key, node_level] : node_levels_) {
    integrate(levels_[{node_group_[key.first], key.second}], node_level, end);
  }
  for (const auto& s : op_slots_) {
    if (s.live && measured(s.begin)) ++ops_[{s.group, s.op}].in_flight_at_end;
  }
}

}  // namespace dsim
