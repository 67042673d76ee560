// The one assertion macro for invariants, on in every build type:
//
//   DSIM_ASSERT(cond);
//   DSIM_ASSERT(cond, "what broke: ", value, ...);  // the message is built only on failure
//
// A failed assertion throws InvariantBroken, naming the condition, where it stands and
// the message: a broken invariant is a bug in dsim, never bad input (bad input gets a
// Diagnostics error naming file, line and key). Throwing rather than aborting lets a
// property test report the seed that broke it and go on; the CLI reports it as an
// internal error (exit code 70).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace dsim {

class InvariantBroken : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {

[[noreturn, gnu::cold]] void assertion_failed(const char* condition, const char* file, int line,
                                              const std::string& message);

template <class... Parts>
std::string assertion_message(const Parts&... parts) {
  std::ostringstream os;
  ((os << parts), ...);
  return os.str();
}

}  // namespace detail
}  // namespace dsim

#define DSIM_ASSERT(cond, ...)                                       \
  (static_cast<bool>(cond)                                           \
       ? void(0)                                                     \
       : ::dsim::detail::assertion_failed(#cond, __FILE__, __LINE__, \
                                          ::dsim::detail::assertion_message(__VA_ARGS__)))
