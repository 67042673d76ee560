// Writes a run's files into a directory atomically: into a temporary sibling first,
// renamed into place at the end, so a reader never sees a half-written run.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dsim {

/// Replaces `dir` with a directory holding exactly `files`. Returns false and sets
/// *error when it cannot; `dir` is then left as it was.
bool write_run_directory(const std::string& dir,
                         const std::vector<std::pair<std::string, std::string>>& files,
                         std::string* error);

}  // namespace dsim
