// Fuzz target: small scenarios, run long enough for models and faults to act.
//
// The input is a scenario file. A valid one is made small before it runs, and the small
// version must validate too (or the input is skipped), so every run is one `dsim run`
// could make:
//   - a run longer than kMaxDuration is compressed to it: the duration, the warmup and
//     every time in `faults:` and `nemesis:` (at, for, every, until, start, stop, the
//     times inside distributions, the period of a rate) shrink by the same factor, so
//     faults keep their place in the run and still fire;
//   - groups keep at most kMaxCount nodes (kMaxNodes in all, or the input is skipped);
//   - limits.max_events and limits.max_pending are capped, and so are the consistency
//     checkers' search budgets and memory (kMaxSearchSteps and below);
//   - limits.memory and limits.wall are dropped: where they stop a run depends on the
//     machine, so a run they stop cannot be repeated byte for byte.
// The run checks the models' invariants after every handler; it must end cleanly (its
// end, no more events, or a limit), never run past limits.max_events, and, for one input
// in four, give the same bytes when run again.
//
// DSIM_FUZZ_SHOW=1 prints the small scenario before running it: save it as a file and
// `dsim run` it to reproduce a finding outside the fuzzer.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/units.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/yaml_tree.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using dsim::ParamNode;

constexpr int64_t kMaxDurationNs = 5'000'000'000;  // 5 s of simulated time
constexpr uint32_t kMaxCount = 7;
constexpr uint32_t kMaxNodes = 48;
constexpr uint64_t kMaxEvents = 200'000;
constexpr uint64_t kMaxPending = 1'000'000;
// The consistency checkers' budgets: a verdict may then be "unknown", never slow.
constexpr uint64_t kMaxSearchSteps = 100'000;
constexpr uint64_t kMaxTotalSteps = 1'000'000;
constexpr uint64_t kMaxMemory = uint64_t{64} << 20;

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

std::optional<double> time_unit_ns(std::string_view unit) {
  if (unit == "ns") return 1.0;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "min") return 60e9;
  if (unit == "h") return 3600e9;
  if (unit == "d") return 86400e9;
  return std::nullopt;
}

// Reads a plain decimal number ("12", "2.5", "1e6") at text[i], advancing i.
std::optional<double> read_number(std::string_view text, size_t& i) {
  const size_t start = i;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
    ++i;
  if (i + 1 < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    size_t j = i + 1;
    if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
    if (j < text.size() && text[j] >= '0' && text[j] <= '9') {
      while (j < text.size() && text[j] >= '0' && text[j] <= '9')
        ++j;
      i = j;
    }
  }
  if (i == start) return std::nullopt;
  const std::string number(text.substr(start, i - start));
  char* end = nullptr;
  const double v = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) return std::nullopt;
  return v;
}

// `value` (a count of `unit`) times `factor`, written in nanoseconds; nullopt when it does
// not fit (the text is then left as it was, for the validator to judge).
std::optional<std::string> scaled_ns(double value, double unit_ns, double factor) {
  const double ns = std::round(value * unit_ns * factor);
  if (!std::isfinite(ns) || ns < 0 || ns > 9e18) return std::nullopt;
  return std::to_string(static_cast<int64_t>(ns)) + "ns";
}

// Every time written in `text` ("10s", "uniform(2s, 6s)", the "/min" of a rate) multiplied
// by `factor`; everything else unchanged.
std::string scale_times(std::string_view text, double factor) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool number_start = ((c >= '0' && c <= '9') || c == '.') &&
                              (i == 0 || (!is_word_char(text[i - 1]) && text[i - 1] != '/'));
    if (c == '/' || number_start) {
      const size_t start = i;
      if (c == '/') ++i;
      size_t j = i;
      std::optional<double> value = read_number(text, j);
      if (!value && c == '/') value = 1.0;  // "200/s": one second
      if (!value) {
        out += text.substr(start, i + 1 - start);
        i = start + 1;
        continue;
      }
      size_t k = j;
      while (k < text.size() && ((text[k] >= 'a' && text[k] <= 'z') || text[k] == 'A'))
        ++k;
      const auto unit = time_unit_ns(text.substr(j, k - j));
      const bool whole_word = k == text.size() || !is_word_char(text[k]);
      std::optional<std::string> scaled;
      if (unit && whole_word) scaled = scaled_ns(*value, *unit, factor);
      if (scaled) {
        if (c == '/') out += '/';
        out += *scaled;
      } else {
        out += text.substr(start, k - start);
      }
      i = k;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

void scale_tree(ParamNode& node, double factor) {
  if (node.kind == ParamNode::Kind::kScalar) node.scalar = scale_times(node.scalar, factor);
  for (auto& item : node.items)
    scale_tree(item, factor);
  for (auto& entry : node.entries)
    scale_tree(entry.value, factor);
}

// The map under `key` (made when absent); nullptr when it is something else.
ParamNode* map_at(ParamNode& tree, const char* key) {
  if (!tree.find(key)) tree.set(key, ParamNode::make_map());
  ParamNode* map = tree.find(key);
  return map->kind == ParamNode::Kind::kMap ? map : nullptr;
}

// Sets map[key] to `cap` unless it holds a value in (0, cap] (as `parse` reads it).
template <class Parse>
void cap_value(ParamNode& map, const char* key, uint64_t cap, const std::string& cap_text,
               Parse parse) {
  if (const ParamNode* v = map.find(key); v && v->kind == ParamNode::Kind::kScalar) {
    const auto current = parse(v->scalar, nullptr);
    if (current && *current > 0 && static_cast<uint64_t>(*current) <= cap) return;
  }
  map.set(key, ParamNode::make_scalar(cap_text));
}

void cap_integer(ParamNode& map, const char* key, uint64_t cap) {
  cap_value(map, key, cap, std::to_string(cap), dsim::parse_integer);
}

void cap_size(ParamNode& map, const char* key, uint64_t cap) {
  cap_value(map, key, cap, std::to_string(cap) + "B", dsim::parse_size);
}

// The small version of a valid scenario (see the top of the file), or nullopt to skip it.
std::optional<ParamNode> make_small(ParamNode tree, const dsim::ScenarioSpec& spec) {
  const int64_t duration = spec.duration.ns();
  if (duration > kMaxDurationNs) {
    const double factor = static_cast<double>(kMaxDurationNs) / static_cast<double>(duration);
    tree.set("duration", ParamNode::make_scalar(std::to_string(kMaxDurationNs) + "ns"));
    if (spec.warmup.ns() > 0) {
      const auto warmup = scaled_ns(static_cast<double>(spec.warmup.ns()), 1.0, factor);
      if (!warmup) return std::nullopt;
      tree.set("warmup", ParamNode::make_scalar(*warmup));
    }
    for (const char* key : {"faults", "nemesis"}) {
      if (ParamNode* n = tree.find(key)) scale_tree(*n, factor);
    }
  }
  ParamNode* groups = tree.find("groups");
  if (!groups || groups->items.size() != spec.groups.size()) return std::nullopt;
  uint32_t nodes = 0;
  for (size_t g = 0; g < spec.groups.size(); ++g) {
    const uint32_t count = spec.groups[g].count;
    if (count > kMaxCount) {
      groups->items[g].set("count", ParamNode::make_scalar(std::to_string(kMaxCount)));
    }
    nodes += count > kMaxCount ? kMaxCount : count;
  }
  if (nodes > kMaxNodes) return std::nullopt;
  // (Each map in turn: adding one to the tree moves the others.)
  ParamNode* limits = map_at(tree, "limits");
  if (!limits) return std::nullopt;
  cap_integer(*limits, "max_events", kMaxEvents);
  cap_integer(*limits, "max_pending", kMaxPending);
  std::erase_if(limits->entries,
                [](const ParamNode::Entry& e) { return e.key == "memory" || e.key == "wall"; });
  ParamNode* consistency = map_at(tree, "consistency");
  if (!consistency) return std::nullopt;
  cap_integer(*consistency, "max_search_steps", kMaxSearchSteps);
  cap_integer(*consistency, "max_total_steps", kMaxTotalSteps);
  cap_size(*consistency, "max_search_memory", kMaxMemory);
  cap_size(*consistency, "history_memory", kMaxMemory);
  return tree;
}

// One input in four (by a hash of its bytes, so a finding reproduces) is run twice.
bool check_determinism(const uint8_t* data, size_t size) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < size; ++i)
    h = (h ^ data[i]) * 16777619u;
  return h % 4 == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dsim;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Diagnostics diag;
  auto tree = parse_yaml(text, fuzz::kFile, diag);
  if (!tree) return 0;
  auto spec = load_scenario_tree(*tree, fuzz::kFile, {}, fuzz::registry(), diag);
  if (!spec) return 0;
  auto small_tree = make_small(std::move(*tree), *spec);
  if (!small_tree) return 0;
  if (std::getenv("DSIM_FUZZ_SHOW")) {
    std::fprintf(stderr, "--- the scenario run:\n%s---\n", emit_yaml(*small_tree).c_str());
  }
  Diagnostics small_diag;
  auto small =
      load_scenario_tree(std::move(*small_tree), fuzz::kFile, {}, fuzz::registry(), small_diag);
  if (!small) return 0;

  RunOptions options;
  options.check_invariants = true;
  const RunOutput out = run_scenario(*small, options);
  if (out.stats.events > small->limits.max_events) {
    fuzz::broken("the run went past limits.max_events",
                 std::to_string(out.stats.events) + " events, limit " +
                     std::to_string(small->limits.max_events));
  }
  if (out.stats.end_time > SimTime::zero() + small->duration) {
    fuzz::broken("the run went past its duration");
  }
  if (check_determinism(data, size)) {
    const RunOutput again = run_scenario(*small);
    if (again.stats.fingerprint != out.stats.fingerprint) {
      fuzz::broken("the same scenario ran to a different trace");
    }
    if (again.files != out.files) fuzz::broken("the same scenario wrote different files");
  }
  return 0;
}
