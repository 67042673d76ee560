#include "sim/core/params.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "sim/core/distribution_parse.h"
#include "sim/core/text_input.h"
#include "sim/core/units.h"

namespace dsim {

std::string SourceLoc::str() const {
  if (line <= 0) return file.empty() ? "<input>" : file;
  return (file.empty() ? "<input>" : file) + ":" + std::to_string(line) + ":" +
         std::to_string(column);
}

std::string Diagnostics::render() const {
  std::string out;
  for (const auto& d : all_)
    out += d.loc.str() + ": error: " + d.message + "\n";
  return out;
}

void Diagnostics::sort_in_file_order(size_t from) {
  if (from >= all_.size()) return;
  // (file's rank, line, column, index) of each error: the index makes the sort stable.
  std::map<std::string, size_t> file_rank;
  std::vector<std::tuple<size_t, int, int, size_t>> order;
  for (size_t i = from; i < all_.size(); ++i) {
    const SourceLoc& loc = all_[i].loc;
    const size_t rank = file_rank.emplace(loc.file, file_rank.size()).first->second;
    const int line = loc.line > 0 ? loc.line : std::numeric_limits<int>::max();
    order.emplace_back(rank, line, loc.column, i);
  }
  std::sort(order.begin(), order.end());
  std::vector<Diagnostic> sorted(all_.begin(), all_.begin() + static_cast<std::ptrdiff_t>(from));
  for (const auto& o : order)
    sorted.push_back(std::move(all_[std::get<3>(o)]));
  all_ = std::move(sorted);
}

void ParamEnv::index_groups() {
  group_order.resize(group_names.size());
  for (uint32_t i = 0; i < group_order.size(); ++i)
    group_order[i] = i;
  // Stable: among groups of one name, the first comes first (find_group() returns it).
  std::stable_sort(group_order.begin(), group_order.end(),
                   [this](uint32_t a, uint32_t b) { return group_names[a] < group_names[b]; });
}

std::optional<size_t> ParamEnv::find_group(std::string_view name) const {
  if (group_order.size() != group_names.size()) {
    const auto it = std::find(group_names.begin(), group_names.end(), name);
    if (it == group_names.end()) return std::nullopt;
    return static_cast<size_t>(it - group_names.begin());
  }
  const auto it = std::lower_bound(
      group_order.begin(), group_order.end(), name,
      [this](uint32_t g, std::string_view n) { return std::string_view(group_names[g]) < n; });
  if (it == group_order.end() || group_names[*it] != name) return std::nullopt;
  return *it;
}

ParamNode ParamNode::make_scalar(std::string text, SourceLoc loc) {
  ParamNode n;
  n.kind = Kind::kScalar;
  n.scalar = std::move(text);
  n.loc = std::move(loc);
  return n;
}

ParamNode ParamNode::make_map(SourceLoc loc) {
  ParamNode n;
  n.kind = Kind::kMap;
  n.loc = std::move(loc);
  return n;
}

ParamNode ParamNode::make_list(SourceLoc loc) {
  ParamNode n;
  n.kind = Kind::kList;
  n.loc = std::move(loc);
  return n;
}

const ParamNode* ParamNode::find(std::string_view key) const {
  for (const auto& e : entries) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

ParamNode* ParamNode::find(std::string_view key) {
  for (auto& e : entries) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

void ParamNode::set(std::string key, ParamNode value) {
  if (kind != Kind::kMap) {
    kind = Kind::kMap;
    scalar.clear();
    items.clear();
  }
  if (ParamNode* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  append(std::move(key), std::move(value));
}

void ParamNode::append(std::string key, ParamNode value) {
  SourceLoc key_loc = value.loc;
  entries.push_back({std::move(key), std::move(key_loc), std::move(value)});
}

std::string ParamNode::kind_name() const {
  switch (kind) {
    case Kind::kNull:
      return "nothing";
    case Kind::kScalar:
      return "'" + scalar + "'";
    case Kind::kList:
      return "a list";
    case Kind::kMap:
      return "a map";
  }
  return "?";
}

ParamReader::ParamReader(const ParamNode* node, ParamEnv* env, std::string path,
                         SourceLoc owner_loc)
    : node_(node), env_(env), path_(std::move(path)), owner_loc_(std::move(owner_loc)) {
  resolved_ = ParamNode::make_map();
  if (node_ && node_->kind == ParamNode::Kind::kNull) node_ = nullptr;
  if (node_ && node_->kind != ParamNode::Kind::kMap) {
    if (env_->diagnostics) {
      env_->diagnostics->error(node_->loc, (path_.empty() ? "" : path_ + ": ") +
                                               "expected a map of keys, got " + node_->kind_name());
    }
    node_ = nullptr;
  }
}

const ParamNode* ParamReader::lookup(std::string_view key, std::string_view type,
                                     std::string_view help, std::string default_text) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  docs_.push_back(
      {std::string(key), std::string(type), std::move(default_text), std::string(help)});
  if (env_->doc_mode || !node_) return nullptr;
  const ParamNode* v = node_->find(key);
  if (v && v->kind == ParamNode::Kind::kNull) return nullptr;
  return v;
}

const SourceLoc& ParamReader::loc_of(std::string_view key) const {
  if (node_) {
    for (const auto& e : node_->entries) {
      if (e.key == key) return e.value.loc;
    }
    return node_->loc;
  }
  return owner_loc_;
}

namespace {
std::string join_path(const std::string& path, std::string_view key) {
  if (key.empty()) return path;
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
}  // namespace

void ParamReader::fail(const ParamNode& at, std::string_view key, const std::string& message) {
  if (env_->diagnostics) env_->diagnostics->error(at.loc, join_path(path_, key) + ": " + message);
}

void ParamReader::note(std::string_view key, ParamNode value) {
  resolved_.set(std::string(key), std::move(value));
}

bool ParamReader::name_ok(const ParamNode::Entry& e, std::string_view key) {
  const std::string problem = one_line_problem(e.key);
  if (problem.empty()) return true;
  // The path stops at the map: the name itself would carry what is wrong with it.
  if (env_->diagnostics)
    env_->diagnostics->error(e.key_loc, join_path(path_, key) + ": a name in this map " + problem);
  return false;
}

void ParamReader::error(std::string_view key, std::string message) {
  if (env_->doc_mode || !env_->diagnostics) return;
  env_->diagnostics->error(loc_of(key), join_path(path_, key) + ": " + message);
}

bool ParamReader::has(std::string_view key) const {
  if (env_->doc_mode || !node_) return false;
  const ParamNode* v = node_->find(key);
  return v && v->kind != ParamNode::Kind::kNull;
}

namespace {

// Checks that v is a scalar; reports otherwise.
bool scalar_or_fail(const ParamNode& v, std::string_view what, std::string* msg) {
  if (v.kind == ParamNode::Kind::kScalar) return true;
  *msg = "expected " + std::string(what) + ", got " + v.kind_name();
  return false;
}

}  // namespace

Duration ParamReader::duration(std::string_view key, Duration def, std::string_view help,
                               Duration min) {
  const ParamNode* v = lookup(key, "duration", help, format_duration(def));
  Duration out = def;
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "a duration", &err)) {
      fail(*v, key, err);
    } else if (auto d = parse_duration(v->scalar, &err)) {
      if (*d < min) {
        fail(*v, key, "must be at least " + format_duration(min) + ", got " + v->scalar);
      } else {
        out = *d;
      }
    } else {
      fail(*v, key, err);
    }
  }
  note(key, ParamNode::make_scalar(format_duration(out)));
  return out;
}

std::optional<Duration> ParamReader::optional_duration(std::string_view key,
                                                       std::string_view help) {
  const ParamNode* v = lookup(key, "duration", help, "none");
  if (!v) return std::nullopt;
  std::string err;
  if (!scalar_or_fail(*v, "a duration", &err)) {
    fail(*v, key, err);
    return std::nullopt;
  }
  auto d = parse_duration(v->scalar, &err);
  if (!d) {
    fail(*v, key, err);
    return std::nullopt;
  }
  if (*d < Duration::zero()) {
    fail(*v, key, "must not be negative");
    return std::nullopt;
  }
  note(key, ParamNode::make_scalar(format_duration(*d)));
  return d;
}

double ParamReader::number(std::string_view key, double def, std::string_view help, double min,
                           double max) {
  const ParamNode* v = lookup(key, "number", help, format_number(def));
  double out = def;
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "a number", &err)) {
      fail(*v, key, err);
    } else if (auto n = parse_number(v->scalar, &err)) {
      if (*n < min || *n > max) {
        const std::string range =
            !std::isfinite(max)   ? "at least " + format_number(min)
            : !std::isfinite(min) ? "at most " + format_number(max)
                                  : "between " + format_number(min) + " and " + format_number(max);
        fail(*v, key, "must be " + range + ", got " + v->scalar);
      } else {
        out = *n;
      }
    } else {
      fail(*v, key, err);
    }
  }
  note(key, ParamNode::make_scalar(format_number(out)));
  return out;
}

int64_t ParamReader::integer(std::string_view key, int64_t def, std::string_view help, int64_t min,
                             int64_t max) {
  const ParamNode* v = lookup(key, "integer", help, std::to_string(def));
  int64_t out = def;
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "an integer", &err)) {
      fail(*v, key, err);
    } else if (auto n = parse_integer(v->scalar, &err)) {
      if (*n < min || *n > max) {
        std::string range = min == std::numeric_limits<int64_t>::min()
                                ? "at most " + std::to_string(max)
                            : max == std::numeric_limits<int64_t>::max()
                                ? "at least " + std::to_string(min)
                                : "between " + std::to_string(min) + " and " + std::to_string(max);
        fail(*v, key, "must be " + range + ", got " + v->scalar);
      } else {
        out = *n;
      }
    } else {
      fail(*v, key, err);
    }
  }
  note(key, ParamNode::make_scalar(std::to_string(out)));
  return out;
}

double ParamReader::probability(std::string_view key, double def, std::string_view help) {
  const ParamNode* v = lookup(key, "probability", help, format_number(def));
  double out = def;
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "a probability", &err)) {
      fail(*v, key, err);
    } else if (auto p = parse_probability(v->scalar, &err)) {
      out = *p;
    } else {
      fail(*v, key, err);
    }
  }
  note(key, ParamNode::make_scalar(format_number(out)));
  return out;
}

double ParamReader::rate(std::string_view key, double def_per_second, std::string_view help) {
  const ParamNode* v = lookup(key, "rate", help, format_rate(def_per_second));
  double out = def_per_second;
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "a rate such as 200/s", &err)) {
      fail(*v, key, err);
    } else if (auto r = parse_rate(v->scalar, &err); !r) {
      fail(*v, key, err);
    } else if (err = rate_too_fast(v->scalar, *r); !err.empty()) {
      fail(*v, key, err);
    } else {
      out = *r;
    }
  }
  note(key, ParamNode::make_scalar(format_rate(out)));
  return out;
}

uint64_t ParamReader::size(std::string_view key, uint64_t def_bytes, std::string_view help) {
  const ParamNode* v = lookup(key, "size", help, format_bytes(def_bytes));
  uint64_t out = def_bytes;
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "a size such as 64KiB", &err)) {
      fail(*v, key, err);
    } else if (auto s = parse_size(v->scalar, &err)) {
      out = *s;
    } else {
      fail(*v, key, err);
    }
  }
  note(key, ParamNode::make_scalar(format_bytes(out)));
  return out;
}

double ParamReader::bandwidth(std::string_view key, double def_bits_per_second,
                              std::string_view help) {
  const ParamNode* v = lookup(key, "bandwidth", help, format_bandwidth(def_bits_per_second));
  double out = def_bits_per_second;
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "a bandwidth such as 10Gbps", &err)) {
      fail(*v, key, err);
    } else if (auto b = parse_bandwidth(v->scalar, &err)) {
      out = *b;
    } else {
      fail(*v, key, err);
    }
  }
  note(key, ParamNode::make_scalar(format_bandwidth(out)));
  return out;
}

bool ParamReader::boolean(std::string_view key, bool def, std::string_view help) {
  const ParamNode* v = lookup(key, "boolean", help, def ? "true" : "false");
  bool out = def;
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "true or false", &err)) {
      fail(*v, key, err);
    } else if (v->scalar == "true" || v->scalar == "yes" || v->scalar == "on") {
      out = true;
    } else if (v->scalar == "false" || v->scalar == "no" || v->scalar == "off") {
      out = false;
    } else {
      fail(*v, key, "expected true or false, got '" + v->scalar + "'");
    }
  }
  note(key, ParamNode::make_scalar(out ? "true" : "false"));
  return out;
}

std::string ParamReader::choice(std::string_view key, std::string_view def,
                                std::vector<std::string_view> options, std::string_view help) {
  std::string valid;
  for (auto o : options)
    valid += (valid.empty() ? "" : ", ") + std::string(o);
  const ParamNode* v = lookup(key, "one of: " + valid, help, std::string(def));
  std::string out(def);
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "one of " + valid, &err)) {
      fail(*v, key, err);
    } else if (std::find(options.begin(), options.end(), v->scalar) == options.end()) {
      fail(*v, key, "unknown value '" + v->scalar + "' (valid: " + valid + ")");
    } else {
      out = v->scalar;
    }
  }
  note(key, ParamNode::make_scalar(out));
  return out;
}

std::string ParamReader::group(std::string_view key, std::string_view help) {
  const ParamNode* v = lookup(key, "group", help, "");
  if (env_->doc_mode) return "";
  if (!v) {
    error(key, "missing required key '" + std::string(key) + "' (" + std::string(help) + ")");
    return "";
  }
  std::string err;
  if (!scalar_or_fail(*v, "a group name", &err)) {
    fail(*v, key, err);
    return "";
  }
  if (!env_->find_group(v->scalar)) {
    std::string valid;
    for (const auto& n : env_->group_names)
      valid += (valid.empty() ? "" : ", ") + n;
    fail(*v, key, "no group named '" + v->scalar + "' (groups: " + valid + ")");
    return "";
  }
  note(key, ParamNode::make_scalar(v->scalar));
  return v->scalar;
}

std::string ParamReader::text(std::string_view key, std::string_view def, std::string_view help) {
  return read_text(key, def, help, one_line_problem);
}

std::string ParamReader::prose(std::string_view key, std::string_view def, std::string_view help) {
  return read_text(key, def, help, prose_problem);
}

std::string ParamReader::read_text(std::string_view key, std::string_view def,
                                   std::string_view help,
                                   std::string (*problem)(std::string_view)) {
  const ParamNode* v = lookup(key, "text", help, std::string(def));
  std::string out(def);
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "a text", &err)) {
      fail(*v, key, err);
    } else if (const std::string p = problem(v->scalar); !p.empty()) {
      fail(*v, key, "the text " + p);
    } else {
      out = v->scalar;
    }
  }
  note(key, ParamNode::make_scalar(out));
  return out;
}

namespace {

// A distribution cut short at a comma is what YAML makes of an unquoted one in a {flow map}.
std::string unbalanced_hint(const std::string& text) {
  if (std::count(text.begin(), text.end(), '(') <= std::count(text.begin(), text.end(), ')'))
    return "";
  return " (in a YAML {flow map}, quote a distribution that holds commas: \"uniform(1ms, 3ms)\")";
}

const char* dim_type(Distribution::Dim dim) {
  switch (dim) {
    case Distribution::Dim::kTime:
      return "distribution of times";
    case Distribution::Dim::kBytes:
      return "distribution of sizes";
    case Distribution::Dim::kNumber:
      return "distribution of numbers";
  }
  return "distribution";
}

}  // namespace

Distribution ParamReader::distribution(std::string_view key, const Distribution& def,
                                       std::string_view help, Distribution::Dim dim,
                                       bool allow_negative) {
  const ParamNode* v = lookup(key, dim_type(dim), help, def.describe());
  Distribution out = def;
  std::string text = def.describe();
  if (v) {
    std::string err;
    if (!scalar_or_fail(*v, "a distribution such as exponential(mean=5ms)", &err)) {
      if (v->kind == ParamNode::Kind::kMap) {
        err +=
            " (in a YAML {flow map}, quote a distribution that holds commas: "
            "\"uniform(1ms, 3ms)\")";
      }
      fail(*v, key, err);
    } else if (auto d = parse_distribution(v->scalar, dim, env_->base_dir, &err, allow_negative)) {
      out = *d;
      text = v->scalar;
    } else {
      fail(*v, key, err + unbalanced_hint(v->scalar));
    }
  }
  note(key, ParamNode::make_scalar(text));
  return out;
}

std::vector<std::pair<std::string, double>> ParamReader::weights(
    std::string_view key, std::vector<std::pair<std::string, double>> def, std::string_view help) {
  std::string def_text;
  for (const auto& [k, w] : def)
    def_text += (def_text.empty() ? "" : ", ") + k + ": " + format_number(w);
  const ParamNode* v = lookup(key, "map of name: weight", help, "{" + def_text + "}");
  auto out = def;
  if (v) {
    if (v->kind != ParamNode::Kind::kMap || v->entries.empty()) {
      fail(*v, key,
           "expected a map of name: weight, e.g. {get: 0.8, put: 0.2}, got " + v->kind_name());
    } else {
      std::vector<std::pair<std::string, double>> parsed;
      bool ok = true;
      for (const auto& e : v->entries) {
        if (!name_ok(e, key)) {
          ok = false;
          continue;
        }
        std::string err;
        auto w = e.value.kind == ParamNode::Kind::kScalar ? parse_probability(e.value.scalar, &err)
                                                          : std::nullopt;
        std::optional<double> num = w;
        if (!num && e.value.kind == ParamNode::Kind::kScalar)
          num = parse_number(e.value.scalar, &err);
        if (!num || *num < 0) {
          fail(e.value, std::string(key) + "." + e.key, "weight must be a number >= 0");
          ok = false;
          continue;
        }
        parsed.emplace_back(e.key, *num);
      }
      double total = 0;
      for (const auto& p : parsed)
        total += p.second;
      if (ok && total <= 0) {
        fail(*v, key, "weights must not all be 0");
        ok = false;
      }
      if (ok) out = std::move(parsed);
    }
  }
  ParamNode r = ParamNode::make_map();
  for (const auto& [k, w] : out)
    r.append(k, ParamNode::make_scalar(format_number(w)));
  note(key, std::move(r));
  return out;
}

std::vector<std::pair<std::string, Distribution>> ParamReader::distribution_map(
    std::string_view key, const Distribution& def, std::string_view help, Distribution::Dim dim) {
  const ParamNode* v = lookup(key, std::string(dim_type(dim)) + ", or a map of name: distribution",
                              help, def.describe());
  std::vector<std::pair<std::string, Distribution>> out;
  out.emplace_back("", def);
  ParamNode r = ParamNode::make_scalar(def.describe());
  if (v) {
    std::string err;
    if (v->kind == ParamNode::Kind::kScalar) {
      if (auto d = parse_distribution(v->scalar, dim, env_->base_dir, &err)) {
        out[0].second = *d;
        r = ParamNode::make_scalar(v->scalar);
      } else {
        fail(*v, key, err + unbalanced_hint(v->scalar));
      }
    } else if (v->kind == ParamNode::Kind::kMap) {
      r = ParamNode::make_map();
      for (const auto& e : v->entries) {
        if (!name_ok(e, key)) continue;
        if (e.value.kind != ParamNode::Kind::kScalar) {
          fail(e.value, std::string(key) + "." + e.key,
               "expected a distribution, got " + e.value.kind_name());
          continue;
        }
        if (auto d = parse_distribution(e.value.scalar, dim, env_->base_dir, &err)) {
          if (e.key == "default") {
            out[0].second = *d;
          } else {
            out.emplace_back(e.key, *d);
          }
          r.append(e.key, ParamNode::make_scalar(e.value.scalar));
        } else {
          fail(e.value, std::string(key) + "." + e.key, err + unbalanced_hint(e.value.scalar));
        }
      }
    } else {
      fail(*v, key,
           "expected a distribution or a map of name: distribution, got " + v->kind_name());
    }
  }
  note(key, std::move(r));
  return out;
}

ParamReader ParamReader::map(std::string_view key, std::string_view help) {
  const ParamNode* v = lookup(key, "map", help, "{}");
  return ParamReader(v, env_, join_path(path_, key), loc_of(key));
}

void ParamReader::adopt(std::string_view key, const ParamReader& child) {
  std::erase_if(docs_, [&](const ParamDoc& d) { return d.key == key; });
  for (const auto& d : child.docs_) {
    docs_.push_back({std::string(key) + "." + d.key, d.type, d.default_text, d.help});
  }
  note(key, child.resolved_);
}

const ParamNode* ParamReader::raw(std::string_view key, std::string_view type,
                                  std::string_view help, std::string_view default_text) {
  const ParamNode* v = lookup(key, type, help, std::string(default_text));
  if (v) note(key, *v);
  return v;
}

void ParamReader::finish() {
  if (env_->doc_mode || !node_ || !env_->diagnostics) return;
  for (const auto& e : node_->entries) {
    if (std::find(known_.begin(), known_.end(), e.key) != known_.end()) continue;
    std::string valid;
    for (const auto& k : known_)
      valid += (valid.empty() ? "" : ", ") + k;
    env_->diagnostics->error(e.key_loc,
                             (path_.empty() ? "" : path_ + ": ") + "unknown key '" + e.key +
                                 "' (valid keys: " + (valid.empty() ? "none" : valid) + ")");
  }
}

}  // namespace dsim
