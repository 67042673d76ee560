// Model parameters as written in a scenario, and the typed reader each model's Config
// uses to parse them. sim/core knows nothing of YAML: the scenario layer turns YAML into a
// ParamNode tree that keeps every value's source location for error messages.
//
// A model parses its config with one ParamReader call per key, each naming the key, its
// default and a one-line help. The same code then serves three purposes:
//   - parsing: values are checked and converted, errors collected with file:line:column;
//     keys nobody asked for are reported with the list of valid keys (finish());
//   - documentation: in doc mode the reader returns defaults and records (key, type,
//     default, help) for `dsim list models`;
//   - resolution: every key's effective value (given or default) is recorded, so the
//     resolved scenario written with the results shows all of them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sim/core/distribution.h"
#include "sim/core/time.h"

namespace dsim {

struct SourceLoc {
  std::string file;
  int line = 0;             ///< 1-based; 0 when unknown
  int column = 0;           ///< 1-based
  std::string str() const;  ///< "file:line:column"
};

struct Diagnostic {
  SourceLoc loc;
  std::string message;
};

/// Collects errors instead of stopping at the first one.
class Diagnostics {
 public:
  void error(SourceLoc loc, std::string message) {
    all_.push_back({std::move(loc), std::move(message)});
  }
  bool ok() const { return all_.empty(); }
  const std::vector<Diagnostic>& all() const { return all_; }
  /// Puts the errors from index `from` on in file order: by file (in the order each file
  /// first appears), line and column; errors without a line last in their file; ties keep
  /// the order they were found in.
  void sort_in_file_order(size_t from = 0);
  /// One line per error: "file:line:column: error: message".
  std::string render() const;

 private:
  std::vector<Diagnostic> all_;
};

/// One value of a scenario tree: a scalar (kept as its text), a list or a map (in file
/// order), with where it was written.
struct ParamNode {
  enum class Kind { kNull, kScalar, kList, kMap };
  struct Entry;

  Kind kind = Kind::kNull;
  std::string scalar;
  std::vector<ParamNode> items;
  std::vector<Entry> entries;
  SourceLoc loc;

  static ParamNode make_scalar(std::string text, SourceLoc loc = {});
  static ParamNode make_map(SourceLoc loc = {});
  static ParamNode make_list(SourceLoc loc = {});
  const ParamNode* find(std::string_view key) const;
  ParamNode* find(std::string_view key);
  void set(std::string key, ParamNode value);  ///< replaces or appends
  /// Appends an entry whose key the map does not hold yet (O(1), where set() searches).
  void append(std::string key, ParamNode value);
  std::string kind_name() const;
};

struct ParamNode::Entry {
  std::string key;
  SourceLoc key_loc;
  ParamNode value;
};

/// One documented parameter of a model.
struct ParamDoc {
  std::string key;
  std::string type;          ///< "duration", "rate", "distribution of times", "group", ...
  std::string default_text;  ///< empty when required
  std::string help;
};

/// What a reader needs to know of the scenario around it.
struct ParamEnv {
  Diagnostics* diagnostics = nullptr;
  std::vector<std::string> group_names;   ///< the groups a parameter may refer to
  std::vector<std::string> group_models;  ///< their models, by the same index ("": not given)
  /// Their node counts, by the same index (0: not known, e.g. not a number; the group's own
  /// reading reports that).
  std::vector<uint32_t> group_sizes;
  std::string base_dir;      ///< for relative file names (empirical CDFs)
  uint32_t group_count = 0;  ///< nodes of the group whose params are read (0: unknown)
  bool doc_mode = false;
  /// Indexes of group_names sorted by name (set by index_groups()): finding a group is then
  /// a binary search, where a scenario may hold 10^5 groups that each name another. While
  /// it does not match group_names (not set), a search is linear.
  std::vector<uint32_t> group_order;

  /// Sets group_order from group_names.
  void index_groups();
  /// The index of the first group named `name`, if any.
  std::optional<size_t> find_group(std::string_view name) const;
  /// The model of group `name` ("" when not known).
  std::string_view model_of(std::string_view name) const {
    const auto g = find_group(name);
    return g && *g < group_models.size() ? std::string_view(group_models[*g]) : std::string_view();
  }
  /// The node count of group `name` (0 when not known).
  uint32_t size_of(std::string_view name) const {
    const auto g = find_group(name);
    return g && *g < group_sizes.size() ? group_sizes[*g] : 0;
  }
};

class ParamReader {
 public:
  /// Reads the map `node` (may be null: all defaults). `path` names it in messages
  /// ("groups[1].params").
  ParamReader(const ParamNode* node, ParamEnv* env, std::string path, SourceLoc owner_loc = {});

  Duration duration(std::string_view key, Duration def, std::string_view help,
                    Duration min = Duration::zero());
  std::optional<Duration> optional_duration(std::string_view key, std::string_view help);
  double number(std::string_view key, double def, std::string_view help,
                double min = -std::numeric_limits<double>::infinity(),
                double max = std::numeric_limits<double>::infinity());
  int64_t integer(std::string_view key, int64_t def, std::string_view help,
                  int64_t min = std::numeric_limits<int64_t>::min(),
                  int64_t max = std::numeric_limits<int64_t>::max());
  /// 0 means "unbounded" where the help says so; the caller decides.
  double probability(std::string_view key, double def, std::string_view help);
  double rate(std::string_view key, double def_per_second, std::string_view help);
  uint64_t size(std::string_view key, uint64_t def_bytes, std::string_view help);
  double bandwidth(std::string_view key, double def_bits_per_second, std::string_view help);
  bool boolean(std::string_view key, bool def, std::string_view help);
  std::string choice(std::string_view key, std::string_view def,
                     std::vector<std::string_view> options, std::string_view help);
  /// One of named values, mapped to an enum: `{{"open", Load::kOpen}, {"closed", ...}}`.
  /// `def` must be one of them.
  template <class E>
  requires std::is_enum_v<E> E choice(std::string_view key, E def,
                                      std::initializer_list<std::pair<std::string_view, E>> options,
                                      std::string_view help) {
    return choice_of(key, def, options, help);
  }
  template <class E>
  requires std::is_enum_v<E> E choice(std::string_view key, E def,
                                      const std::vector<std::pair<std::string_view, E>>& options,
                                      std::string_view help) {
    return choice_of(key, def, options, help);
  }
  /// A required reference to a node group of the scenario.
  std::string group(std::string_view key, std::string_view help);
  /// One line of text (a name, a label): valid UTF-8 without control characters, so that
  /// it is safe in a CSV cell, a JSON string and a file name.
  std::string text(std::string_view key, std::string_view def, std::string_view help);
  /// Free text (a description): as text(), but newlines and tabs are allowed.
  std::string prose(std::string_view key, std::string_view def, std::string_view help);
  /// `allow_negative`: a signed time (a clock offset), where negative values make sense.
  Distribution distribution(std::string_view key, const Distribution& def, std::string_view help,
                            Distribution::Dim dim = Distribution::Dim::kTime,
                            bool allow_negative = false);
  /// A map of name -> weight (e.g. an operation mix {get: 0.8, put: 0.2}); weights >= 0,
  /// not all 0.
  std::vector<std::pair<std::string, double>> weights(
      std::string_view key, std::vector<std::pair<std::string, double>> def, std::string_view help);
  /// A value that is either one distribution (for every name) or a map name -> distribution.
  /// The result maps "" to the default for names not listed.
  std::vector<std::pair<std::string, Distribution>> distribution_map(
      std::string_view key, const Distribution& def, std::string_view help,
      Distribution::Dim dim = Distribution::Dim::kTime);
  /// A nested map of parameters, read by the returned reader. When done reading it, call
  /// finish() on it, then adopt() it here so its docs and resolved values join this map's.
  ParamReader map(std::string_view key, std::string_view help);
  void adopt(std::string_view key, const ParamReader& child);
  /// adopt() for an optional map: only when the scenario gives it (or for the docs), so
  /// the resolved scenario shows an optional map that was not written as absent.
  void adopt_if_given(std::string_view key, const ParamReader& child) {
    if (has(key) || doc_mode()) adopt(key, child);
  }
  /// The raw node (or null when absent), for shapes the helpers above do not cover.
  /// `default_text` documents the value when absent (empty: shown as required).
  const ParamNode* raw(std::string_view key, std::string_view type, std::string_view help,
                       std::string_view default_text = "");

  bool has(std::string_view key) const;
  /// Reports a cross-field rule that failed, at the key's location (or the map's).
  void error(std::string_view key, std::string message);
  /// Reports every key nobody read, with the valid keys. Call once, after the last read.
  void finish();

  bool doc_mode() const { return env_->doc_mode; }
  const std::vector<ParamDoc>& docs() const { return docs_; }
  /// Every key read, with its effective value (given or default), as a map node.
  const ParamNode& resolved() const { return resolved_; }
  ParamEnv& env() { return *env_; }
  const std::string& path() const { return path_; }

 private:
  template <class E, class Options>
  E choice_of(std::string_view key, E def, const Options& options, std::string_view help) {
    std::vector<std::string_view> names;
    std::string_view def_name;
    for (const auto& [name, value] : options) {
      names.push_back(name);
      if (value == def) def_name = name;
    }
    const std::string picked = choice(key, def_name, std::move(names), help);
    for (const auto& [name, value] : options) {
      if (name == picked) return value;
    }
    return def;
  }
  const ParamNode* lookup(std::string_view key, std::string_view type, std::string_view help,
                          std::string default_text);
  std::string read_text(std::string_view key, std::string_view def, std::string_view help,
                        std::string (*problem)(std::string_view));
  const SourceLoc& loc_of(std::string_view key) const;
  void fail(const ParamNode& at, std::string_view key, const std::string& message);
  /// Whether the key of entry `e` of map `key` is a valid name (one line of UTF-8); reports
  /// it otherwise.
  bool name_ok(const ParamNode::Entry& e, std::string_view key);
  void note(std::string_view key, ParamNode value);

  const ParamNode* node_;
  ParamEnv* env_;
  std::string path_;
  SourceLoc owner_loc_;
  std::vector<std::string> known_;
  std::vector<ParamDoc> docs_;
  ParamNode resolved_;
};

}  // namespace dsim
