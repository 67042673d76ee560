#include "sim/run/resource_limits.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "sim/core/units.h"

namespace dsim {

namespace {

// The estimate's costs, measured on the release build (docs/scenario-format.md): a node
// of the cheapest model (phold, whose object takes 48 B with the allocator's header) with
// its rows in the output files takes 348 B, an event scheduled at start (a phold token, a
// closed-loop user) 54 to 78 B, and the process itself about 13 MiB. A node of another
// model costs the engine's share and its own model object. Each is rounded down, so the
// estimate stays a lower bound.
constexpr uint64_t kProcessBytes = uint64_t{8} << 20;
constexpr uint64_t kEngineBytesPerNode = 272;
constexpr uint64_t kBytesPerStartEvent = 48;

// What the allocator takes for an object of `size` bytes: a 16-byte header and rounding to
// 16 bytes (glibc's malloc on 64-bit).
uint64_t allocated_bytes(uint64_t size) {
  return (size + 15) / 16 * 16 + 16;
}

// How often the guard reads the resident memory: often enough that a run cannot allocate
// much between two readings, rarely enough to cost nothing (a reading takes microseconds).
constexpr auto kSampleEvery = std::chrono::milliseconds(5);

// A number from a file of "key value unit" lines (/proc/meminfo): the value of `key`.
uint64_t meminfo_kib(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string k;
  uint64_t v = 0;
  std::string unit;
  while (in >> k >> v >> unit) {
    if (k == key + ":") return v;
  }
  return 0;
}

// The cgroup (v2) memory limit of this process; 0 when there is none or it is unknown.
uint64_t cgroup_limit_bytes() {
  std::ifstream in("/sys/fs/cgroup/memory.max");
  std::string text;
  if (!(in >> text) || text == "max") return 0;
  std::string err;
  const auto v = parse_integer(text, &err);
  return v && *v > 0 ? static_cast<uint64_t>(*v) : 0;
}

// A group's integer parameter from the resolved scenario (0 when absent).
uint64_t resolved_param(const ParamNode* params, std::string_view key) {
  const ParamNode* v = params ? params->find(key) : nullptr;
  if (!v || v->kind != ParamNode::Kind::kScalar) return 0;
  std::string err;
  const auto n = parse_integer(v->scalar, &err);
  return n && *n > 0 ? static_cast<uint64_t>(*n) : 0;
}

// The events a group's nodes schedule when they start: a closed-loop client's `users`
// per node, phold's `tokens` for the group. These are the parameters that can make a
// small scenario hold millions of events before its first one runs.
uint64_t start_events(const ParamNode* params, uint32_t count) {
  uint64_t n = resolved_param(params, "tokens");
  const ParamNode* load = params ? params->find("load") : nullptr;
  if (load && load->kind == ParamNode::Kind::kScalar && load->scalar == "closed")
    n += resolved_param(params, "users") * count;
  return n;
}

}  // namespace

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string out = buf;
  if (u == 0 || out.ends_with(".0")) out.resize(out.size() - 2);
  return out + " " + units[u];
}

uint64_t machine_memory_bytes() {
  const uint64_t total = meminfo_kib("MemTotal") * 1024;
  const uint64_t cgroup = cgroup_limit_bytes();
  if (total == 0) return cgroup;
  return cgroup != 0 && cgroup < total ? cgroup : total;
}

uint64_t resident_memory_bytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t memory_budget(const LimitsSpec& limits) {
  if (limits.memory) return *limits.memory;
  return machine_memory_bytes() / 2;
}

std::string describe_memory_budget(const LimitsSpec& limits) {
  if (limits.memory) return "limits.memory (" + human_bytes(*limits.memory) + ")";
  return "the default memory budget (" + human_bytes(memory_budget(limits)) +
         ", half of this machine's " + human_bytes(machine_memory_bytes()) + "; set limits.memory)";
}

MemoryEstimate estimate_memory(const ScenarioSpec& spec) {
  uint64_t nodes = 0, events = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> models;  // name -> (nodes, bytes each)
  const ParamNode* groups = spec.resolved.find("groups");
  for (size_t i = 0; i < spec.groups.size(); ++i) {
    const GroupSpec& group = spec.groups[i];
    nodes += group.count;
    const uint64_t model = group.factory ? allocated_bytes(group.factory->model_bytes) : 0;
    auto& [count, bytes] = models[group.model];
    count += group.count;
    bytes = model;
    const ParamNode* g = groups && i < groups->items.size()
                             ? &groups->items[i]
                             : static_cast<const ParamNode*>(nullptr);
    events += start_events(g ? g->find("params") : nullptr, group.count);
  }
  MemoryEstimate e;
  e.bytes = kProcessBytes + nodes * kEngineBytesPerNode + events * kBytesPerStartEvent;
  e.breakdown = std::to_string(nodes) + " nodes x " + std::to_string(kEngineBytesPerNode) + " B";
  std::string per_model;
  for (const auto& [name, use] : models) {
    e.bytes += use.first * use.second;
    per_model += (per_model.empty() ? "" : ", ") + std::to_string(use.first) + " " + name + " x " +
                 std::to_string(use.second) + " B";
  }
  if (!per_model.empty()) e.breakdown += " + their models (" + per_model + ")";
  if (events) {
    e.breakdown += " + " + std::to_string(events) + " events scheduled at start x " +
                   std::to_string(kBytesPerStartEvent) + " B";
  }
  e.breakdown += " + " + human_bytes(kProcessBytes) + " for the process";
  return e;
}

std::optional<std::string> refuse_by_estimate(const ScenarioSpec& spec) {
  const uint64_t budget = memory_budget(spec.limits);
  if (budget == 0) return std::nullopt;
  const MemoryEstimate e = estimate_memory(spec);
  if (e.bytes <= budget) return std::nullopt;
  return "this scenario needs at least " + human_bytes(e.bytes) + " of memory (" + e.breakdown +
         "), more than " + describe_memory_budget(spec.limits) +
         ": raise limits.memory if the machine has it, or make the scenario smaller";
}

ResourceGuard::ResourceGuard(const LimitsSpec& limits)
    : limits_(limits),
      budget_(memory_budget(limits)),
      started_(Clock::now()),  // dsim-lint: allow(wall-clock)
      next_sample_(started_) {}

std::optional<StopReason> ResourceGuard::poll() {
  const auto now = Clock::now();  // dsim-lint: allow(wall-clock)
  if (limits_.wall && now - started_ > std::chrono::nanoseconds(limits_.wall->ns())) {
    message_ = "limits.wall (" + format_duration(*limits_.wall) + ") reached";
    return StopReason::kWallLimit;
  }
  if (budget_ == 0 || now < next_sample_) return std::nullopt;
  next_sample_ = now + kSampleEvery;
  const uint64_t resident = resident_memory_bytes();
  if (resident <= budget_) return std::nullopt;
  message_ = "the process holds " + human_bytes(resident) + " of memory, more than " +
             describe_memory_budget(limits_);
  return StopReason::kMemoryLimit;
}

}  // namespace dsim
