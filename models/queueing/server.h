// `server`: a service station with c identical workers and a FIFO queue of optional
// capacity; service times come from a distribution per operation type. With exponential
// inter-arrival and service times this is the M/M/c/K queue of queueing theory. With a
// `concurrency_limit` (the worker pool's), a request finding L on the node (waiting,
// served, or awaiting its sync) is refused at once.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/kit/ties.h"
#include "models/kit/worker_pool.h"
#include "models/queueing/messages.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/registry.h"
#include "sim/core/report_figure.h"

namespace dsim::queueing {

class Server final : public Model {
 public:
  static constexpr std::string_view kName = "server";
  static constexpr std::string_view kDescription =
      "c workers behind a FIFO queue of optional capacity; service time per operation type "
      "(M/M/c/K with exponential times)";

  struct Config {
    kit::WorkerPoolSpec pool;  ///< workers and the queue's capacity
    /// Service time per operation name; the entry named "" applies to the others.
    std::vector<std::pair<std::string, Distribution>> service = {
        {"", Distribution::exponential(1e6).with_dim(Distribution::Dim::kTime)}};
    uint64_t response_bytes = 512;
    /// Operations whose effect is written to the node's disk and synced before the
    /// response: "none", "all", or one operation name.
    std::string persist = "none";
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  /// Its sections of the HTML report: queue waits, utilization, concurrency limit (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);

  explicit Server(const Config& config)
      : config_(config), pool_(config.pool), service_times_(config.service) {}

  /// `dsim analyze run`: each server group fed by Poisson clients beside M/M/c (theory.cpp).
  static TheoryOutput theory(const TheoryInput& in);

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;
  void on_stop(Context& ctx) override;
  void check_invariants() const override;

 private:
  enum class Timer : uint8_t { kService };  // value: the worker
  struct Job {
    NodeId client;  // the node to answer (the call's reply_to)
    uint64_t call;  // the call's id
    Symbol op;
    uint64_t tie = 0;               // a tied request's tie (0: not tied)
    NodeId peer = kNoNode;          // ... and the node holding its other copy
    kit::Admission::Ticket ticket;  // let in by the concurrency limit
  };
  void on_cancel(Context& ctx, NodeId from, const Cancel& c);
  void admit(Context& ctx, const Request& req, uint64_t tie, NodeId peer);
  void start(Context& ctx, size_t worker, const Job& job);
  void respond(Context& ctx, const Job& job);
  /// Answers `job` and lets it leave the node (`accepted`: served, not refused).
  void answer(Context& ctx, const Job& job, bool accepted);

  const Config& config_;
  kit::WorkerPool<Job> pool_;
  kit::CancelledTies ties_;  // tied requests whose other copy was begun before they came
  kit::ServiceTimes service_times_;
  std::map<uint64_t, Job> awaiting_sync_;  // by sync id: reply when durable
  Symbol persist_op_;                      // valid: persist only this op
  Symbol m_served_, m_rejected_, m_cancelled_;
  Symbol m_persisted_, m_disk_full_, m_recovered_;
};

}  // namespace dsim::queueing
