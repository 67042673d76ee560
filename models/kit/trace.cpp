// Reading request traces: the CSV format of trace.h, row by row, with errors naming lines.
#include "models/kit/trace.h"

#include <array>
#include <limits>
#include <string>
#include <utility>

#include "sim/core/rng.h"
#include "sim/core/units.h"

namespace dsim::kit {

namespace {

constexpr size_t kMaxCells = 4;

std::string_view trim(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const size_t last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Decimal digits as a uint64, nullopt past 2^64 - 1.
std::optional<uint64_t> to_u64(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) {
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// A line's content without its line end, and whether it holds data (neither blank nor a
// comment).
std::string_view content(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool is_data(std::string_view line) {
  const std::string_view t = trim(content(line));
  return !t.empty() && t.front() != '#';
}

// Walks the lines of a text, 1-based.
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {}
  bool next(std::string_view* line) {
    if (pos_ > text_.size() || (pos_ == text_.size() && pos_ > 0)) return false;
    const size_t end = text_.find('\n', pos_);
    const size_t stop = end == std::string_view::npos ? text_.size() : end;
    *line = text_.substr(pos_, stop - pos_);
    pos_ = stop + 1;
    ++number_;
    return true;
  }
  size_t number() const { return number_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t number_ = 0;
};

// Splits at commas into `cells` (trimmed); returns how many there are, which may exceed
// kMaxCells (only the first kMaxCells are kept).
size_t split(std::string_view line, std::array<std::string_view, kMaxCells>& cells) {
  size_t n = 0, pos = 0;
  while (true) {
    const size_t comma = line.find(',', pos);
    const size_t stop = comma == std::string_view::npos ? line.size() : comma;
    if (n < kMaxCells) cells[n] = trim(line.substr(pos, stop - pos));
    ++n;
    if (comma == std::string_view::npos) return n;
    pos = comma + 1;
  }
}

// Plain seconds: digits with an optional point, at most 9 decimals, exactly.
std::optional<Duration> plain_seconds(std::string_view s, std::string* why) {
  const size_t point = s.find('.');
  const std::string_view whole = s.substr(0, point);
  const std::string_view frac =
      point == std::string_view::npos ? std::string_view() : s.substr(point + 1);
  if (frac.size() > 9) {
    *why = "'" + std::string(s) + "' is finer than the clock's resolution (1ns)";
    return std::nullopt;
  }
  const auto secs = whole.empty() ? std::optional<uint64_t>(0) : to_u64(whole);
  auto ns = frac.empty() ? std::optional<uint64_t>(0) : to_u64(frac);
  constexpr uint64_t kMaxSeconds = 9'000'000'000;  // within int64 nanoseconds
  if (!secs || *secs > kMaxSeconds) {
    *why = "'" + std::string(s) + "' is out of range (at most 292 years)";
    return std::nullopt;
  }
  for (size_t i = frac.size(); i < 9; ++i)
    *ns *= 10;
  return Duration::from_ns(static_cast<int64_t>(*secs * 1'000'000'000 + *ns));
}

bool plain_number(std::string_view s) {
  const size_t point = s.find('.');
  if (point == std::string_view::npos) return all_digits(s);
  const std::string_view whole = s.substr(0, point), frac = s.substr(point + 1);
  return (whole.empty() || all_digits(whole)) && (frac.empty() || all_digits(frac)) &&
         !(whole.empty() && frac.empty());
}

std::optional<Duration> parse_time(std::string_view s, std::string* why) {
  if (plain_number(s)) return plain_seconds(s, why);
  if (!s.empty() && s.front() == '-') {
    *why = "'" + std::string(s) + "' is negative";
    return std::nullopt;
  }
  return parse_duration(s, why);
}

std::optional<uint64_t> parse_bytes(std::string_view s, std::string* why) {
  if (all_digits(s)) {
    auto v = to_u64(s);
    if (!v) *why = "size '" + std::string(s) + "' is out of range";
    return v;
  }
  return parse_size(s, why);
}

std::optional<TraceOp> parse_op(std::string_view s) {
  if (s == "get") return TraceOp::kGet;
  if (s == "put") return TraceOp::kPut;
  if (s == "delete") return TraceOp::kDelete;
  return std::nullopt;
}

bool is_header(const std::array<std::string_view, kMaxCells>& cells, size_t n) {
  return (n == 3 || n == 4) && cells[0] == "time" && cells[1] == "key" && cells[2] == "size" &&
         (n == 3 || cells[3] == "op");
}

// Reads one data line into `row`; on an error returns its reason (without the place).
std::string parse_row(std::string_view line, TraceRow* row) {
  std::array<std::string_view, kMaxCells> cells;
  const size_t n = split(line, cells);
  if (n != 3 && n != 4) {
    return "expected 3 or 4 cells (time,key,size[,op]), got " + std::to_string(n);
  }
  std::string why;
  const auto time = parse_time(cells[0], &why);
  if (!time) return "time: " + why;
  if (cells[1].empty()) return "the key is empty";
  const auto size = parse_bytes(cells[2], &why);
  if (!size) return "size: " + why;
  TraceOp op = TraceOp::kGet;
  if (n == 4) {
    const auto o = parse_op(cells[3]);
    if (!o) return "unknown op '" + std::string(cells[3]) + "' (valid: get, put, delete)";
    op = *o;
  }
  *row = TraceRow{SimTime::zero() + *time, trace_key(cells[1]), *size, op};
  return "";
}

}  // namespace

std::string_view trace_op_name(TraceOp op) {
  switch (op) {
    case TraceOp::kGet:
      return "get";
    case TraceOp::kPut:
      return "put";
    case TraceOp::kDelete:
      return "delete";
  }
  return "?";
}

uint64_t trace_key(std::string_view cell) {
  if (all_digits(cell)) {
    if (const auto v = to_u64(cell)) return *v;
  }
  return stable_hash(cell);
}

std::optional<std::vector<TraceRow>> parse_trace(std::string_view text, std::string_view name,
                                                 std::string* error) {
  const auto fail = [&](size_t line, const std::string& why) {
    *error = std::string(name) + ":" + std::to_string(line) + ": " + why;
    return std::nullopt;
  };
  size_t data_lines = 0;
  std::string_view line;
  for (Lines all(text); all.next(&line);)
    data_lines += is_data(line);
  std::vector<TraceRow> rows;
  rows.reserve(data_lines);
  bool first = true;
  for (Lines lines(text); lines.next(&line);) {
    if (!is_data(line)) continue;
    const std::string_view body = content(line);
    if (std::exchange(first, false)) {
      std::array<std::string_view, kMaxCells> cells;
      const size_t n = split(body, cells);
      if (cells[0] == "time") {
        if (!is_header(cells, n))
          return fail(lines.number(), "the header must be time,key,size or time,key,size,op");
        continue;
      }
    }
    TraceRow row;
    if (std::string why = parse_row(body, &row); !why.empty()) return fail(lines.number(), why);
    if (!rows.empty() && row.time < rows.back().time) {
      return fail(lines.number(), "time " + format_duration(row.time.since_start()) +
                                      " is earlier than the previous row's " +
                                      format_duration(rows.back().time.since_start()));
    }
    rows.push_back(row);
  }
  return rows;
}

size_t trace_row_line(std::string_view text, size_t index) {
  std::string_view line;
  bool first = true;
  size_t row = 0;
  for (Lines lines(text); lines.next(&line);) {
    if (!is_data(line)) continue;
    if (std::exchange(first, false)) {
      std::array<std::string_view, kMaxCells> cells;
      split(content(line), cells);
      if (cells[0] == "time") continue;
    }
    if (row++ == index) return lines.number();
  }
  return 0;  // no such row
}

std::optional<std::vector<TraceRow>> read_trace(const std::string& path, std::string* error,
                                                uint64_t max_bytes) {
  std::string why;
  const auto text = read_text_file(path, max_bytes, &why);
  if (!text) {
    *error = "cannot read '" + path + "': " + why;
    return std::nullopt;
  }
  return parse_trace(*text, path, error);
}

}  // namespace dsim::kit
