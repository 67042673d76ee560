#include <iostream>

#include "sim/app/commands.h"
#include "sim/app/params_markdown.h"
#include "sim/core/registry.h"

namespace dsim {

int cmd_list_models(const ModelRegistry& registry, const std::string& only, bool markdown) {
  bool found = false;
  for (const ModelFactory* f : registry.all()) {
    if (!only.empty() && f->name != only) continue;
    if (markdown) {
      // One model: its table alone; all of them: each under a heading.
      if (only.empty()) std::cout << (found ? "\n" : "") << "## `" << f->name << "`\n\n";
      std::cout << params_markdown(*f);
      found = true;
      continue;
    }
    found = true;
    std::cout << f->name << "\n  " << f->description << "\n  params:\n";
    for (const auto& p : f->params()) {
      std::cout << "    " << p.key << " (" << p.type << ")"
                << (p.default_text.empty() ? " required" : " = " + p.default_text) << "\n"
                << "        " << p.help << "\n";
    }
    std::cout << "\n";
  }
  if (!found) {
    std::cerr << "dsim: no model named '" << only << "' (models: " << registry.names() << ")\n";
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace dsim
