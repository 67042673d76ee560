// A progress line on stderr for long runs, shown only when stderr is a terminal and the
// run has taken more than a second: what the run is doing (reading the scenario, building
// the engine, starting its nodes, running, checking the histories, writing the results),
// how far it got and for how long. A thread of its own redraws the line, so a stage that
// says nothing for a while (one long check, a big file) still shows it is alive. It only
// reads what the run tells it: the run is the same with or without it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "sim/core/time.h"
#include "sim/run/runner.h"

namespace dsim {

class ProgressBar {
 public:
  /// Starts with the stage "reading the scenario"; `end` is the run's simulated end, for
  /// the bar while it runs (set_end() once the scenario is read).
  explicit ProgressBar(SimTime end = SimTime::zero());
  ~ProgressBar();  ///< stops the thread and clears the line
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  static bool wanted();  ///< stderr is a terminal
  /// Called from the thread that runs the scenario (often: keep it cheap).
  void update(const RunProgress& p);
  void set_end(SimTime end);

 private:
  using Clock = std::chrono::steady_clock;  // dsim-lint: allow(wall-clock)
  void redraw_until_stopped();
  std::string line(Clock::time_point now);  // under mu_

  SimTime end_;
  Clock::time_point started_;
  Clock::time_point running_since_;  // when the stage kRunning began
  std::mutex mu_;
  std::condition_variable wake_;
  RunProgress last_;
  bool running_seen_ = false;
  bool stop_ = false;
  bool shown_ = false;
  std::thread thread_;
};

}  // namespace dsim
