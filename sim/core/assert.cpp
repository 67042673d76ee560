#include "sim/core/assert.h"

namespace dsim::detail {

void assertion_failed(const char* condition, const char* file, int line,
                      const std::string& message) {
  std::string what =
      std::string(file) + ":" + std::to_string(line) + ": invariant broken: " + condition;
  if (!message.empty()) what += ": " + message;
  throw InvariantBroken(what);
}

}  // namespace dsim::detail
