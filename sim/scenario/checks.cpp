#include "sim/scenario/checks.h"

#include <cctype>
#include <vector>

#include "sim/core/units.h"

namespace dsim {

namespace {

bool valid_name(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

}  // namespace

const char* cmp_text(CheckSpec::Cmp c) {
  switch (c) {
    case CheckSpec::Cmp::kLt:
      return "<";
    case CheckSpec::Cmp::kLe:
      return "<=";
    case CheckSpec::Cmp::kGt:
      return ">";
    case CheckSpec::Cmp::kGe:
      return ">=";
    case CheckSpec::Cmp::kEq:
      return "==";
    case CheckSpec::Cmp::kNe:
      return "!=";
  }
  return "?";
}

bool CheckSpec::holds(double v) const {
  switch (cmp) {
    case Cmp::kLt:
      return v < threshold;
    case Cmp::kLe:
      return v <= threshold;
    case Cmp::kGt:
      return v > threshold;
    case Cmp::kGe:
      return v >= threshold;
    case Cmp::kEq:
      return v == threshold;
    case Cmp::kNe:
      return v != threshold;
  }
  return false;
}

namespace {

// Splits `c.text` at its comparison into the left-hand side and the right-hand side ("1"
// for a bare name), setting c.cmp.
std::pair<std::string, std::string> split_comparison(CheckSpec& c) {
  static const std::vector<std::pair<std::string, CheckSpec::Cmp>> kOps = {
      {"<=", CheckSpec::Cmp::kLe}, {">=", CheckSpec::Cmp::kGe}, {"==", CheckSpec::Cmp::kEq},
      {"!=", CheckSpec::Cmp::kNe}, {"<", CheckSpec::Cmp::kLt},  {">", CheckSpec::Cmp::kGt},
  };
  std::string lhs = c.text, rhs = "1";
  c.cmp = CheckSpec::Cmp::kEq;
  size_t best = std::string::npos;
  for (const auto& [sym, cmp] : kOps) {
    const size_t at = c.text.find(sym);
    if (at != std::string::npos &&
        (best == std::string::npos || at < best || (at == best && sym.size() == 2))) {
      best = at;
      c.cmp = cmp;
      lhs = trim(c.text.substr(0, at));
      rhs = trim(c.text.substr(at + sym.size()));
    }
  }
  return {lhs, rhs};
}

// metric[op]: the metric of one operation type (over every client group unless scoped).
// Takes the brackets off `lhs` into `op`; false with `error` set when they are malformed.
bool take_bracketed_op(const CheckSpec& c, std::string& lhs, std::string& op, std::string* error) {
  if (lhs.empty() || lhs.back() != ']') return true;
  const size_t open = lhs.find('[');
  if (open == std::string::npos || open == 0) {
    *error = "check '" + c.text + "': expected metric[op], e.g. 'availability[put] >= 0.99'";
    return false;
  }
  op = trim(lhs.substr(open + 1, lhs.size() - open - 2));
  lhs = trim(lhs.substr(0, open));
  if (!valid_name(op)) {
    *error = "check '" + c.text + "': the operation in [] must be a name, e.g. [put]";
    return false;
  }
  return true;
}

}  // namespace

std::optional<CheckSpec> parse_check(const std::string& text, std::string* error) {
  CheckSpec c;
  c.text = trim(text);
  auto [lhs, rhs] = split_comparison(c);
  if (rhs == "true") rhs = "1";
  if (rhs == "false") rhs = "0";
  std::string err;
  auto v = parse_number(rhs, &err);
  if (!v) {
    *error = "check '" + c.text + "': the right-hand side must be a number, got '" + rhs + "'";
    return std::nullopt;
  }
  c.threshold = *v;
  std::string op_in_brackets;
  if (!take_bracketed_op(c, lhs, op_in_brackets, error)) return std::nullopt;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t dot = lhs.find('.', start);
    parts.push_back(lhs.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& p : parts) {
    if (!valid_name(p)) {
      *error = "check '" + c.text +
               "': expected [group.[op.]]metric <op> number, e.g. "
               "'latency_ms_p99 < 50'";
      return std::nullopt;
    }
  }
  if (parts.size() > 3) {
    *error = "check '" + c.text + "': at most group.op.metric";
    return std::nullopt;
  }
  c.metric = parts.back();
  if (parts.size() >= 2) c.group = parts[0];
  if (parts.size() == 3) c.op = parts[1];
  if (!op_in_brackets.empty()) {
    if (!c.op.empty()) {
      *error = "check '" + c.text + "': names the operation twice (group.op.metric and [op])";
      return std::nullopt;
    }
    c.op = op_in_brackets;
    if (c.group.empty()) c.group = "all";
  }
  return c;
}

}  // namespace dsim
