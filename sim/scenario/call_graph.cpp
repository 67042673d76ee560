#include "sim/scenario/call_graph.h"

#include <map>
#include <string>
#include <vector>

namespace dsim {

namespace {

// Depth-first search for a cycle, iterative (a scenario may hold 10^5 groups in a chain).
// Returns the cycle's groups, first = last, or empty.
std::vector<size_t> find_cycle(const std::vector<std::vector<size_t>>& out) {
  enum class Color : uint8_t { kWhite, kGrey, kBlack };
  std::vector<Color> color(out.size(), Color::kWhite);
  std::vector<size_t> parent(out.size(), 0);
  for (size_t root = 0; root < out.size(); ++root) {
    if (color[root] != Color::kWhite) continue;
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};  // node, next edge
    color[root] = Color::kGrey;
    while (!stack.empty()) {
      auto& [u, next] = stack.back();
      if (next == out[u].size()) {
        color[u] = Color::kBlack;
        stack.pop_back();
        continue;
      }
      const size_t v = out[u][next++];
      if (color[v] == Color::kGrey) {  // a back edge: v ... u -> v
        std::vector<size_t> cycle{v};
        for (size_t w = u; w != v; w = parent[w])
          cycle.insert(cycle.begin() + 1, w);
        cycle.push_back(v);
        return cycle;
      }
      if (color[v] == Color::kWhite) {
        color[v] = Color::kGrey;
        parent[v] = u;
        stack.emplace_back(v, 0);
      }
    }
  }
  return {};
}

}  // namespace

void check_call_graph(const ScenarioSpec& spec, Diagnostics& diag) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < spec.groups.size(); ++i)
    index.emplace(spec.groups[i].name, i);
  std::vector<std::vector<size_t>> out(spec.groups.size());
  for (size_t i = 0; i < spec.groups.size(); ++i) {
    const GroupSpec& g = spec.groups[i];
    if (!g.factory || !g.factory->callees || !g.config) continue;
    for (const auto& callee : g.factory->callees(g.config.get())) {
      if (auto it = index.find(callee); it != index.end()) out[i].push_back(it->second);
    }
  }
  const std::vector<size_t> cycle = find_cycle(out);
  if (cycle.empty()) return;
  std::string path;
  for (size_t g : cycle)
    path += (path.empty() ? "" : " -> ") + spec.groups[g].name;
  diag.error(spec.groups[cycle[cycle.size() - 2]].loc,
             "groups: the call graph has a cycle (" + path +
                 "): a request would call its own group again without end");
}

std::set<std::string> called_groups(const ScenarioSpec& spec) {
  std::set<std::string> out;
  for (const GroupSpec& g : spec.groups) {
    if (!g.factory || !g.factory->callees || !g.config) continue;
    for (auto& callee : g.factory->callees(g.config.get()))
      out.insert(std::move(callee));
  }
  return out;
}

}  // namespace dsim
