#include "sim/run/output_dir.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

namespace dsim {

namespace fs = std::filesystem;

namespace {

// What is at an output path.
enum class Found { kNothing, kEmpty, kRun, kSweep, kForeign, kFile, kLink, kCwd };

struct Survey {
  Found found = Found::kNothing;
  /// Entries dsim did not write ("plots/", "runs/p0-r0/notes.txt"), sorted.
  std::vector<std::string> strangers;
};

// Whether `line` is dsim's header: "# dsim <version> " (";; dsim " in history.edn) and
// then the scenario's or sweep's name or the seed, as every file dsim writes starts; in
// report.html, inside an HTML comment ("<!-- # dsim ... -->").
bool dsim_header(std::string_view line) {
  constexpr std::string_view kComment = "<!-- ";
  if (line.starts_with(kComment)) return dsim_header(line.substr(kComment.size()));
  for (std::string_view lead : {"# dsim ", ";; dsim "}) {
    if (!line.starts_with(lead)) continue;
    const std::string_view rest = line.substr(lead.size());
    const size_t space = rest.find(' ');
    if (space == 0 || space == std::string_view::npos) return false;
    const std::string_view next = rest.substr(space + 1);
    return next.starts_with("scenario=") || next.starts_with("sweep=") || next.starts_with("seed=");
  }
  return false;
}

}  // namespace

bool written_by_dsim(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(p, ec))) return false;
  std::ifstream in(p, std::ios::binary);
  char buf[256] = {};
  in.read(buf, sizeof buf);
  const std::string_view head(buf, static_cast<size_t>(in.gcount()));
  if (head.starts_with("{\n  \"dsim_version\": \"")) return true;
  return dsim_header(head.substr(0, head.find('\n')));
}

namespace {

bool dsim_file(const fs::path& p) {
  return written_by_dsim(p.string());
}

bool real_directory(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(p, ec));
}

// The directory's entries by name (the order of messages must not depend on the file
// system); an entry "(cannot list: ...)" when it cannot be read.
std::vector<std::string> entry_names(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  if (ec) names.push_back("(cannot list: " + ec.message() + ")");
  std::sort(names.begin(), names.end());
  return names;
}

bool run_dir(const fs::path& dir) {
  return dsim_file(dir / "summary.csv");
}
bool sweep_dir(const fs::path& dir) {
  return dsim_file(dir / "runs.csv") && dsim_file(dir / "sweep.yaml");
}

std::string shown_name(const fs::path& dir, const std::string& name, const std::string& prefix) {
  return prefix + name + (real_directory(dir / name) ? "/" : "");
}

// A run directory's entries that are not dsim's files.
void run_strangers(const fs::path& dir, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& name : entry_names(dir)) {
    if (!dsim_file(dir / name)) out.push_back(shown_name(dir, name, prefix));
  }
}

// A sweep directory's: besides its files, runs/ holds one run directory per run.
void sweep_strangers(const fs::path& dir, std::vector<std::string>& out) {
  for (const auto& name : entry_names(dir)) {
    if (name == "runs" && real_directory(dir / name)) {
      for (const auto& r : entry_names(dir / name)) {
        const fs::path run = dir / name / r;
        if (real_directory(run) && run_dir(run)) {
          run_strangers(run, "runs/" + r + "/", out);
        } else {
          out.push_back(shown_name(dir / name, r, "runs/"));
        }
      }
    } else if (!dsim_file(dir / name)) {
      out.push_back(shown_name(dir, name, ""));
    }
  }
}

// Whether `dir` is the current directory or one above it: never moved, even with --force.
bool holds_cwd(const fs::path& dir) {
  std::error_code ec;
  const fs::path d = fs::weakly_canonical(dir, ec);
  if (ec) return false;
  const fs::path cwd = fs::current_path(ec);
  if (ec) return false;
  return std::mismatch(d.begin(), d.end(), cwd.begin(), cwd.end()).first == d.end();
}

Survey survey(const fs::path& dir) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(dir, ec);
  Survey s;
  if (st.type() == fs::file_type::not_found) return s;
  if (fs::is_symlink(st)) return {Found::kLink, {}};
  if (!fs::is_directory(st)) return {Found::kFile, {}};
  if (holds_cwd(dir)) return {Found::kCwd, {}};
  const std::vector<std::string> names = entry_names(dir);
  if (names.empty()) return {Found::kEmpty, {}};
  if (run_dir(dir)) {
    s.found = Found::kRun;
    run_strangers(dir, "", s.strangers);
  } else if (sweep_dir(dir)) {
    s.found = Found::kSweep;
    sweep_strangers(dir, s.strangers);
  } else {
    s.found = Found::kForeign;
    for (const auto& name : names)
      s.strangers.push_back(shown_name(dir, name, ""));
  }
  return s;
}

// "a, b, c, d and 3 more"
std::string some_of(const std::vector<std::string>& names) {
  constexpr size_t kShown = 4;
  std::string s;
  for (size_t i = 0; i < names.size() && i < kShown; ++i)
    s += (i ? ", " : "") + names[i];
  if (names.size() > kShown) s += " and " + std::to_string(names.size() - kShown) + " more";
  return s;
}

const char* kind_name(Found f) {
  return f == Found::kRun ? "run" : "sweep";
}

// Whether dsim may delete what the survey found: nothing, an empty directory, or a previous
// output of the same kind that holds nothing else. Anything else is moved aside (--force)
// or refused.
bool replaceable(const Survey& s, OutputKind kind) {
  if (s.found == Found::kNothing || s.found == Found::kEmpty) return true;
  const bool same_kind = (s.found == Found::kRun && kind == OutputKind::kRun) ||
                         (s.found == Found::kSweep && kind == OutputKind::kSweep);
  return same_kind && s.strangers.empty();
}

// What is at `dir`, for people: "a file", "the results of a dsim run and also plots/, which
// dsim did not write".
std::string what_is_there(const Survey& s, OutputKind kind) {
  const std::string wanted = kind == OutputKind::kRun ? "run" : "sweep";
  switch (s.found) {
    case Found::kFile:
      return "a file is there";
    case Found::kLink:
      return "a symbolic link is there";
    case Found::kForeign:
      return "the directory holds " + some_of(s.strangers) + ", which dsim did not write";
    case Found::kRun:
    case Found::kSweep:
      if (kind_name(s.found) != wanted) {
        return std::string("the directory holds the results of a dsim ") + kind_name(s.found) +
               ", not of a " + wanted;
      }
      return "the directory holds the results of a dsim " + wanted + " and also " +
             some_of(s.strangers) + ", which dsim did not write";
    default:
      return "";
  }
}

}  // namespace

std::string backup_path(const std::string& dir) {
  const fs::path target = fs::path(dir).lexically_normal();
  std::error_code ec;
  for (int n = 1;; ++n) {
    const fs::path p =
        target.string() + (n == 1 ? ".old" : ".old." + std::to_string(n));  // a.old, a.old.2
    if (fs::symlink_status(p, ec).type() == fs::file_type::not_found) return p.string();
  }
}

std::optional<std::string> refuse_output_dir(const std::string& dir, OutputKind kind, bool force) {
  const Survey s = survey(fs::path(dir));
  const std::string where = "--out " + dir + ": ";
  if (s.found == Found::kCwd) {
    return where +
           "it is the current directory or one above it, which dsim never replaces "
           "(choose another --out)";
  }
  if (force || replaceable(s, kind)) return std::nullopt;
  return where + what_is_there(s, kind) +
         "; dsim replaces only an empty directory or its own previous results. Choose "
         "another --out, or pass --force to write there anyway: what is there now is "
         "moved to " +
         backup_path(dir) + " first, not deleted";
}

std::string output_sibling(const std::string& dir, const std::string& suffix) {
  const fs::path target = fs::path(dir).lexically_normal();
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  return (parent / ("." + target.filename().string() + suffix)).string();
}

bool commit_output_dir(const std::string& partial, const std::string& dir, OutputKind kind,
                       bool force, std::string* error, std::string* moved_aside) {
  if (auto why = refuse_output_dir(dir, kind, force)) {
    *error = *why + "; the results are kept in " + partial;
    return false;
  }
  const fs::path target = fs::path(dir).lexically_normal();
  std::error_code ec;
  const Survey s = survey(target);
  // What dsim wrote itself goes (once the new results are in place); anything else is
  // moved aside for good.
  const bool keep = !replaceable(s, kind);
  const fs::path old =
      keep ? fs::path(backup_path(dir)) : fs::path(output_sibling(dir, ".replaced"));
  if (!keep) fs::remove_all(old, ec);
  const bool existed = s.found != Found::kNothing;
  if (existed) {
    fs::rename(target, old, ec);
    if (ec) {
      *error = "cannot move " + target.string() + " aside: " + ec.message() +
               "; the results are kept in " + partial;
      return false;
    }
  }
  fs::rename(partial, target, ec);
  if (ec) {
    *error = "cannot move results into " + target.string() + ": " + ec.message() +
             "; they are kept in " + partial;
    if (existed) fs::rename(old, target, ec);
    return false;
  }
  if (existed && !keep) fs::remove_all(old, ec);
  if (moved_aside) *moved_aside = existed && keep ? old.string() : "";
  return true;
}

bool write_run_directory(const std::string& dir,
                         const std::vector<std::pair<std::string, std::string>>& files,
                         std::string* error, bool force, std::string* moved_aside) {
  const fs::path tmp = output_sibling(dir, ".partial");
  std::error_code ec;
  fs::create_directories(tmp.parent_path(), ec);
  if (ec) {
    *error = "cannot create " + tmp.parent_path().string() + ": " + ec.message();
    return false;
  }
  fs::remove_all(tmp, ec);
  fs::create_directory(tmp, ec);
  if (ec) {
    *error = "cannot create " + tmp.string() + ": " + ec.message();
    return false;
  }
  for (const auto& [name, content] : files) {
    std::ofstream f(tmp / name, std::ios::binary);
    f << content;
    f.close();
    if (!f) {
      *error = "cannot write " + (tmp / name).string();
      fs::remove_all(tmp, ec);
      return false;
    }
  }
  return commit_output_dir(tmp.string(), dir, OutputKind::kRun, force, error, moved_aside);
}

}  // namespace dsim
