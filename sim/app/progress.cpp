#include "sim/app/progress.h"

#include <unistd.h>

#include <cstdio>

namespace dsim {

namespace {

// Nothing shows for short runs; after that the line is redrawn a few times a second.
constexpr auto kQuietFor = std::chrono::seconds(1);
constexpr auto kRedrawEvery = std::chrono::milliseconds(200);
constexpr size_t kMaxWidth = 100;

std::string count_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 1e6 ? "%.0f" : "%.3g", v);
  return buf;
}

// "3 of 10000 (0.0%)" or "3" when the total is unknown.
std::string done_text(uint64_t done, uint64_t total) {
  if (total == 0) return count_text(static_cast<double>(done));
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s of %s (%.1f%%)", count_text(static_cast<double>(done)).c_str(),
                count_text(static_cast<double>(total)).c_str(),
                100.0 * static_cast<double>(done) / static_cast<double>(total));
  return buf;
}

// What a stage other than running is doing: "starting nodes: 3 of 10 (30.0%)".
std::string stage_text(const RunProgress& p) {
  using Stage = RunProgress::Stage;
  switch (p.stage) {
    case Stage::kLoading:
      return "reading the scenario";
    case Stage::kBuilding:
      return "building the engine: " + count_text(static_cast<double>(p.done)) + " nodes";
    case Stage::kStarting:
      return (p.what == "models" ? "creating the nodes' models: " : "starting the nodes: ") +
             done_text(p.done, p.total);
    case Stage::kChecking:
      return "checking " + p.what + (p.total || p.done ? ": " + done_text(p.done, p.total) : "");
    case Stage::kWriting:
      return "writing the results";
    case Stage::kRunning:
      break;
  }
  return "";
}

}  // namespace

ProgressBar::ProgressBar(SimTime end)
    : end_(end),
      started_(Clock::now()),  // dsim-lint: allow(wall-clock)
      running_since_(started_),
      thread_([this] { redraw_until_stopped(); }) {
  last_.stage = RunProgress::Stage::kLoading;
}

ProgressBar::~ProgressBar() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  if (shown_) std::fprintf(stderr, "\r\033[K");
}

bool ProgressBar::wanted() {
  return isatty(STDERR_FILENO) != 0;
}

void ProgressBar::update(const RunProgress& p) {
  std::lock_guard<std::mutex> lock(mu_);
  if (p.stage == RunProgress::Stage::kRunning && !running_seen_) {
    running_seen_ = true;
    running_since_ = Clock::now();  // dsim-lint: allow(wall-clock)
  }
  last_ = p;
}

void ProgressBar::set_end(SimTime end) {
  std::lock_guard<std::mutex> lock(mu_);
  end_ = end;
}

std::string ProgressBar::line(Clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  char tail[32];
  std::snprintf(tail, sizeof tail, "  (%.0f s)", elapsed);
  if (last_.stage != RunProgress::Stage::kRunning) return stage_text(last_) + tail;
  const double frac =
      end_.ns() > 0
          ? std::min(1.0, static_cast<double>(last_.now.ns()) / static_cast<double>(end_.ns()))
          : 0;
  const int width = 30;
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(width), '.');
  for (int i = 0; i < filled; ++i)
    bar[static_cast<size_t>(i)] = '#';
  const double running = std::chrono::duration<double>(now - running_since_).count();
  const double eta = frac > 0 ? running * (1 - frac) / frac : 0;
  char buf[160];
  std::snprintf(buf, sizeof buf, "[%s] %5.1f%%  sim %.3gs  %s events  eta %.0fs", bar.c_str(),
                frac * 100, last_.now.to_seconds(),
                count_text(static_cast<double>(last_.events)).c_str(), eta);
  return buf + std::string(tail);
}

void ProgressBar::redraw_until_stopped() {
  std::unique_lock<std::mutex> lock(mu_);
  if (wake_.wait_for(lock, kQuietFor, [this] { return stop_; })) return;
  while (!stop_) {
    std::string text = line(Clock::now());  // dsim-lint: allow(wall-clock)
    if (text.size() > kMaxWidth) text.resize(kMaxWidth);
    std::fprintf(stderr, "\r%s\033[K", text.c_str());
    std::fflush(stderr);
    shown_ = true;
    wake_.wait_for(lock, kRedrawEvery, [this] { return stop_; });
  }
}

}  // namespace dsim
