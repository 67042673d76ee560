// A progress bar on stderr for long runs, shown only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>

#include "sim/core/time.h"

namespace dsim {

class ProgressBar {
 public:
  explicit ProgressBar(SimTime end);
  ~ProgressBar();
  static bool wanted();  ///< stderr is a terminal
  void update(SimTime now, uint64_t events);

 private:
  using Clock = std::chrono::steady_clock;  // dsim-lint: allow(wall-clock)
  SimTime end_;
  Clock::time_point started_;
  Clock::time_point last_;
  bool shown_ = false;
};

}  // namespace dsim
