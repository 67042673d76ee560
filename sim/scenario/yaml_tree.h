// YAML text <-> ParamNode trees (values with their file:line:column).
#pragma once

#include <optional>
#include <string>

#include "sim/core/params.h"

namespace dsim {

/// Parses YAML text: one document of UTF-8 text, nested at most 64 levels, whose tree
/// (aliases repeated) holds at most 10^6 values and 64 MiB of text. Syntax errors, duplicate
/// keys and every limit passed go to `diag`.
std::optional<ParamNode> parse_yaml(const std::string& text, const std::string& file,
                                    Diagnostics& diag);
/// The text of a scenario file: a regular file of at most kMaxScenarioBytes (64 MiB);
/// otherwise nullopt, reported to `diag`.
std::optional<std::string> read_scenario_file(const std::string& path, Diagnostics& diag);
/// Reads and parses a file; an unreadable file is reported to `diag`.
std::optional<ParamNode> load_yaml_file(const std::string& path, Diagnostics& diag);
/// Writes a tree back as block-style YAML, keys in tree order.
std::string emit_yaml(const ParamNode& node);

}  // namespace dsim
