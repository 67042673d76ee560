// The architecture of a scenario as SVG: one box per group (name, model, nodes) in columns
// by call depth, arrows from each group to the groups it calls (ModelFactory::callees);
// and the network's regions with their zones and the nodes each group placed there.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dsim::report {

struct DiagramGroup {
  std::string name;
  std::string model;
  uint64_t count = 0;
  std::vector<std::string> callees;  ///< group names; unknown names are not drawn
};

/// The most groups drawn as boxes; a scenario with more gets a message instead.
inline constexpr size_t kMaxDiagramGroups = 80;

/// Groups no one calls stand in the first column, each other group one column right of
/// its deepest caller. `<svg class="architecture" data-groups="G" data-calls="C">`.
std::string render_architecture(const std::vector<DiagramGroup>& groups);

struct DiagramZone {
  std::string name;
  std::vector<std::pair<std::string, uint64_t>> nodes;  ///< group -> nodes in the zone
};
struct DiagramRegion {
  std::string name;
  std::vector<DiagramZone> zones;
};

/// Regions side by side, each listing its zones and the nodes of each group in them.
std::string render_regions(const std::vector<DiagramRegion>& regions);

}  // namespace dsim::report
