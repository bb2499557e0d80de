#include "face_box.h"

#include <algorithm>
#include <cmath>

namespace faceattr::cli {

FaceBox canonical_face_box(const float lx[5], const float ly[5]) {
  const double ex = 0.5 * (static_cast<double>(lx[0]) + lx[1]),
               ey = 0.5 * (static_cast<double>(ly[0]) + ly[1]);
  const double mx = 0.5 * (static_cast<double>(lx[3]) + lx[4]),
               my = 0.5 * (static_cast<double>(ly[3]) + ly[4]);
  const double eye_mouth = std::hypot(mx - ex, my - ey);
  const double eye_eye = std::hypot(static_cast<double>(lx[1]) - lx[0], static_cast<double>(ly[1]) - ly[0]);
  const double side = 2.8 * std::max(eye_mouth, eye_eye);
  const double cx = ex + 0.3 * (mx - ex), cy = ey + 0.3 * (my - ey);
  return {cx - 0.5 * side, cy - 0.5 * side, side, side};
}

}  // namespace faceattr::cli
