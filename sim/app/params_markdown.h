// A model's parameters as a Markdown table (`dsim list models --markdown`): the table each
// docs/models/<name>.md holds between its `<!-- params:begin -->` and `<!-- params:end -->`
// markers, which `make docs` regenerates and tests/unit/test_docs.cpp keeps current.
#pragma once

#include <string>

#include "sim/core/registry.h"

namespace dsim {

/// One table cell: '|' escaped, line breaks as spaces.
inline std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

/// The table of `f`'s parameters, one row each in the order the model reads them.
inline std::string params_markdown(const ModelFactory& f) {
  std::string out = "| param | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& p : f.params()) {
    out += "| `" + p.key + "` | " + markdown_cell(p.type) + " | " +
           (p.default_text.empty() ? std::string("required")
                                   : "`" + markdown_cell(p.default_text) + "`") +
           " | " + markdown_cell(p.help) + " |\n";
  }
  return out;
}

}  // namespace dsim
