#include "util/progress.h"

#include <unistd.h>

#include <cstdio>

namespace faceattr::train {

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "--:--";
  long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
  return buf;
}

Progress::Progress(std::string label, size_t total, size_t unit_per_step)
    : label_(std::move(label)), total_(total), unit_(unit_per_step), tty_(isatty(2) != 0) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(size_t done, const std::string& extra) {
  auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (std::chrono::duration<double>(now - last_draw_).count() < 0.2 && done < total_) return;
    last_draw_ = now;
    draw(done, extra, false);
  } else {
    int decile = total_ ? static_cast<int>(10 * done / total_) : 10;
    if (decile == last_decile_) return;
    last_decile_ = decile;
    draw(done, extra, false);
  }
}

void Progress::finish(const std::string& extra) { draw(total_, extra, true); }

void Progress::draw(size_t done, const std::string& extra, bool final) {
  const double el = elapsed_s();
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const double rate = el > 0 ? static_cast<double>(done * unit_) / el : 0;
  const double eta = frac > 0 ? el * (1 - frac) / frac : -1;
  constexpr int kWidth = 30;
  std::string bar(kWidth, ' ');
  for (int i = 0; i < static_cast<int>(frac * kWidth); ++i) bar[i] = '=';
  if (!final && frac < 1 && static_cast<int>(frac * kWidth) < kWidth)
    bar[static_cast<int>(frac * kWidth)] = '>';
  std::fprintf(stderr, "%s%s [%s] %3d%% %zu/%zu %.0f/s %s %s %s%s", tty_ ? "\r\033[K" : "", label_.c_str(),
               bar.c_str(), static_cast<int>(frac * 100), done, total_, rate, format_duration(el).c_str(),
               final ? "total" : ("ETA " + format_duration(eta)).c_str(), extra.c_str(),
               (!tty_ || final) ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace faceattr::train
