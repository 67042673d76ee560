#include "sim/app/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

namespace dsim {

size_t terminal_width() {
  winsize ws{};
  if (isatty(STDOUT_FILENO) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
    return 100;
  return std::clamp<size_t>(ws.ws_col, 40, 120);
}

}  // namespace dsim
