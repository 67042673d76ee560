// Request traces for trace-driven workloads and cache replay: a CSV file of timed requests,
// read whole into compact rows.
//
// The format, one request per line:
//
//   # comment                       lines whose first non-blank character is # are skipped,
//   time,key,size,op                as are blank lines; this header is optional (the first
//   0.5,42,4096,get                 line that is neither blank nor a comment, if its first
//   1.5ms,user:17,4KiB,put          cell is `time`), and must then be exactly
//   2s,42,0,delete                  time,key,size or time,key,size,op
//   2s,42,100                       (no op: get)
//
//   time  When the request comes, from the start of the run: a duration with a unit, read as
//         everywhere in dsim (parse_duration: ns, us, ms, s, min, h, d, e.g. 1.5ms), or a
//         plain decimal number of seconds (digits with an optional point, at most 9
//         decimals, read exactly: 0.000000001 is 1ns). Never negative; never earlier than
//         the previous row's (equal is fine: requests at the same instant keep file order).
//   key   What is asked for: a cell of decimal digits only that fits in 64 bits is that
//         number (so 007 is 7); any other text (user:17, a URL, digits past 2^64 - 1) is
//         stable_hash() of it (FNV-1a, the same on every platform), so distinct strings
//         collide with each other or with a number only as rarely as 64-bit hashes do.
//         Never empty.
//   size  Bytes: a plain integer (4096), or a size with a unit as everywhere in dsim
//         (parse_size: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB, e.g. 4KiB).
//   op    get, put or delete; absent (three cells) means get. Present but empty is an error.
//
// Cells are split at every comma (there is no quoting: a key cannot hold a comma) and
// trimmed of blanks; a line may end in \r\n. The file is read with a bound of
// kMaxDataFileBytes (256MiB) unless told otherwise.
//
// Errors name the file (as given) and the 1-based line:
//   "trace.csv:17: time 1.2s is earlier than the previous row's 1.5s"
//   "trace.csv:3: expected 3 or 4 cells (time,key,size[,op]), got 2"
//   "trace.csv:4: time: <why>", "trace.csv:5: size: <why>", "trace.csv:6: the key is empty"
//   "trace.csv:7: unknown op 'post' (valid: get, put, delete)"
//   "trace.csv:1: the header must be time,key,size or time,key,size,op"
//   "cannot read 'trace.csv': <why>" (missing, a directory, too large)
//
// Memory: 32 bytes a row (TraceRow), reserved exactly (the rows are counted first), so 10^7
// rows take 320MB at most beside the file's text while it is read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/text_input.h"
#include "sim/core/time.h"

namespace dsim::kit {

enum class TraceOp : uint8_t { kGet, kPut, kDelete };

struct TraceRow {
  SimTime time;
  uint64_t key = 0;
  uint64_t size = 0;
  TraceOp op = TraceOp::kGet;
};
static_assert(sizeof(TraceRow) <= 32, "a trace row takes at most 32 bytes");

std::string_view trace_op_name(TraceOp op);

/// The key a key cell stands for (see the file's comment); `cell` is not empty.
uint64_t trace_key(std::string_view cell);

/// The rows of trace text, in file order; `name` names it in messages. On an error,
/// nullopt and *error is set.
std::optional<std::vector<TraceRow>> parse_trace(std::string_view text, std::string_view name,
                                                 std::string* error);

/// The 1-based line of text `text` (a trace parse_trace() accepted) that holds row `index`
/// (0 when it has fewer rows).
size_t trace_row_line(std::string_view text, size_t index);

/// The rows of the trace file `path` (at most `max_bytes` long).
std::optional<std::vector<TraceRow>> read_trace(const std::string& path, std::string* error,
                                                uint64_t max_bytes = kMaxDataFileBytes);

}  // namespace dsim::kit
