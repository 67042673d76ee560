#include "sim/report/architecture_diagram.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "sim/report/html.h"

namespace dsim::report {

namespace {

constexpr double kBoxW = 180, kBoxH = 56, kColGap = 80, kRowGap = 18, kPad = 14;
constexpr size_t kMaxLabel = 24;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A label cut to fit its box (at a character boundary of UTF-8 text).
std::string fit(const std::string& s, size_t max = kMaxLabel) {
  if (s.size() <= max) return s;
  size_t cut = max - 1;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  return s.substr(0, cut) + "\u2026";
}

// Each group's column: 0 for groups no one calls, else one past its deepest caller (the
// call graph has no cycle; a scenario's loader checked).
std::vector<size_t> columns(const std::vector<DiagramGroup>& groups,
                            const std::map<std::string, size_t>& index) {
  std::vector<size_t> col(groups.size(), 0);
  for (size_t round = 0; round < groups.size(); ++round) {
    bool changed = false;
    for (size_t g = 0; g < groups.size(); ++g) {
      for (const auto& callee : groups[g].callees) {
        const auto it = index.find(callee);
        if (it == index.end() || it->second == g) continue;
        if (col[it->second] < col[g] + 1 && col[g] + 1 < groups.size()) {
          col[it->second] = col[g] + 1;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return col;
}

// A call's arrow from the caller's right edge to the callee's left edge. One that skips a
// column goes over the top of the boxes between, in the margin above them.
std::string arrow_path(double x1, double y1, double x2, double y2, bool skips) {
  const double bend = kColGap / 2;
  if (!skips) {
    return "M" + num(x1) + " " + num(y1) + "C" + num(x1 + bend) + " " + num(y1) + " " +
           num(x2 - bend) + " " + num(y2) + " " + num(x2) + " " + num(y2);
  }
  const double lane = kPad / 2;
  return "M" + num(x1) + " " + num(y1) + "C" + num(x1 + bend) + " " + num(y1) + " " +
         num(x1 + bend / 2) + " " + num(lane) + " " + num(x1 + bend) + " " + num(lane) + "H" +
         num(x2 - bend) + "C" + num(x2 - bend / 2) + " " + num(lane) + " " + num(x2 - bend) + " " +
         num(y2) + " " + num(x2) + " " + num(y2);
}

}  // namespace

std::string render_architecture(const std::vector<DiagramGroup>& groups) {
  if (groups.size() > kMaxDiagramGroups) {
    return "<p class=\"empty\">" + std::to_string(groups.size()) +
           " groups: too many to draw; the table below lists them.</p>\n";
  }
  std::map<std::string, size_t> index;
  for (size_t g = 0; g < groups.size(); ++g)
    index.emplace(groups[g].name, g);
  const std::vector<size_t> col = columns(groups, index);
  const size_t ncols = groups.empty() ? 1 : *std::max_element(col.begin(), col.end()) + 1;
  std::vector<size_t> row(groups.size()), rows_in(ncols, 0);
  for (size_t g = 0; g < groups.size(); ++g)
    row[g] = rows_in[col[g]]++;
  const size_t nrows = std::max<size_t>(1, *std::max_element(rows_in.begin(), rows_in.end()));
  const double width =
      kPad * 2 + static_cast<double>(ncols) * kBoxW + static_cast<double>(ncols - 1) * kColGap;
  const double height = kPad * 2 + static_cast<double>(nrows) * (kBoxH + kRowGap) - kRowGap;
  // Columns are centred vertically on the tallest.
  auto box_x = [&](size_t g) { return kPad + static_cast<double>(col[g]) * (kBoxW + kColGap); };
  auto box_y = [&](size_t g) {
    const double offset = (static_cast<double>(nrows - rows_in[col[g]]) * (kBoxH + kRowGap)) / 2;
    return kPad + offset + static_cast<double>(row[g]) * (kBoxH + kRowGap);
  };
  size_t calls = 0;
  std::string arrows;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const auto& callee : groups[g].callees) {
      const auto it = index.find(callee);
      if (it == index.end() || it->second == g) continue;
      ++calls;
      const size_t c = it->second;
      const double x1 = box_x(g) + kBoxW, y1 = box_y(g) + kBoxH / 2;
      const double x2 = box_x(c) - 3, y2 = box_y(c) + kBoxH / 2;
      arrows += "<path d=\"" + arrow_path(x1, y1, x2, y2, col[c] > col[g] + 1) +
                "\" marker-end=\"url(#arch-arrow)\"><title>" +
                escape(groups[g].name + " calls " + callee) + "</title></path>\n";
    }
  }
  std::string out = "<svg class=\"architecture\" data-groups=\"" + std::to_string(groups.size()) +
                    "\" data-calls=\"" + std::to_string(calls) + "\" viewBox=\"0 0 " + num(width) +
                    " " + num(height) + "\" width=\"" + num(width) + "\" height=\"" + num(height) +
                    "\" font-family=\"system-ui,sans-serif\" role=\"img\">\n";
  out +=
      "<defs><marker id=\"arch-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
      "markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" "
      "fill=\"#57606a\"/></marker></defs>\n";
  out += "<g fill=\"none\" stroke=\"#57606a\" stroke-width=\"1.5\">\n" + arrows + "</g>\n";
  for (size_t g = 0; g < groups.size(); ++g) {
    const double x = box_x(g), y = box_y(g);
    const DiagramGroup& d = groups[g];
    out += "<g class=\"group\"><title>" +
           escape(d.name + ": " + d.model + ", " + std::to_string(d.count) + " node" +
                  (d.count == 1 ? "" : "s")) +
           "</title><rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(kBoxW) +
           "\" height=\"" + num(kBoxH) +
           "\" rx=\"6\" fill=\"#f3f7fb\" stroke=\"#4e79a7\" stroke-width=\"1.5\"/>";
    out += "<text x=\"" + num(x + kBoxW / 2) + "\" y=\"" + num(y + 22) +
           "\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"600\">" + escape(fit(d.name)) +
           "</text>";
    out += "<text x=\"" + num(x + kBoxW / 2) + "\" y=\"" + num(y + 42) +
           "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#57606a\">" +
           escape(fit(d.model + " \u00d7 " + std::to_string(d.count), 30)) + "</text></g>\n";
  }
  return out + "</svg>\n";
}

std::string render_regions(const std::vector<DiagramRegion>& regions) {
  constexpr double kRegionW = 220, kLine = 16, kGap = 16;
  size_t lines = 1;
  for (const auto& r : regions) {
    size_t n = 0;
    for (const auto& z : r.zones)
      n += 1 + z.nodes.size();
    lines = std::max(lines, n);
  }
  const double height = kPad * 2 + 28 + static_cast<double>(lines) * kLine;
  const double width = kPad * 2 + static_cast<double>(regions.size()) * (kRegionW + kGap) - kGap;
  std::string out = "<svg class=\"regions\" data-regions=\"" + std::to_string(regions.size()) +
                    "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\" width=\"" +
                    num(width) + "\" height=\"" + num(height) +
                    "\" font-family=\"system-ui,sans-serif\" role=\"img\">\n";
  for (size_t i = 0; i < regions.size(); ++i) {
    const double x = kPad + static_cast<double>(i) * (kRegionW + kGap);
    out += "<rect x=\"" + num(x) + "\" y=\"" + num(kPad) + "\" width=\"" + num(kRegionW) +
           "\" height=\"" + num(height - 2 * kPad) +
           "\" rx=\"8\" fill=\"#fbfaf5\" stroke=\"#b07aa1\" stroke-dasharray=\"6 3\"/>";
    out += "<text x=\"" + num(x + 10) + "\" y=\"" + num(kPad + 20) +
           "\" font-size=\"14\" font-weight=\"600\">" + escape(fit(regions[i].name)) + "</text>\n";
    double y = kPad + 20 + kLine + 4;
    for (const auto& z : regions[i].zones) {
      out += "<text x=\"" + num(x + 12) + "\" y=\"" + num(y) + "\" font-size=\"12\">zone " +
             escape(fit(z.name)) + "</text>";
      y += kLine;
      for (const auto& [group, n] : z.nodes) {
        out += "<text x=\"" + num(x + 26) + "\" y=\"" + num(y) +
               "\" font-size=\"11\" fill=\"#57606a\">" +
               escape(fit(group) + ": " + std::to_string(n) + " node" + (n == 1 ? "" : "s")) +
               "</text>";
        y += kLine;
      }
      out += "\n";
    }
  }
  return out + "</svg>\n";
}

}  // namespace dsim::report
