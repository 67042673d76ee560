#include "sim/app/sweep_progress.h"

#include <cstdio>
#include <string>

namespace dsim {

SweepProgress::SweepProgress()
    : started_(Clock::now()), last_(started_) {}  // dsim-lint: allow(wall-clock)

SweepProgress::~SweepProgress() {
  if (shown_) std::fprintf(stderr, "\r\033[K");
}

void SweepProgress::update(size_t done, size_t total) {
  const auto t = Clock::now();  // dsim-lint: allow(wall-clock)
  if (t - started_ < std::chrono::seconds(1)) return;
  if (done < total && t - last_ < std::chrono::milliseconds(100)) return;
  last_ = t;
  shown_ = true;
  const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(frac * kWidth);
  const std::string bar = std::string(static_cast<size_t>(filled), '#') +
                          std::string(static_cast<size_t>(kWidth - filled), '.');
  const double elapsed = std::chrono::duration<double>(t - started_).count();
  const double eta =
      done ? elapsed * static_cast<double>(total - done) / static_cast<double>(done) : 0;
  std::fprintf(stderr, "\r[%s] %zu/%zu runs  %.0fs elapsed  eta %.0fs\033[K", bar.c_str(), done,
               total, elapsed, eta);
  std::fflush(stderr);
}

}  // namespace dsim
