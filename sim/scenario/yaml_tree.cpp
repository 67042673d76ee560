#include "sim/scenario/yaml_tree.h"

#include <sstream>

#include <string_view>
#include <unordered_set>
#include <vector>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "sim/core/text_input.h"
#include "sim/core/units.h"

namespace dsim {

namespace {

// Limits on the tree a scenario's text becomes. yaml-cpp shares the node an alias names,
// but the tree copies it at each alias, so a few lines of aliases of aliases ("billion
// laughs") would expand to gigabytes: the tree is held to a budget. Real scenarios hold a
// few thousand values and nest a dozen levels at most.
constexpr size_t kMaxValues = 1'000'000;
constexpr uint64_t kMaxTextBytes = kMaxScenarioBytes;
constexpr int kMaxDepth = 64;

SourceLoc loc_of(const YAML::Mark& m, const std::string& file) {
  if (m.line < 0) return SourceLoc{file, 0, 0};
  return SourceLoc{file, m.line + 1, m.column + 1};
}

SourceLoc loc_of(const YAML::Node& n, const std::string& file) {
  return loc_of(n.Mark(), file);
}

std::string nested_too_deeply() {
  return "nested too deeply: at most " + std::to_string(kMaxDepth) + " levels of lists and maps";
}

// Walks yaml-cpp's node graph as the tree would repeat it, without building anything, and
// reports the first limit it passes: so that refusing an alias bomb costs no memory, and
// the conversion after it needs no checks.
class Measure {
 public:
  Measure(const std::string& file, Diagnostics& diag) : file_(file), diag_(diag) {}

  bool within_limits(const YAML::Node& root) {
    walk(root);
    return !stopped_;
  }

 private:
  void walk(const YAML::Node& n) {
    if (stopped_ || !charge(n)) return;
    if (!n.IsSequence() && !n.IsMap()) return;
    if (!enter(n)) return;
    for (const auto& item : n) {
      if (n.IsMap()) {
        bytes_ += item.first.IsScalar() ? item.first.Scalar().size() : 0;
        walk(item.second);
      } else {
        walk(item);
      }
    }
    ancestors_.pop_back();
  }

  // Counts one more value and its text against the budget.
  bool charge(const YAML::Node& n) {
    ++values_;
    if (n.IsScalar()) bytes_ += n.Scalar().size();
    if (values_ <= kMaxValues && bytes_ <= kMaxTextBytes) return true;
    return stop(n, "the document expands to more than " + std::to_string(kMaxValues) +
                       " values or " + format_bytes(kMaxTextBytes) +
                       " of text once its aliases are repeated (the most a scenario may "
                       "hold); this value is past the limit");
  }

  // Steps into a list or map: within the depth limit, and not into one of its own holders
  // (an alias inside what it names would repeat forever).
  bool enter(const YAML::Node& n) {
    for (const auto& a : ancestors_) {
      if (a.is(n)) {
        return stop(n,
                    "an alias names the list or map that holds it, which would repeat it "
                    "forever");
      }
    }
    if (ancestors_.size() >= static_cast<size_t>(kMaxDepth)) return stop(n, nested_too_deeply());
    ancestors_.push_back(n);
    return true;
  }

  bool stop(const YAML::Node& n, std::string message) {
    diag_.error(loc_of(n, file_), std::move(message));
    stopped_ = true;
    return false;
  }

  const std::string& file_;
  Diagnostics& diag_;
  std::vector<YAML::Node> ancestors_;  // the lists and maps around the value walked
  size_t values_ = 0;
  uint64_t bytes_ = 0;
  bool stopped_ = false;
};

// yaml-cpp's node graph (measured: within the limits) -> a ParamNode tree.
class Converter {
 public:
  Converter(const std::string& file, Diagnostics& diag) : file_(file), diag_(diag) {}

  ParamNode convert(const YAML::Node& n) {
    ParamNode out;
    out.loc = loc_of(n, file_);
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out.kind = ParamNode::Kind::kNull;
        break;
      case YAML::NodeType::Scalar:
        out.kind = ParamNode::Kind::kScalar;
        out.scalar = n.Scalar();
        break;
      case YAML::NodeType::Sequence:
        out.kind = ParamNode::Kind::kList;
        for (const auto& item : n)
          out.items.push_back(convert(item));
        break;
      case YAML::NodeType::Map:
        convert_map(n, out);
        break;
    }
    return out;
  }

 private:
  // Duplicate keys are found with a hash set of views into yaml-cpp's own key strings
  // (alive as long as the document), so a map of n keys costs O(n).
  void convert_map(const YAML::Node& n, ParamNode& out) {
    out.kind = ParamNode::Kind::kMap;
    std::unordered_set<std::string_view> seen;
    for (const auto& kv : n) {
      const SourceLoc key_loc = loc_of(kv.first, file_);
      if (!kv.first.IsScalar()) {
        diag_.error(key_loc, "a map key must be a plain name");
        continue;
      }
      const std::string& key = kv.first.Scalar();
      if (!seen.insert(key).second) {
        diag_.error(key_loc, "duplicate key '" + key + "'");
        continue;
      }
      out.entries.push_back({key, key_loc, convert(kv.second)});
    }
  }

  const std::string& file_;
  Diagnostics& diag_;
};

// The line and column (1-based, in characters) of byte `at` of `text`.
SourceLoc loc_at(const std::string& text, size_t at, const std::string& file) {
  int line = 1, column = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      line += 1, column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return SourceLoc{file, line, column};
}

// A scenario is UTF-8 text: reports a UTF-16 or UTF-32 file, a NUL byte and bytes that are
// not UTF-8, where they are (yaml-cpp would misread them or say "unknown escape").
bool check_encoding(const std::string& text, const std::string& file, Diagnostics& diag) {
  const auto starts = [&](std::string_view bom) { return text.starts_with(bom); };
  using namespace std::string_view_literals;
  if (starts("\xFE\xFF"sv) || starts("\xFF\xFE"sv) || starts("\0\0\xFE\xFF"sv)) {
    diag.error(SourceLoc{file, 1, 1}, "the file is UTF-16 or UTF-32 text; dsim reads UTF-8");
    return false;
  }
  if (const size_t nul = text.find('\0'); nul != std::string::npos) {
    diag.error(loc_at(text, nul, file), "the file holds a NUL byte here; a scenario is text");
    return false;
  }
  if (const auto bad = invalid_utf8_at(text)) {
    diag.error(loc_at(text, *bad, file),
               "the file holds a byte that is not UTF-8 here; a scenario is UTF-8 text");
    return false;
  }
  return true;
}

void emit(YAML::Emitter& e, const ParamNode& n) {
  switch (n.kind) {
    case ParamNode::Kind::kNull:
      e << YAML::Null;
      break;
    case ParamNode::Kind::kScalar:
      e << n.scalar;
      break;
    case ParamNode::Kind::kList:
      e << YAML::BeginSeq;
      for (const auto& item : n.items)
        emit(e, item);
      e << YAML::EndSeq;
      break;
    case ParamNode::Kind::kMap:
      e << YAML::BeginMap;
      for (const auto& entry : n.entries) {
        e << YAML::Key << entry.key << YAML::Value;
        emit(e, entry.value);
      }
      e << YAML::EndMap;
      break;
  }
}

// Where a document after the first begins, if one holds anything. yaml-cpp's LoadAll never
// returns on some malformed texts (it keeps finding empty documents), so the parser is
// asked for two documents at most and only their events are looked at.
class SecondDocument final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { seen(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    seen(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    seen(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    seen(mark);
  }
  void OnMapEnd() override {}

  std::optional<YAML::Mark> first;  // of its first value

 private:
  void seen(const YAML::Mark& mark) {
    if (!first) first = mark;
  }
};

std::optional<YAML::Mark> second_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  SecondDocument first, second;
  if (!parser.HandleNextDocument(first)) return std::nullopt;
  if (!parser.HandleNextDocument(second)) return std::nullopt;
  return second.first;
}

}  // namespace

std::optional<ParamNode> parse_yaml(const std::string& text, const std::string& file,
                                    Diagnostics& diag) {
  if (!check_encoding(text, file, diag)) return std::nullopt;
  try {
    const YAML::Node root = YAML::Load(text);
    if (const auto second = second_document(text)) {
      diag.error(SourceLoc{file, second->line + 1, second->column + 1},
                 "a second YAML document begins here; a scenario file holds one (remove the "
                 "'---' line before it, or split the file)");
      return std::nullopt;
    }
    if (!Measure(file, diag).within_limits(root)) return std::nullopt;
    return Converter(file, diag).convert(root);
  } catch (const YAML::DeepRecursion& ex) {
    diag.error(loc_of(ex.mark, file), nested_too_deeply());
    return std::nullopt;
  } catch (const YAML::Exception& ex) {
    diag.error(SourceLoc{file, ex.mark.line + 1, ex.mark.column + 1},
               "YAML syntax: " + ex.msg +
                   (ex.msg.find("map") != std::string::npos
                        ? " (a distribution with named arguments is written name(key=value); "
                          "quote values that contain ': ')"
                        : ""));
    return std::nullopt;
  }
}

std::optional<std::string> read_scenario_file(const std::string& path, Diagnostics& diag) {
  std::string err;
  auto text = read_text_file(path, kMaxScenarioBytes, &err);
  if (!text) diag.error(SourceLoc{path, 0, 0}, "cannot read the scenario: " + err);
  return text;
}

std::optional<ParamNode> load_yaml_file(const std::string& path, Diagnostics& diag) {
  auto text = read_scenario_file(path, diag);
  if (!text) return std::nullopt;
  return parse_yaml(*text, path, diag);
}

std::string emit_yaml(const ParamNode& node) {
  YAML::Emitter e;
  e.SetIndent(2);
  emit(e, node);
  return std::string(e.c_str()) + "\n";
}

}  // namespace dsim
