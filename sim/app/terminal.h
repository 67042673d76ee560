// What the CLI knows of the terminal it prints to.
#pragma once

#include <cstddef>

namespace dsim {

/// The columns the terminal summary is laid out for: stdout's width when it is a terminal
/// (between 40 and 120: wider lines are harder to read), else 100.
size_t terminal_width();

}  // namespace dsim
