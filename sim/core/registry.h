// The explicit list of models a scenario can name, and of the history families their
// clients record with the checkers that judge them. models/builtin.cpp fills it; nothing
// registers itself.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/cycles.h"
#include "sim/core/distribution.h"
#include "sim/core/history.h"
#include "sim/core/metric_decls.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"
#include "sim/core/timeline.h"

namespace dsim {

/// What a model's theory hook reads: the scenario's groups and network, and the figures a
/// finished run reported (`dsim analyze run DIR`).
struct TheoryInput {
  struct Group {
    std::string name;
    std::string model;
    uint32_t count = 0;
    const void* config = nullptr;  ///< the group's parsed Config (its model's own type)
  };
  std::vector<Group> groups;  ///< every group of the scenario, in order
  Distribution network_latency;
  double network_loss = 0;
  /// A summary figure (group, op, metric) of the run; nullopt when it has none.
  std::function<std::optional<double>(const std::string& group, const std::string& op,
                                      const std::string& metric)>
      figure;
};

/// What it returns: text for the terminal, and how many groups it had a closed form for.
struct TheoryOutput {
  std::string text;
  int recognised = 0;
};

/// What a model type provides to be registered with ModelRegistry::add<M>():
///   static constexpr std::string_view kName, kDescription;
///   struct Config {...};                              every default written in it
///   static Config parse(ParamReader& r);              one r.<type>(key, default, help) per key
///   explicit M(const Config& c);                      c outlives the model
///   static void declare(const Config& c, MetricDecls& d);   every figure it can report
///                                                           and operation it records
/// and, optionally, a post-run analysis of the groups running it (timeline.h):
///   static AnalysisOutput analyze(const AnalysisInput& in);
/// and its sections of the HTML report, from the files its analysis wrote (report_figure.h):
///   static std::vector<ReportSection> report(const ReportInput& in);
/// and a comparison of a finished run's figures with closed-form theory:
///   static TheoryOutput theory(const TheoryInput& in);
/// and the groups a group of it calls (the scenario's call graph, checked for cycles):
///   static std::vector<std::string> callees(const Config& c);
/// and whether a group with this config has a virtual address its nodes claim
/// (Context::group_address; a balancer pair's VIP):
///   static bool virtual_address(const Config& c);
/// and its cycle-driven form (engine: cycles, cycles.h), with what keeps a config from
/// running cycle-driven ("" when nothing does; else "key: why"):
///   static std::unique_ptr<CycleGroup> cycle_group(const Config& c, const CycleSetup& s);
///   static std::string cycle_refusal(const Config& c);
/// and, when its nodes report roles (Model::role()) that fault targets can name
/// (`replicas.leader`), every one of them:
///   static constexpr std::string_view kRoles[] = {"leader", "follower", "candidate"};
template <class M>
concept RegistrableModel = requires(ParamReader& r, const typename M::Config& c, MetricDecls& d) {
  { M::kName } -> std::convertible_to<std::string_view>;
  { M::kDescription } -> std::convertible_to<std::string_view>;
  { M::parse(r) } -> std::same_as<typename M::Config>;
  {std::make_unique<M>(c)};
  {M::declare(c, d)};
};

struct ModelFactory {
  std::string name;
  std::string description;
  /// Parses a group's params into an opaque config (errors go to the reader's diagnostics).
  std::function<std::shared_ptr<const void>(ParamReader&)> parse;
  /// Makes one node's model from a parsed config.
  std::function<std::unique_ptr<Model>(const void* config)> create;
  /// The figures a group with this parsed config can report and the operations it records.
  std::function<void(const void* config, MetricDecls&)> declare;
  /// Optional: after the run, computes figures and files from the run's record (marks,
  /// node life events, faults) for the groups running this model. Called once per run
  /// with every such group; empty when the model has no analysis.
  std::function<AnalysisOutput(const AnalysisInput&)> analyze;
  /// Optional: `dsim analyze run DIR` — the run's figures beside closed-form theory, for the
  /// groups running this model (called once, with every group of the scenario).
  std::function<TheoryOutput(const TheoryInput&)> theory;
  /// Optional: `dsim report` — the sections of the HTML report about the groups running
  /// this model (called once per run directory, with every such group).
  std::function<std::vector<ReportSection>(const ReportInput&)> report;

  /// Optional: the groups a group with this parsed config calls (the call graph, which
  /// must have no cycle).
  std::function<std::vector<std::string>(const void* config)> callees;
  /// Optional: whether a group with this parsed config has a virtual address.
  std::function<bool(const void* config)> virtual_address;
  /// Optional: the model's cycle-driven form (engine: cycles), for one group; and what
  /// keeps a parsed config from running cycle-driven ("" when nothing does).
  std::function<std::unique_ptr<CycleGroup>(const void* config, const CycleSetup&)> cycle_group;
  std::function<std::string(const void* config)> cycle_refusal;
  /// The roles its nodes can report (Model::role()), which fault targets may name.
  std::vector<std::string> roles;
  /// sizeof one node's model object: what a node of this model holds at the least, beside
  /// the engine's own per-node state (the memory estimate, sim/run/resource_limits.h).
  uint64_t model_bytes = 0;

  /// The parameters with type, default and help, taken from parse() in doc mode.
  std::vector<ParamDoc> params() const;
};

/// What a history checker reads: one family's log and the run around it.
struct HistoryCheckInput {
  const HistoryLog* log = nullptr;
  const void* settings = nullptr;  ///< the family's parsed settings (HistoryFamilyEntry)
  /// The run's histories filled their memory budget: operations invoked later are missing,
  /// so a verdict over the whole run (e.g. "linearizable") cannot be given.
  bool truncated = false;
  SimTime warmup_end;                            ///< figures count what began at or after this
  SimTime end;                                   ///< when the run ended
  std::span<const uint32_t> node_group;          ///< each node's group index
  std::span<const std::string> group_names;      ///< by group index
  std::function<std::string(NodeId)> node_name;  ///< "group.index"
  std::string file_header;                       ///< the '#' line output files start with
  /// Optional (may be empty): a checker that takes long calls it as it goes (items done of
  /// total, e.g. keys), for a progress display. It never changes what the checker finds.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

/// One checker of a family: its figures go to the summary (where `checks:` can name them),
/// its files to the run directory, its lines to the terminal.
struct HistoryChecker {
  std::string name;  ///< e.g. "linearizability"
  std::string description;
  /// The group-level figures it reports (rows with an empty op): the names `checks:` may use.
  std::vector<std::string> metrics;
  std::function<AnalysisOutput(const HistoryCheckInput&)> run;
};

/// A history family (history.h) and its checkers, run in this order after every run in
/// which a client recorded an operation of the family.
struct HistoryFamilyEntry {
  const HistoryFamily* family = nullptr;
  std::string description;
  /// Reads the family's settings from the scenario's `consistency:` map (shared with the
  /// other families: each reads its own keys); null when it has none.
  std::function<std::shared_ptr<const void>(ParamReader&)> parse_settings;
  std::vector<HistoryChecker> checkers;
};

class ModelRegistry {
 public:
  void add(ModelFactory factory);
  void add_family(HistoryFamilyEntry family);
  const std::vector<HistoryFamilyEntry>& families() const { return families_; }
  /// True for a group-level figure some family's checker reports.
  bool is_checker_metric(std::string_view metric) const;

  template <RegistrableModel M>
  void add() {
    ModelFactory f;
    f.name = std::string(M::kName);
    f.description = std::string(M::kDescription);
    f.parse = [](ParamReader& r) -> std::shared_ptr<const void> {
      auto cfg = std::make_shared<typename M::Config>(M::parse(r));
      r.finish();
      return cfg;
    };
    f.create = [](const void* cfg) -> std::unique_ptr<Model> {
      return std::make_unique<M>(*static_cast<const typename M::Config*>(cfg));
    };
    f.declare = [](const void* cfg, MetricDecls& d) {
      M::declare(*static_cast<const typename M::Config*>(cfg), d);
    };
    f.model_bytes = sizeof(M);
    if constexpr (requires(const AnalysisInput& in) {
                    { M::analyze(in) } -> std::same_as<AnalysisOutput>;
                  }) {
      f.analyze = [](const AnalysisInput& in) { return M::analyze(in); };
    }
    if constexpr (requires(const TheoryInput& in) {
                    { M::theory(in) } -> std::same_as<TheoryOutput>;
                  }) {
      f.theory = [](const TheoryInput& in) { return M::theory(in); };
    }
    if constexpr (requires(const ReportInput& in) {
                    { M::report(in) } -> std::same_as<std::vector<ReportSection>>;
                  }) {
      f.report = [](const ReportInput& in) { return M::report(in); };
    }
    if constexpr (requires(const typename M::Config& c) {
                    { M::callees(c) } -> std::same_as<std::vector<std::string>>;
                  }) {
      f.callees = [](const void* cfg) {
        return M::callees(*static_cast<const typename M::Config*>(cfg));
      };
    }
    if constexpr (requires(const typename M::Config& c) {
                    { M::virtual_address(c) } -> std::same_as<bool>;
                  }) {
      f.virtual_address = [](const void* cfg) {
        return M::virtual_address(*static_cast<const typename M::Config*>(cfg));
      };
    }
    if constexpr (requires(const typename M::Config& c, const CycleSetup& s) {
                    { M::cycle_group(c, s) } -> std::same_as<std::unique_ptr<CycleGroup>>;
                    { M::cycle_refusal(c) } -> std::same_as<std::string>;
                  }) {
      f.cycle_group = [](const void* cfg, const CycleSetup& s) {
        return M::cycle_group(*static_cast<const typename M::Config*>(cfg), s);
      };
      f.cycle_refusal = [](const void* cfg) {
        return M::cycle_refusal(*static_cast<const typename M::Config*>(cfg));
      };
    }
    if constexpr (requires { std::size(M::kRoles); }) {
      for (std::string_view r : M::kRoles)
        f.roles.emplace_back(r);
    }
    add(std::move(f));
  }

  const ModelFactory* find(std::string_view name) const;
  /// All factories, by name.
  std::vector<const ModelFactory*> all() const;
  std::string names() const;  ///< "a, b, c"

 private:
  std::vector<ModelFactory> factories_;
  std::vector<HistoryFamilyEntry> families_;
};

}  // namespace dsim
