// A progress bar with rate and ETA on stderr (redrawn in place on a terminal,
// a line every ~10% otherwise, so logs stay readable).
#pragma once

#include <chrono>
#include <string>

namespace faceattr::train {

class Progress {
 public:
  Progress(std::string label, size_t total, size_t unit_per_step = 1);
  // `done` steps finished; `extra` is shown after the bar (e.g. "loss 0.31").
  void update(size_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");
  double elapsed_s() const;

 private:
  void draw(size_t done, const std::string& extra, bool final);
  std::string label_;
  size_t total_, unit_;
  bool tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string format_duration(double seconds);

}  // namespace faceattr::train
