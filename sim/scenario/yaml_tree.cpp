#include "sim/scenario/yaml_tree.h"

#include <yaml-cpp/yaml.h>

#include "sim/core/text_input.h"

namespace dsim {

namespace {

SourceLoc loc_of(const YAML::Node& n, const std::string& file) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return SourceLoc{file, 0, 0};
  return SourceLoc{file, m.line + 1, m.column + 1};
}

ParamNode convert(const YAML::Node& n, const std::string& file, Diagnostics& diag) {
  ParamNode out;
  out.loc = loc_of(n, file);
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
        out.items.push_back(convert(item, file, diag));
      break;
    case YAML::NodeType::Map:
      out.kind = ParamNode::Kind::kMap;
      for (const auto& kv : n) {
        const SourceLoc key_loc = loc_of(kv.first, file);
        if (!kv.first.IsScalar()) {
          diag.error(key_loc, "a map key must be a plain name");
          continue;
        }
        const std::string key = kv.first.Scalar();
        if (out.find(key)) {
          diag.error(key_loc, "duplicate key '" + key + "'");
          continue;
        }
        out.entries.push_back({key, key_loc, convert(kv.second, file, diag)});
      }
      break;
  }
  return out;
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

}  // namespace

std::optional<ParamNode> parse_yaml(const std::string& text, const std::string& file,
                                    Diagnostics& diag) {
  try {
    const YAML::Node root = YAML::Load(text);
    return convert(root, file, diag);
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
