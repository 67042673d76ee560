#include "sim/scenario/vars.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "sim/core/units.h"

namespace dsim {

namespace {

// A value of an expression: a plain number, or a duration in nanoseconds.
struct Value {
  double v = 0;
  bool duration = false;
};

std::optional<Value> literal(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double x = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(x)) return Value{x, false};
  std::string err;
  if (auto d = parse_duration(s, &err)) return Value{static_cast<double>(d->ns()), true};
  return std::nullopt;
}

// Recursive descent over one `${...}`: sum := product (('+'|'-') product)*,
// product := unary (('*'|'/') unary)*, unary := '-' unary | atom, atom := literal | name |
// '(' sum ')'. Errors leave `error` set; the first one wins.
class Expr {
 public:
  Expr(std::string_view text, const std::map<std::string, std::string, std::less<>>& vars,
       std::set<std::string>& used)
      : s_(text), vars_(vars), used_(used) {}

  std::optional<Value> parse() {
    Value v = sum();
    skip();
    if (error.empty() && pos_ != s_.size())
      fail("unexpected '" + std::string(s_.substr(pos_)) + "'");
    if (!error.empty()) return std::nullopt;
    return v;
  }
  std::string error;

 private:
  void fail(std::string message) {
    if (error.empty()) error = std::move(message);
  }
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
  }
  bool eat(char c) {
    skip();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  Value sum() {
    Value a = product();
    for (;;) {
      const bool plus = eat('+');
      if (!plus && !eat('-')) return a;
      const Value b = product();
      if (a.duration != b.duration) fail("adds a duration to a plain number");
      a.v = plus ? a.v + b.v : a.v - b.v;
    }
  }

  Value product() {
    Value a = unary();
    for (;;) {
      const bool times = eat('*');
      if (!times && !eat('/')) return a;
      const Value b = unary();
      if (times) {
        if (a.duration && b.duration) fail("multiplies two durations");
        a = {a.v * b.v, a.duration || b.duration};
      } else if (b.v == 0) {
        fail("divides by zero");
      } else if (b.duration && !a.duration) {
        fail("divides a plain number by a duration");
      } else {
        a = {a.v / b.v, a.duration && !b.duration};
      }
    }
  }

  Value unary() {
    if (eat('-')) {
      Value v = unary();
      v.v = -v.v;
      return v;
    }
    return atom();
  }

  Value atom() {
    skip();
    if (eat('(')) {
      const Value v = sum();
      if (!eat(')')) fail("a '(' is not closed");
      return v;
    }
    const size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                s_[pos_] == '_' || s_[pos_] == '.'))
      ++pos_;
    const std::string_view word = s_.substr(start, pos_ - start);
    if (word.empty()) {
      fail(pos_ < s_.size() ? "unexpected '" + std::string(1, s_[pos_]) + "'" : "ends too early");
      return {};
    }
    if (std::isdigit(static_cast<unsigned char>(word[0])) || word[0] == '.') {
      if (auto v = literal(word)) return *v;
      fail("'" + std::string(word) + "' is neither a number nor a duration");
      return {};
    }
    return variable(word);
  }

  Value variable(std::string_view name) {
    const auto it = vars_.find(name);
    if (it == vars_.end()) {
      fail("no variable '" + std::string(name) + "' in vars");
      return {};
    }
    used_.insert(it->first);
    if (auto v = literal(it->second)) return *v;
    fail("vars." + it->first + " ('" + it->second +
         "') is neither a number nor a duration, so it can only be used alone: ${" + it->first +
         "}");
    return {};
  }

  std::string_view s_;
  size_t pos_ = 0;
  const std::map<std::string, std::string, std::less<>>& vars_;
  std::set<std::string>& used_;
};

std::string format_value(const Value& v) {
  if (!v.duration) return format_number(v.v);
  return format_duration(Duration::from_ns(std::llround(v.v)));
}

class Expander {
 public:
  Expander(std::map<std::string, std::string, std::less<>> vars, Diagnostics& diag)
      : vars_(std::move(vars)), diag_(diag) {}

  void walk(ParamNode& node, const std::string& path) {
    switch (node.kind) {
      case ParamNode::Kind::kScalar:
        return expand(node, path);
      case ParamNode::Kind::kList:
        for (size_t i = 0; i < node.items.size(); ++i)
          walk(node.items[i], path + item_label(node.items[i], i));
        return;
      case ParamNode::Kind::kMap:
        for (auto& e : node.entries)
          walk(e.value, path.empty() ? e.key : path + "." + e.key);
        return;
      case ParamNode::Kind::kNull:
        return;
    }
  }

  const std::set<std::string>& used() const { return used_; }
  bool ok = true;

 private:
  // ".web" for an item with a name (as groups.web.params...), else "[2]".
  static std::string item_label(const ParamNode& item, size_t i) {
    const ParamNode* name = item.kind == ParamNode::Kind::kMap ? item.find("name") : nullptr;
    if (name && name->kind == ParamNode::Kind::kScalar) return "." + name->scalar;
    return "[" + std::to_string(i) + "]";
  }

  void expand(ParamNode& node, const std::string& path) {
    const std::string& in = node.scalar;
    if (in.find("${") == std::string::npos) return;
    std::string out;
    size_t at = 0;
    for (;;) {
      const size_t open = in.find("${", at);
      if (open == std::string::npos) break;
      const size_t close = in.find('}', open);
      if (close == std::string::npos) return error(node, path, "a '${' is not closed by '}'");
      out += in.substr(at, open - at);
      const std::string_view body = std::string_view(in).substr(open + 2, close - open - 2);
      auto text = evaluate(body);
      if (!text) return error(node, path, "${" + std::string(body) + "}: " + last_error_);
      out += *text;
      at = close + 1;
    }
    node.scalar = out + in.substr(at);
  }

  // A lone variable is its text (any scalar); anything else is arithmetic.
  std::optional<std::string> evaluate(std::string_view body) {
    std::string_view name = body;
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front())))
      name.remove_prefix(1);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())))
      name.remove_suffix(1);
    if (const auto it = vars_.find(name); it != vars_.end()) {
      used_.insert(it->first);
      return it->second;
    }
    Expr e(body, vars_, used_);
    const auto v = e.parse();
    if (!v) {
      last_error_ = e.error;
      return std::nullopt;
    }
    return format_value(*v);
  }

  // The value is left out (a null reads as absent), so it draws no second error.
  void error(ParamNode& node, const std::string& path, const std::string& message) {
    diag_.error(node.loc, path + ": " + message);
    node.kind = ParamNode::Kind::kNull;
    node.scalar.clear();
    ok = false;
  }

  std::map<std::string, std::string, std::less<>> vars_;
  Diagnostics& diag_;
  std::set<std::string> used_;
  std::string last_error_;
};

bool valid_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

bool expand_vars(ParamNode& root, Diagnostics& diag) {
  if (root.kind != ParamNode::Kind::kMap) return true;
  const ParamNode* block = root.find("vars");
  if (!block) return true;
  if (block->kind != ParamNode::Kind::kMap) {
    diag.error(block->loc, "vars: expected a map of names to values, e.g. {tmin: 150ms}");
    return false;
  }
  bool ok = true;
  std::map<std::string, std::string, std::less<>> vars;
  std::map<std::string, SourceLoc> where;
  for (const auto& e : block->entries) {
    if (!valid_name(e.key)) {
      diag.error(e.key_loc,
                 "vars." + e.key + ": a name is letters, digits and '_', not first a digit");
      ok = false;
    } else if (e.value.kind != ParamNode::Kind::kScalar) {
      diag.error(e.value.loc, "vars." + e.key + ": expected a single value such as 150ms");
      ok = false;
    } else if (e.value.scalar.find("${") != std::string::npos) {
      diag.error(e.value.loc, "vars." + e.key + ": a variable cannot use another");
      ok = false;
    } else {
      vars[e.key] = e.value.scalar;
      where[e.key] = e.value.loc;
    }
  }
  std::erase_if(root.entries, [](const ParamNode::Entry& e) { return e.key == "vars"; });
  Expander x(std::move(vars), diag);
  x.walk(root, "");
  for (const auto& [name, loc] : where) {
    if (x.used().count(name)) continue;
    diag.error(loc, "vars." + name + ": not used: no ${" + name + "} in the scenario");
    ok = false;
  }
  return ok && x.ok;
}

}  // namespace dsim
