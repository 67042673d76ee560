// The HTML of a report page: escaping, the page around the sections (its styles inline:
// the file opens without a network), tables, and numbers rounded for people.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sim/core/report_figure.h"

namespace dsim::report {

/// Text safe inside an element or a quoted attribute (HTML and SVG): & < > " ' escaped.
std::string escape(std::string_view text);

/// A number for people: at most `digits` significant digits, no exponent below 10^15;
/// "" for NaN and infinities.
std::string format_short(double v, int digits = 4);

/// `id` attribute text from a title: lower case letters and digits, others as '-'.
std::string anchor(std::string_view title);

/// A table with its title and caption.
std::string render_table(const ReportTable& table);

/// A whole section: heading, prose, figures (svg_chart.h), tables, preformatted text.
/// `extra_html` (already HTML: a diagram) goes after the prose.
std::string render_section(const ReportSection& section, const std::string& extra_html = "");

/// The page: `header_comment` is the first line (dsim's header line, inside an HTML
/// comment, so the run directory knows the file as dsim's); then the title, a table of
/// contents of `section_titles`, and `body`.
std::string render_page(const std::string& header_comment, const std::string& title,
                        const std::vector<std::string>& section_titles, const std::string& body);

}  // namespace dsim::report
