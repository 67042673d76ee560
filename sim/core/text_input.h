// Text that comes from the user: files read whole but with a bound on their size, and the
// checks that keep a name safe in a path, a CSV cell or a JSON string (valid UTF-8, no
// control characters).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dsim {

/// The largest scenario file dsim reads (and the most text a scenario may expand to).
constexpr uint64_t kMaxScenarioBytes = uint64_t{64} << 20;
/// The largest CSV file an empirical(...) distribution reads.
constexpr uint64_t kMaxDataFileBytes = uint64_t{256} << 20;
/// The largest result file dsim reads back (a shard's runs.csv for dsim merge, a run's
/// summary.csv for dsim analyze).
constexpr uint64_t kMaxResultFileBytes = uint64_t{1} << 30;

/// The whole of a regular file of at most `max_bytes`. Otherwise nullopt, and *error says
/// why, to follow "cannot read '<path>': " ("No such file or directory", "it is a
/// directory, not a file", "it holds 2GiB, more than the 64MiB dsim reads"), never quoting
/// the file. Never blocks on a pipe and never reads more than max_bytes + 1 bytes.
std::optional<std::string> read_text_file(const std::string& path, uint64_t max_bytes,
                                          std::string* error);

/// Where `text` stops being valid UTF-8 (overlong forms, surrogates and code points past
/// U+10FFFF are invalid): the byte offset, or nullopt when it is valid.
std::optional<size_t> invalid_utf8_at(std::string_view text);

/// What is wrong with a one-line text (a name, a label): "" when it is valid UTF-8 without
/// control characters (U+0000-U+001F, U+007F-U+009F), else a short reason that does not
/// quote the text ("holds the control character U+000A").
std::string one_line_problem(std::string_view text);

/// As one_line_problem(), for free text (a description): newlines and tabs are allowed.
std::string prose_problem(std::string_view text);

}  // namespace dsim
