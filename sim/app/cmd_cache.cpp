// `dsim cache replay`: a request trace through one cache per eviction policy, side by side
// (models/cache/replay.h), printed as a table or CSV.
#include <iostream>
#include <sstream>

#include "models/cache/replay.h"
#include "sim/app/commands.h"
#include "sim/core/units.h"

namespace dsim {

namespace {

// The policies named in `spec` ("all", or names separated by commas); nullopt and a
// message on stderr when one is unknown.
std::optional<std::vector<cache::EvictionKind>> policies_of(const std::string& spec) {
  std::vector<cache::EvictionKind> out;
  if (spec == "all") {
    for (const auto& [name, kind] : cache::eviction_names())
      out.push_back(kind);
    return out;
  }
  std::stringstream ss(spec);
  std::string name;
  while (std::getline(ss, name, ',')) {
    const auto kind = cache::eviction_from_name(name);
    if (!kind) {
      std::string valid;
      for (const auto& [n, k] : cache::eviction_names())
        valid += (valid.empty() ? "" : ", ") + std::string(n);
      std::cerr << "dsim cache replay: --eviction: unknown policy '" << name << "' (valid: all, "
                << valid << ")\n";
      return std::nullopt;
    }
    out.push_back(*kind);
  }
  return out;
}

std::optional<cache::EvictionOptions> options_of(const CacheReplayArgs& args) {
  cache::EvictionOptions o;
  o.seed = args.seed;
  if (!args.capacity.empty()) {
    std::string err;
    const auto bytes = parse_size(args.capacity, &err);
    if (!bytes) {
      std::cerr << "dsim cache replay: --capacity: " << err << "\n";
      return std::nullopt;
    }
    o.capacity_bytes = *bytes;
  }
  o.capacity_objects = args.capacity_objects;
  if (o.capacity_bytes == 0 && o.capacity_objects == 0) {
    std::cerr << "dsim cache replay: give --capacity (bytes), --capacity-objects, or both\n";
    return std::nullopt;
  }
  return o;
}

}  // namespace

int cmd_cache_replay(const CacheReplayArgs& args) {
  const auto kinds = policies_of(args.eviction);
  const auto options = options_of(args);
  if (!kinds || !options) return kExitBadInput;
  std::string err;
  const auto rows = kit::read_trace(args.trace, &err);
  if (!rows) {
    std::cerr << "dsim cache replay: " << err << "\n";
    return kExitBadInput;
  }
  std::ostringstream out;
  if (args.csv) {
    out << "policy,gets,hits,hit_ratio,byte_hit_ratio,evictions,not_admitted\n";
  } else {
    out << args.trace << ": " << rows->size() << " requests, the first " << args.warmup
        << " a warmup; capacity "
        << (options->capacity_bytes ? format_bytes(options->capacity_bytes) : "-") << " / "
        << (options->capacity_objects ? std::to_string(options->capacity_objects) : "-")
        << " objects\n\npolicy      gets        hit_ratio  byte_hit_ratio  evictions\n";
  }
  for (const cache::EvictionKind kind : *kinds) {
    const cache::ReplayResult r = cache::replay(*rows, kind, *options, args.warmup);
    const std::string name(cache::eviction_name(kind));
    if (args.csv) {
      out << name << "," << r.gets << "," << r.hits << "," << format_number(r.hit_ratio()) << ","
          << format_number(r.byte_hit_ratio()) << "," << r.evictions << "," << r.not_admitted
          << "\n";
    } else {
      char line[160];
      std::snprintf(line, sizeof line, "%-11s %-11llu %-10.4f %-15.4f %llu\n", name.c_str(),
                    static_cast<unsigned long long>(r.gets), r.hit_ratio(), r.byte_hit_ratio(),
                    static_cast<unsigned long long>(r.evictions));
      out << line;
    }
  }
  std::cout << out.str();
  return kExitOk;
}

}  // namespace dsim
