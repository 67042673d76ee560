#include "sim/report/run_report.h"

#include <algorithm>
#include <map>
#include <set>

#include "sim/core/registry.h"
#include "sim/core/text_input.h"
#include "sim/core/time.h"
#include "sim/report/architecture_diagram.h"
#include "sim/report/html.h"
#include "sim/report/run_sections.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/yaml_tree.h"

namespace dsim::report {

namespace {

// Reads a run's files into RunData, naming the first file that is missing or malformed.
class Reader {
 public:
  Reader(const RunFiles& files, std::string where) : files_(files), where_(std::move(where)) {}

  const std::string& error() const { return error_; }
  std::string path(const std::string& name) const { return where_ + "/" + name; }

  // A CSV file with at least `columns`; an empty table when it is absent and optional.
  std::optional<CsvTable> table(const std::string& name, const std::vector<std::string>& columns,
                                bool required) {
    const auto text = files_(name);
    if (!text) {
      if (required) fail(path(name) + ": missing (not a run directory of dsim?)");
      return required ? std::nullopt : std::optional<CsvTable>(CsvTable{columns, {}});
    }
    std::string why;
    auto t = parse_csv_table(*text, &why);
    if (!t) return fail(path(name) + ": " + why);
    for (const auto& c : columns) {
      if (!t->column(c)) return fail(path(name) + ": no column '" + c + "'");
    }
    return t;
  }

  // A file a model's report hook asks for: nullopt when absent; a malformed one is an error.
  // Each file is parsed once, however often hooks ask for it.
  std::optional<CsvTable> optional_table(const std::string& name) {
    if (const auto it = parsed_.find(name); it != parsed_.end()) return it->second;
    const auto text = files_(name);
    std::optional<CsvTable> t;
    if (text) {
      std::string why;
      t = parse_csv_table(*text, &why);
      if (!t) fail(path(name) + ": " + why);
    }
    return parsed_.emplace(name, std::move(t)).first->second;
  }

  std::optional<CsvTable> fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return std::nullopt;
  }

 private:
  const RunFiles& files_;
  std::string where_;
  std::string error_;
  std::map<std::string, std::optional<CsvTable>> parsed_;
};

// summary.json's `checks` (the last array of the file dsim writes), parsed as YAML's flow
// style, which JSON is.
bool read_checks(const std::string& json, const std::string& file, RunData& run,
                 std::string* error) {
  const size_t at = json.find("\n  \"checks\": [");
  if (at == std::string::npos) {
    *error = file + ": no \"checks\" array (not a summary dsim wrote)";
    return false;
  }
  Diagnostics diag;
  const auto tree = parse_yaml("{" + json.substr(at + 1), file, diag);
  const ParamNode* checks = tree ? tree->find("checks") : nullptr;
  if (!checks || checks->kind != ParamNode::Kind::kList) {
    *error =
        file + ": its \"checks\" array does not parse" + (diag.ok() ? "" : ":\n" + diag.render());
    return false;
  }
  // Lines of the file before the part parsed: messages give the file's own line numbers.
  const int before = static_cast<int>(std::count(json.begin(), json.begin() + at + 1, '\n'));
  for (const ParamNode& c : checks->items) {
    const ParamNode* name = c.find("check");
    const ParamNode* value = c.find("value");
    const ParamNode* passed = c.find("passed");
    if (!name || !passed) {
      *error = file + ":" + std::to_string(before + c.loc.line) +
               ": a check without \"check\" or \"passed\"";
      return false;
    }
    run.checks.push_back({name->scalar, value ? value->scalar : "", passed->scalar == "true"});
  }
  return true;
}

// A string member of summary.json's first lines ("stop_reason"); "" when absent.
std::string json_string(const std::string& json, const std::string& key) {
  const std::string lead = "\"" + key + "\": \"";
  const size_t at = json.find(lead);
  if (at == std::string::npos) return "";
  const size_t from = at + lead.size(), to = json.find('"', from);
  return to == std::string::npos ? "" : json.substr(from, to - from);
}

std::string fact(const std::string& name, const std::string& value) {
  return "<dt>" + escape(name) + "</dt><dd>" + escape(value) + "</dd>\n";
}

std::vector<DiagramRegion> regions(const ScenarioSpec& spec, const CsvTable& nodes) {
  // location "region.zone.rack" -> nodes of each group, in the order nodes.csv lists them.
  std::map<std::string, std::vector<std::pair<std::string, uint64_t>>> in_zone;
  const auto li = nodes.column("location");
  const size_t gi = *nodes.column("group");
  for (const auto& row : nodes.rows) {
    if (!li) break;
    const std::string& loc = row[*li];
    const size_t second = loc.find('.', loc.find('.') + 1);
    auto& list = in_zone[loc.substr(0, second)];
    if (list.empty() || list.back().first != row[gi]) list.emplace_back(row[gi], 0);
    ++list.back().second;
  }
  std::vector<DiagramRegion> out;
  for (const RegionSpec& r : spec.network.regions) {
    DiagramRegion d{r.name, {}};
    for (uint32_t z = 0; z < r.zones && z < 26; ++z) {
      const std::string zone(1, static_cast<char>('a' + z));
      const auto it = in_zone.find(r.name + "." + zone);
      d.zones.push_back({zone, it == in_zone.end() ? decltype(it->second){} : it->second});
    }
    out.push_back(std::move(d));
  }
  return out;
}

ReportSection scenario_section(const ScenarioSpec& spec, const RunData& run,
                               const std::string& stop_reason, std::string* html) {
  ReportSection s;
  s.title = "Scenario";
  std::string facts = "<dl class=\"facts\">\n" + fact("name", spec.name);
  if (!spec.description.empty()) facts += fact("description", spec.description);
  facts += fact("seed", std::to_string(spec.seed)) +
           fact("duration", format_duration(spec.duration)) +
           fact("warmup", format_duration(spec.warmup));
  if (spec.engine == EngineKind::kCycles) {
    facts += fact("engine", std::string("cycles (turns in ") +
                                (spec.cycle_order == CycleOrder::kRandom ? "a random" : "index") +
                                " order; an event is a turn)");
  }
  if (!stop_reason.empty()) facts += fact("stopped", stop_reason);
  if (auto v = run.figure("run", "", "sim_seconds"))
    facts += fact("simulated", format_short(*v, 6) + " s");
  if (auto v = run.figure("run", "", "events")) facts += fact("events", format_short(*v));
  if (auto v = run.figure("run", "", "nodes")) facts += fact("nodes", format_short(*v));
  facts += "</dl>\n";

  std::vector<DiagramGroup> groups;
  ReportTable t;
  t.title = "Groups";
  t.columns = {"group", "model", "nodes", "calls"};
  for (const GroupSpec& g : spec.groups) {
    DiagramGroup d{g.name, g.model, g.count, {}};
    if (g.factory && g.factory->callees) d.callees = g.factory->callees(g.config.get());
    std::string calls;
    for (const auto& c : d.callees)
      calls += (calls.empty() ? "" : ", ") + c;
    t.rows.push_back({g.name, g.model, std::to_string(g.count), calls});
    groups.push_back(std::move(d));
  }
  *html = facts +
          "<h3>Architecture</h3>\n<p class=\"caption\">Each group a box (model \u00d7 "
          "nodes), each arrow a group calling another.</p>\n<div class=\"diagram\">" +
          render_architecture(groups) + "</div>\n";
  if (spec.network.topology == TopologyKind::kRegions && !spec.network.regions.empty()) {
    *html += "<h3>Regions and zones</h3>\n<div class=\"diagram\">" +
             render_regions(regions(spec, run.nodes)) + "</div>\n";
  } else if (spec.network.topology == TopologyKind::kGraph) {
    *html += "<p>Graph topology: " + std::to_string(spec.network.vertices.size()) + " vertices, " +
             std::to_string(spec.network.graph_links.size()) + " links.</p>\n";
  }
  s.tables.push_back(std::move(t));
  return s;
}

// The message diagram another step of the run wrote, inline: its XML prolog and the SVG
// namespace declaration (implied in HTML) removed.
std::string inline_svg(std::string svg) {
  const size_t start = svg.find("<svg");
  if (start == std::string::npos) return "";
  svg.erase(0, start);
  for (const char* ns :
       {" xmlns=\"http://www.w3.org/2000/svg\"", " xmlns:xlink=\"http://www.w3.org/1999/xlink\""}) {
    for (size_t at; (at = svg.find(ns)) != std::string::npos;)
      svg.erase(at, std::string(ns).size());
  }
  return svg;
}

// The sections models add about their own groups (ModelFactory::report), in the order the
// models first appear in the scenario.
std::vector<ReportSection> model_sections(const ScenarioSpec& spec, const RunData& run,
                                          const RunFiles& files, Reader& reader) {
  std::vector<const ModelFactory*> models;
  for (const GroupSpec& g : spec.groups) {
    if (g.factory && g.factory->report &&
        std::find(models.begin(), models.end(), g.factory) == models.end())
      models.push_back(g.factory);
  }
  std::vector<ReportSection> out;
  for (const ModelFactory* f : models) {
    ReportInput in;
    for (const GroupSpec& g : spec.groups)
      if (g.factory == f) in.groups.push_back(g.name);
    in.table = [&reader](const std::string& file) { return reader.optional_table(file); };
    in.text = files;
    in.figure = [&run](const std::string& g, const std::string& o, const std::string& m) {
      return run.figure(g, o, m);
    };
    in.fault_bands = run.fault_bands;
    for (auto& s : f->report(in))
      out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

RunFiles directory_files(const std::string& dir) {
  return [dir](const std::string& name) -> std::optional<std::string> {
    std::string error;
    return read_text_file(dir + "/" + name, kMaxResultFileBytes, &error);
  };
}

RunFiles memory_files(const std::vector<std::pair<std::string, std::string>>& files) {
  return [&files](const std::string& name) -> std::optional<std::string> {
    for (const auto& [n, content] : files)
      if (n == name) return content;
    return std::nullopt;
  };
}

std::optional<std::string> render_run_report(const RunFiles& files, const std::string& where,
                                             const ModelRegistry& registry, std::string* error,
                                             const ScenarioSpec* given) {
  const auto summary_text = files("summary.csv");
  const auto yaml = files("scenario.resolved.yaml");
  if (!summary_text || !yaml) {
    *error = where +
             ": not a run directory (dsim report reads its summary.csv and "
             "scenario.resolved.yaml)";
    return std::nullopt;
  }
  const std::string header = summary_text->substr(0, summary_text->find('\n'));
  if (!header.starts_with("# dsim ")) {
    *error = where + "/summary.csv:1: not written by dsim (its first line is not dsim's header)";
    return std::nullopt;
  }
  RunData run;
  Reader reader(files, where);
  auto summary = reader.table("summary.csv", kSummaryColumns, true);
  auto latency = reader.table("latency.csv", kLatencyColumns, false);
  auto timeseries = reader.table("timeseries.csv", kTimeseriesColumns, false);
  auto faults = reader.table("faults.csv", kFaultsColumns, false);
  auto nodes = reader.table("nodes.csv", kNodesColumns, false);
  if (!reader.error().empty()) {
    *error = reader.error();
    return std::nullopt;
  }
  run.summary = std::move(*summary);
  run.latency = std::move(*latency);
  run.timeseries = std::move(*timeseries);
  run.faults = std::move(*faults);
  run.nodes = std::move(*nodes);
  const size_t gi = *run.summary.column("group"), oi = *run.summary.column("op"),
               mi = *run.summary.column("metric"), vi = *run.summary.column("value");
  for (const auto& row : run.summary.rows) {
    if (auto v = CsvTable::number(row[vi])) run.figures[{row[gi], row[oi], row[mi]}] = *v;
  }
  std::string stop_reason;
  if (const auto json = files("summary.json")) {
    if (!read_checks(*json, where + "/summary.json", run, error)) return std::nullopt;
    stop_reason = json_string(*json, "stop_reason");
  }
  Diagnostics diag;
  std::optional<ScenarioSpec> loaded;
  if (!given)
    loaded = load_scenario_text(*yaml, where + "/scenario.resolved.yaml", {}, registry, diag);
  const ScenarioSpec* spec = given ? given : loaded ? &*loaded : nullptr;
  if (!spec) {
    *error = diag.render() + where + "/scenario.resolved.yaml: does not load with this dsim";
    return std::nullopt;
  }
  run.end_s = run.figure("run", "", "sim_seconds").value_or(spec->duration.to_seconds());
  run.fault_bands = fault_bands(run.faults, run.end_s);

  std::vector<std::string> titles;
  std::string body;
  auto add = [&](const ReportSection& s, const std::string& extra = "") {
    titles.push_back(s.title);
    body += render_section(s, extra);
  };
  std::string scenario_html;
  const ReportSection scenario = scenario_section(*spec, run, stop_reason, &scenario_html);
  add(scenario, scenario_html);
  add(summary_section(run));
  add(latency_section(run));
  add(timeseries_section(run));
  add(faults_section(run));
  add(load_section(run));
  add(run_figures_section(run));
  if (const auto svg = files("diagram.svg")) {
    ReportSection m;
    m.title = "Messages";
    m.text = "The messages between the nodes (diagram.svg).";
    add(m, "<div class=\"diagram messages\">" + inline_svg(*svg) + "</div>\n");
  }
  for (const auto& s : model_sections(*spec, run, files, reader))
    add(s);
  if (!reader.error().empty()) {
    *error = reader.error();
    return std::nullopt;
  }
  return render_page(header, "dsim run " + spec->name + ", seed " + std::to_string(spec->seed),
                     titles, body);
}

}  // namespace dsim::report
