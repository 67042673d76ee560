// `dsim report DIR [--out FILE]`: the HTML report of a finished run or sweep, written next
// to its results (or to FILE) atomically, never over a file dsim did not write.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "sim/app/commands.h"
#include "sim/report/run_report.h"
#include "sim/report/sweep_report.h"
#include "sim/run/output_dir.h"

namespace dsim {

namespace fs = std::filesystem;

namespace {

// Whether the file at `path` is a report dsim wrote (not another of its files).
bool dsim_report_file(const std::string& path) {
  if (!written_by_dsim(path)) return false;
  std::ifstream in(path, std::ios::binary);
  char head[5] = {};
  in.read(head, sizeof head);
  return std::string(head, static_cast<size_t>(in.gcount())) == "<!-- ";
}

// Why `out` must not be written: something other than a report of dsim's is there; "" if
// it may.
std::string refuse_report_file(const std::string& out) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(out, ec);
  if (st.type() == fs::file_type::not_found || dsim_report_file(out)) return "";
  return "--out " + out + ": " +
         (fs::is_directory(st)   ? "a directory is there"
          : fs::is_symlink(st)   ? "a symbolic link is there"
          : written_by_dsim(out) ? "a result file of dsim's is there, not a report"
                                 : "a file dsim did not write is there") +
         "; dsim writes a report only where nothing is or over a report of its own. Choose "
         "another --out";
}

// Writes `html` to `out` through a hidden sibling, renamed into place.
bool write_report(const std::string& out, const std::string& html, std::string* error) {
  const std::string tmp = output_sibling(out, ".partial");
  {
    std::ofstream f(tmp, std::ios::binary);
    f << html;
    f.close();
    if (!f) {
      *error = "cannot write " + tmp;
      std::error_code ec;
      fs::remove(tmp, ec);
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, out, ec);
  if (ec) {
    *error = "cannot move the report into " + out + ": " + ec.message();
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

}  // namespace

int cmd_report(const ReportArgs& args, const ModelRegistry& registry) {
  std::string dir = args.dir;
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::cerr << "dsim: " << dir << ": not a directory (dsim report reads a run directory)\n";
    return kExitBadInput;
  }
  const bool sweep = fs::exists(dir + "/runs.csv", ec) && fs::exists(dir + "/sweep.yaml", ec);
  const std::string out = args.out.empty() ? dir + "/" + report::kReportFile : args.out;
  if (const std::string why = refuse_report_file(out); !why.empty()) {
    std::cerr << "dsim: " << why << "\n";
    return kExitBadInput;
  }
  std::string error;
  const auto html =
      sweep ? report::render_sweep_report(report::directory_files(dir), dir, &error)
            : report::render_run_report(report::directory_files(dir), dir, registry, &error);
  if (!html) {
    std::cerr << "dsim: " << error << "\n";
    return kExitBadInput;
  }
  if (!write_report(out, *html, &error)) {
    std::cerr << "dsim: " << error << "\n";
    return kExitBadInput;
  }
  std::cout << out << "\n";
  return kExitOk;
}

}  // namespace dsim
