// A one-line progress bar on stderr, drawn only when stderr is a terminal so
// that logs and CI output stay clean.
#pragma once

#include <chrono>
#include <cstdint>

namespace faceattr::cli {

class Progress {
 public:
  Progress(int64_t total, const char* label);
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // Redraws at most ten times a second (and always for done == total).
  void update(int64_t done);
  // Ends the line; safe to call twice.
  void finish();

 private:
  int64_t total_;
  const char* label_;
  bool enabled_;
  bool open_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace faceattr::cli
