// The explicit list of models a scenario can name. models/builtin.cpp fills it; nothing
// registers itself.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/timeline.h"

namespace dsim {

/// What a model type provides to be registered with ModelRegistry::add<M>():
///   static constexpr std::string_view kName, kDescription;
///   struct Config {...};                              every default written in it
///   static Config parse(ParamReader& r);              one r.<type>(key, default, help) per key
///   explicit M(const Config& c);                      c outlives the model
/// and, optionally, a post-run analysis of the groups running it (timeline.h):
///   static AnalysisOutput analyze(const AnalysisInput& in);
template <class M>
concept RegistrableModel = requires(ParamReader& r, const typename M::Config& c) {
  { M::kName } -> std::convertible_to<std::string_view>;
  { M::kDescription } -> std::convertible_to<std::string_view>;
  { M::parse(r) } -> std::same_as<typename M::Config>;
  {std::make_unique<M>(c)};
};

struct ModelFactory {
  std::string name;
  std::string description;
  /// Parses a group's params into an opaque config (errors go to the reader's diagnostics).
  std::function<std::shared_ptr<const void>(ParamReader&)> parse;
  /// Makes one node's model from a parsed config.
  std::function<std::unique_ptr<Model>(const void* config)> create;
  /// Optional: after the run, computes figures and files from the run's record (marks,
  /// node life events, faults) for the groups running this model. Called once per run
  /// with every such group; empty when the model has no analysis.
  std::function<AnalysisOutput(const AnalysisInput&)> analyze;

  /// The parameters with type, default and help, taken from parse() in doc mode.
  std::vector<ParamDoc> params() const;
};

class ModelRegistry {
 public:
  void add(ModelFactory factory);

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
    if constexpr (requires(const AnalysisInput& in) {
                    { M::analyze(in) } -> std::same_as<AnalysisOutput>;
                  }) {
      f.analyze = [](const AnalysisInput& in) { return M::analyze(in); };
    }
    add(std::move(f));
  }

  const ModelFactory* find(std::string_view name) const;
  /// All factories, by name.
  std::vector<const ModelFactory*> all() const;
  std::string names() const;  ///< "a, b, c"

 private:
  std::vector<ModelFactory> factories_;
};

}  // namespace dsim
