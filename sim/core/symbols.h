// Interned names: a Symbol is its name's index in the order of first interning, which is
// deterministic because models intern from deterministic handlers.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/core/ids.h"

namespace dsim {

class SymbolTable {
 public:
  Symbol intern(std::string_view name) {
    auto it = index_.find(std::string(name));
    if (it != index_.end()) return Symbol{it->second};
    const auto id = static_cast<uint32_t>(names_.size());
    names_.emplace_back(name);
    index_.emplace(names_.back(), id);
    return Symbol{id};
  }
  std::string_view name(Symbol s) const {
    return s.id < names_.size() ? std::string_view(names_[s.id]) : std::string_view("?");
  }
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t> index_;  // lookups only; never iterated
};

}  // namespace dsim
