#include "sim/core/metric_decls.h"

namespace dsim {

void MetricDecls::counter(std::string_view name) {
  metrics_.emplace(name);
  counters_.emplace(name);
}

void MetricDecls::timing(std::string_view name) {
  const std::string n(name);
  metrics_.insert(n + "_count");
  for (std::string_view p : kPercentileNames)
    metrics_.insert(n + "_ms_" + std::string(p));
  metrics_.insert(n + "_ms_max");
  metrics_.insert(n + "_ms_mean");
}

void MetricDecls::level(std::string_view name) {
  metrics_.insert(std::string(name) + "_mean");
  metrics_.insert(std::string(name) + "_peak");
}

void MetricDecls::figure(std::string_view name) {
  metrics_.emplace(name);
}

void MetricDecls::operation(std::string_view op) {
  ops_.emplace(op);
}

void MetricDecls::history(std::string_view family) {
  histories_.emplace(family);
}

void MetricDecls::counters(std::span<const std::string_view> names) {
  for (std::string_view n : names)
    counter(n);
}

}  // namespace dsim
