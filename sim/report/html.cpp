#include "sim/report/html.h"

#include <cmath>
#include <cstdio>

#include "sim/report/svg_chart.h"

namespace dsim::report {

namespace {

// The page's styles: one column, readable tables, charts at their natural width.
constexpr const char* kStyle = R"(body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;
margin:0 auto;max-width:1100px;padding:1em 2em;color:#1d232a;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;
margin-top:2em}h3{font-size:1.05em;margin:1.2em 0 .3em}
p.caption,figcaption{color:#57606a;font-size:.9em;margin:.2em 0 .6em}
table{border-collapse:collapse;font-size:.88em;margin:.4em 0 1em}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:right}
th{background:#f3f5f7}td:first-child,th:first-child{text-align:left}
td.text,th.text{text-align:left}tr.fail td{background:#ffebe9}tr.pass td.verdict{color:#1a7f37}
tr.fail td.verdict{color:#cf222e;font-weight:600}
figure.chart{margin:1em 0 1.6em}figure.chart svg{max-width:100%;height:auto}
ul.legend{list-style:none;padding:0;margin:.2em 0;font-size:.85em;display:flex;flex-wrap:wrap;gap:.3em 1.2em}
ul.legend span{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em;border-radius:2px}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.85em}
nav ul{columns:2;font-size:.9em}.empty{color:#57606a;font-style:italic}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;font-size:.92em}
dl.facts dt{color:#57606a}dl.facts dd{margin:0}
.diagram svg{max-width:100%;height:auto}
)";

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string format_short(double v, int digits) {
  if (!std::isfinite(v)) return "";
  if (v == std::floor(v) && std::abs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  std::string s = buf;
  if (s.find('e') == std::string::npos) return s;
  // An exponent only for the very small: 0.0001234 reads better than 1.234e-04 down to 1e-6.
  if (std::abs(v) >= 1e-6 && std::abs(v) < 1e15) {
    const int decimals = digits - 1 - static_cast<int>(std::floor(std::log10(std::abs(v))));
    std::snprintf(buf, sizeof buf, "%.*f", decimals < 0 ? 0 : decimals, v);
    s = buf;
  }
  return s;
}

std::string anchor(std::string_view title) {
  std::string out;
  for (char c : title) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum) {
      out += c;
    } else if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  return out.empty() ? "section" : out;
}

std::string render_table(const ReportTable& table) {
  std::string out;
  if (!table.title.empty()) out += "<h3>" + escape(table.title) + "</h3>\n";
  if (!table.caption.empty()) out += "<p class=\"caption\">" + escape(table.caption) + "</p>\n";
  if (table.rows.empty()) return out + "<p class=\"empty\">No rows.</p>\n";
  // A column's heading sits over its cells: left over text, right over numbers.
  std::vector<bool> text_column(table.columns.size(), false);
  for (const auto& row : table.rows) {
    for (size_t i = 0; i < row.size() && i < text_column.size(); ++i)
      if (!row[i].empty() && !CsvTable::number(row[i])) text_column[i] = true;
  }
  out += "<table>\n<tr>";
  for (size_t i = 0; i < table.columns.size(); ++i)
    out += (text_column[i] ? "<th class=\"text\">" : "<th>") + escape(table.columns[i]) + "</th>";
  out += "</tr>\n";
  for (const auto& row : table.rows) {
    // A verdict column marks its row: failed checks stand out.
    std::string cls;
    for (size_t i = 0; i < row.size() && i < table.columns.size(); ++i) {
      if (table.columns[i] == "verdict") cls = row[i] == "pass" ? "pass" : "fail";
    }
    out += cls.empty() ? "<tr>" : "<tr class=\"" + cls + "\">";
    for (size_t i = 0; i < row.size(); ++i) {
      const bool verdict = i < table.columns.size() && table.columns[i] == "verdict";
      const bool text = !verdict && !row[i].empty() && !CsvTable::number(row[i]);
      out += verdict ? "<td class=\"verdict\">" : text ? "<td class=\"text\">" : "<td>";
      out += escape(row[i]) + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

std::string render_section(const ReportSection& section, const std::string& extra_html) {
  std::string out =
      "<section id=\"" + anchor(section.title) + "\">\n<h2>" + escape(section.title) + "</h2>\n";
  if (!section.text.empty()) out += "<p>" + escape(section.text) + "</p>\n";
  out += extra_html;
  for (const auto& f : section.figures)
    out += render_chart(f);
  for (const auto& t : section.tables)
    out += render_table(t);
  if (!section.preformatted.empty()) out += "<pre>" + escape(section.preformatted) + "</pre>\n";
  return out + "</section>\n";
}

std::string render_page(const std::string& header_comment, const std::string& title,
                        const std::vector<std::string>& section_titles, const std::string& body) {
  // "--" may not appear inside an HTML comment.
  std::string comment = header_comment;
  for (size_t at; (at = comment.find("--")) != std::string::npos;)
    comment.replace(at, 2, "- -");
  std::string out = "<!-- " + comment + " -->\n<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n";
  out += "<meta charset=\"utf-8\">\n<title>" + escape(title) + "</title>\n";
  out += "<style>\n" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  out += "<h1>" + escape(title) + "</h1>\n<nav><ul>\n";
  for (const auto& t : section_titles)
    out += "<li><a href=\"#" + anchor(t) + "\">" + escape(t) + "</a></li>\n";
  out += "</ul></nav>\n" + body + "</body>\n</html>\n";
  return out;
}

}  // namespace dsim::report
