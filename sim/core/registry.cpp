#include "sim/core/registry.h"

#include <algorithm>

#include "sim/core/assert.h"

namespace dsim {

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kError:
      return "error";
  }
  return "?";
}

std::vector<ParamDoc> ModelFactory::params() const {
  ParamEnv env;
  env.doc_mode = true;
  ParamReader reader(nullptr, &env, name);
  parse(reader);
  return reader.docs();
}

void ModelRegistry::add(ModelFactory factory) {
  DSIM_ASSERT(find(factory.name) == nullptr, "model ", factory.name, " is registered twice");
  factories_.push_back(std::move(factory));
}

void ModelRegistry::add_family(HistoryFamilyEntry family) {
  for (const auto& f : families_) {
    DSIM_ASSERT(f.family != family.family, "history family ", family.family->name,
                " is registered twice");
  }
  families_.push_back(std::move(family));
}

bool ModelRegistry::is_checker_metric(std::string_view metric) const {
  for (const auto& f : families_) {
    for (const auto& c : f.checkers) {
      if (std::find(c.metrics.begin(), c.metrics.end(), metric) != c.metrics.end()) return true;
    }
  }
  return false;
}

const ModelFactory* ModelRegistry::find(std::string_view name) const {
  for (const auto& f : factories_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<const ModelFactory*> ModelRegistry::all() const {
  std::vector<const ModelFactory*> out;
  for (const auto& f : factories_)
    out.push_back(&f);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return out;
}

std::string ModelRegistry::names() const {
  std::string out;
  for (const auto* f : all())
    out += (out.empty() ? "" : ", ") + f->name;
  return out;
}

}  // namespace dsim
