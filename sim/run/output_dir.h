// The directories dsim writes results into, and what it may replace.
//
// Results are written atomically: into a hidden sibling first (.<name>.partial), renamed
// into place at the end, so a reader never sees a half-written directory. dsim deletes
// only what it wrote itself; nothing the user had is ever lost:
//   - nothing at --out, or an empty directory: written;
//   - a previous output of the same kind (a run's directory for `dsim run`, a sweep's for
//     `dsim sweep` and `dsim merge`) holding only files dsim writes: replaced (re-running
//     a scenario into its directory is the usual way to work);
//   - anything else (a file, a link, a directory dsim did not write, a dsim output that
//     also holds other files such as plots or notes, or one of the other kind): refused
//     (exit 2), unless --force, which moves it aside to <dir>.old (or <dir>.old.2, ...)
//     before the results take its place;
//   - the current directory or one above it: always refused.
// A file is dsim's when its first line is dsim's header (`# dsim ...`, `;; dsim ...` in
// history.edn, `<!-- # dsim ... -->` in report.html, `"dsim_version"` first in
// summary.json); a run's directory has summary.csv,
// a sweep's runs.csv and sweep.yaml (and runs/, a run's directory per run).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dsim {

enum class OutputKind { kRun, kSweep };

/// Whether `path` is a regular file (not a link) whose first line is one of dsim's headers.
bool written_by_dsim(const std::string& path);

/// Why results of `kind` must not go to `dir`, for people (naming the path, what is there
/// and how to proceed); nullopt when they may.
std::optional<std::string> refuse_output_dir(const std::string& dir, OutputKind kind, bool force);

/// Replaces `dir` with a directory holding exactly `files`, if refuse_output_dir() allows.
/// Returns false and sets *error when it cannot; `dir` is then left as it was (and when it
/// was refused only after the files were written, *error says where they are). When
/// something was moved aside (--force), *moved_aside (if given) says where to; else "".
bool write_run_directory(const std::string& dir,
                         const std::vector<std::pair<std::string, std::string>>& files,
                         std::string* error, bool force = false,
                         std::string* moved_aside = nullptr);

/// Moves the finished directory `partial` into place at `dir`: what is there is deleted
/// when dsim wrote it, else moved aside (*moved_aside says where; "" when nothing was).
/// False with *error set when it cannot; `partial` is then kept and *error says where.
bool commit_output_dir(const std::string& partial, const std::string& dir, OutputKind kind,
                       bool force, std::string* error, std::string* moved_aside = nullptr);

/// Where --force moves what is at `dir`: the first of <dir>.old, <dir>.old.2, ... that is
/// free.
std::string backup_path(const std::string& dir);

/// The hidden sibling of `dir` where its results are written first (`suffix` ".partial").
std::string output_sibling(const std::string& dir, const std::string& suffix);

}  // namespace dsim
