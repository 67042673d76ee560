#include "sim/app/progress.h"

#include <unistd.h>

#include <cstdio>

namespace dsim {

ProgressBar::ProgressBar(SimTime end) : end_(end), started_(Clock::now()), last_(started_) {}

ProgressBar::~ProgressBar() {
  if (shown_) std::fprintf(stderr, "\r\033[K");
}

bool ProgressBar::wanted() {
  return isatty(STDERR_FILENO) != 0;
}

void ProgressBar::update(SimTime now, uint64_t events) {
  const auto t = Clock::now();  // dsim-lint: allow(wall-clock)
  // Show nothing for short runs; then redraw at most ten times a second.
  if (t - started_ < std::chrono::seconds(1) || t - last_ < std::chrono::milliseconds(100)) return;
  last_ = t;
  shown_ = true;
  const double frac =
      end_.ns() > 0 ? static_cast<double>(now.ns()) / static_cast<double>(end_.ns()) : 0;
  const int width = 30;
  const int filled = static_cast<int>(frac * width);
  char bar[width + 1];
  for (int i = 0; i < width; ++i)
    bar[i] = i < filled ? '#' : '.';
  bar[width] = 0;
  const double elapsed = std::chrono::duration<double>(t - started_).count();
  const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
  std::fprintf(stderr, "\r[%s] %5.1f%%  sim %.3gs  %.3g events  eta %.0fs\033[K", bar, frac * 100,
               now.to_seconds(), static_cast<double>(events), eta);
  std::fflush(stderr);
}

}  // namespace dsim
