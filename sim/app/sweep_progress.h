// A progress bar for sweeps on stderr: runs done, elapsed time and an ETA. Shown only
// when stderr is a terminal and the sweep has run for a second.
#pragma once

#include <chrono>
#include <cstddef>

namespace dsim {

class SweepProgress {
 public:
  SweepProgress();
  ~SweepProgress();
  void update(size_t done, size_t total);

 private:
  using Clock = std::chrono::steady_clock;  // dsim-lint: allow(wall-clock)
  Clock::time_point started_;
  Clock::time_point last_;
  bool shown_ = false;
};

}  // namespace dsim
